"""Recording games: the recorder, its batches and snapshots, start/finish/resume."""
