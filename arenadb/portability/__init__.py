"""Moving data in and out: export/import, copy between databases, retention and backup."""
