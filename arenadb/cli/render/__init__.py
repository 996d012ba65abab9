"""How results are shown: tables, JSON, CSV, progress on stderr."""
