"""Recording games: the recorder, its batches and snapshots, start/finish/resume.

- `recorder`: GameRecorder: writing batches, simultaneous moves, closing a game;
- `buffer`: GameBuffer, its base: record_turn / record_action / record_llm_call / snapshot
  (the hot path), and the `locked` decorator shared with the flusher;
- the buffer's collaborators, one concern each: `batch` (the current batch and when it is due),
  `cursor` (the turn rows reference), `llm_calls` (an LLM call's row), `visibility` (who saw a
  turn), `snapshots` (snapshot rows, their schedule and their verification);
- `writes`: a game's write transactions; `pending`: submitted moves of unresolved turns;
- `flusher`: the background thread that writes due batches;
- `context`: RecorderContext, all a recorder knows of its Arena;
- `types`: Seat, SeatResult, RecorderStats;
- `finish`: the transaction that closes a game;
- `lifecycle`: start_game, ResumePoint, resuming a running game;
- `records`: whole games written at once (seeding, imports).
The backend writers and the batch connection are in `arenadb.db` (writer, batch_connection).
"""
