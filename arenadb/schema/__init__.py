"""The schema: migrations, their lock and checks, database checks, init and reset."""
