"""Recording games: the recorder, its batches and snapshots, start/finish/resume.

- `recorder`: GameRecorder, the buffer and record_* (the hot path);
- `context`: RecorderContext, all a recorder knows of its Arena;
- `types`: Seat, SeatResult, RecorderStats;
- `snapshots`: snapshot rows and their verification;
- `finish`: the transaction that closes a game;
- `lifecycle`: start_game, ResumePoint, resuming a running game;
- `records`: whole games written at once (seeding, imports).
The backend writers and the batch connection are in `arenadb.db` (writer, batch_connection).
"""
