"""Test and benchmark helpers: factories and synthetic arenas (not shipped in the wheel)."""
