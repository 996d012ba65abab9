"""Record games while they are played: the hot path of an arena runner.

A `GameRecorder` keeps the rows of the current batch (turns, player actions, LLM calls,
snapshots) in memory as plain tuples already in the driver's format (its base, `GameBuffer` in
`arenadb.recording.buffer`, appends them), and writes a batch in one write transaction
(`arenadb.recording.writes`) with the driver's bulk path (`arenadb.db.writer`): `executemany` on
SQLite, `COPY` on PostgreSQL. No ORM object is built per row and no generated id is read back:
turns are keyed by the recorder's own running number (game_id, seq), which child rows reference.

Batches are atomic: a process killed mid-game leaves the game at its last committed batch. The
buffer is written when the next turn starts and it already holds `batch_turns` turns (default
1000) or the last write is older than `flush_seconds` (default 1 s): a game played at LLM speed
writes every turn as the next one begins, a game replayed at full speed writes up to 1000 turns
(or a second's worth) per transaction: what may be lost is bounded by time, memory by size.
The time bound holds without a next turn too: the Arena's flusher thread
(`arenadb.recording.flusher`) writes a batch once it is due, under the recorder's lock.
Each transaction costs round trips and, on PostgreSQL, a COPY per table; a 120-turn game replayed
at full speed is one transaction with its finish (benchmarks/record.py: 0.90 -> 1.0x the raw
driver). A turn and the LLM calls / actions recorded with it always share a batch. `flush()`
writes at once; `finish()` / `abort()` / `fail()` write the rest and close the game in the same
transaction (`arenadb.recording.finish`).

Snapshots (`arenadb.recording.snapshots`): a periodic snapshot is taken when a turn is recorded
with `state=` and the turn count reaches a multiple of `snapshot_every`.

The recorder knows its Arena only through a `RecorderContext`; starting and resuming games is
`arenadb.recording.lifecycle`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from arenadb.errors import ConflictError, InvalidDataError
from arenadb.recording.buffer import GameBuffer, locked
from arenadb.recording.context import RecorderContext
from arenadb.recording.finish import ResultsArg, finish_values
from arenadb.recording.pending import PendingMoves, Submission, as_player_actions
from arenadb.recording.types import RecorderStats
from arenadb.recording.writes import GameWrites

log = logging.getLogger("arenadb.recording")


class GameRecorder(GameBuffer):
    """Records one game: one recorder per game, used by one thread at a time (its lock is
    shared with the Arena's flusher, which writes due batches in the background).

    Create it with `Arena.start_game(...)` (or `Arena.resume(...).recorder`); then call
    `record_turn` (with its LLM calls and actions), optionally `snapshot`, and finally `finish`
    or `abort`. Used as a context manager, an exception inside the block marks the game failed;
    leaving the block without finishing flushes and leaves the game running (resumable).
    """

    def __init__(
        self,
        context: RecorderContext,
        *,
        rated: bool | None = None,
        pending: Iterable[Submission] = (),
        **position: Any,
    ) -> None:
        """`position`: where the game stands (`GameBuffer`'s keywords: game_id, uuid, seats,
        next_seq, batch policy, ...). `rated` None: not known here (a resumed game); finishing
        then asks the database. `pending`: submitted actions of unresolved turns (resume)."""
        super().__init__(context, **position)
        self.rated = rated
        self._writes = GameWrites(context, self.game_id)
        self._flusher = context.flusher
        if self._flusher is not None:
            self._flusher.register(self)
        self._moves = PendingMoves(self._writes, pending)

    def __repr__(self) -> str:
        return f"<GameRecorder game={self.game_id} next_seq={self.next_seq}>"

    @property
    def pending_rows(self) -> int:
        return self._batch.rows

    @property
    def stats(self) -> RecorderStats:
        """What this recorder has written so far."""
        return self._batch.written

    @property
    def batch_turns(self) -> int:
        return self._batch.batch_turns

    @property
    def flush_seconds(self) -> float:
        return self._batch.flush_seconds

    # -- writing ----------------------------------------------------------------------------

    @locked
    def flush(self) -> int:
        """Write the buffered rows in one transaction; returns how many rows were written."""
        return self._writes.batch(self._batch) if self._batch else 0

    def flush_due_in(self) -> float | None:
        """Seconds until the buffer is due to be written (<= 0: now); None: nothing buffered.
        Read without the lock: the flusher re-checks under it (`flush_if_due`)."""
        return None if self.closed else self._batch.due_in()

    @locked
    def flush_if_due(self) -> int:
        """Write the buffer if it is due (the flusher's call); returns how many rows."""
        due_in = self.flush_due_in()
        return self.flush() if due_in is not None and due_in <= 0 else 0

    def postpone_flush(self) -> None:
        """A background write failed: try again in flush_seconds, not at once."""
        self._batch.postpone()

    def write_buffer(self, raw: Any) -> None:
        """Write the buffered rows on the DBAPI connection `raw`, in the caller's transaction
        (starting a game stores its initial snapshot so); `buffer_committed()` after its commit."""
        self._writes.writer.write_batch(raw, self._batch)

    def buffer_committed(self) -> int:
        """Count the buffered rows as written and start a new batch; returns how many."""
        return self._batch.committed()

    # -- simultaneous moves (arenadb.recording.pending) ----------------------------------------

    def submit_action(
        self,
        seat: int,
        action: str | None = None,
        *,
        payload: Any = None,
        turn_number: int | None = None,
    ) -> Submission:
        """Store `seat`'s action for a turn that has not resolved yet, committed at once (with
        the turns buffered before it); submitting again for the same turn replaces it.

        `turn_number` defaults to the next turn's (its seq, as in `record_turn`).
        """
        if self.closed:
            raise ConflictError(f"game {self.game_id} is closed: cannot submit actions")
        if seat not in self.seat_sides:
            raise InvalidDataError(f"game {self.game_id} has no seat {seat}")
        number = self.next_seq if turn_number is None else turn_number
        return self._moves.submit(self._batch, Submission(number, seat, action, payload))

    def pending_actions(self, turn_number: int | None = None) -> list[Submission]:
        """The submitted actions not yet resolved (of one turn), by turn then seat."""
        return self._moves.of_turn(turn_number)

    def resolve_turn(self, *, turn_number: int | None = None, **turn: Any) -> int:
        """Record the turn with its submitted actions (as player actions of type "submitted",
        before any `actions=` given) and delete them, in one transaction; returns its seq.

        The other keywords are `record_turn`'s.
        """
        number = self.next_seq if turn_number is None else turn_number
        submitted = self._moves.of_turn(number)
        actions = [*as_player_actions(submitted), *(turn.pop("actions", None) or ())]
        seq = self.record_turn(turn_number=number, actions=actions, **turn)
        self._moves.resolved(self._batch, number)
        return seq

    # -- closing ----------------------------------------------------------------------------

    @locked
    def finish(
        self,
        *,
        status: str | None = None,
        outcome: str | None = None,
        winning_side: str | None = None,
        results: ResultsArg = None,
        end_reason: str | None = None,
        environment_crashed: bool = False,
        error: str | None = None,
        info: Mapping[str, Any] | None = None,
        final_state: Mapping[str, Any] | None = None,
    ) -> None:
        """Write what is buffered and close the game, in ONE transaction.

        `status` defaults to "completed" ("failed" when `environment_crashed`). `results` maps a
        seat to its reward / rank / ... (a SeatResult or a dict). `final_state` is stored as a
        "final" snapshot.
        """
        if self.closed:
            raise ConflictError(f"game {self.game_id} is already closed")
        values = finish_values(
            self.game_id,
            self.seat_sides,
            status=status,
            outcome=outcome,
            winning_side=winning_side,
            results=results,
            end_reason=end_reason,
            environment_crashed=environment_crashed,
            error=error,
            info=info,
        )
        if final_state is not None:
            self.snapshot(final_state, kind="final")
        self._writes.finish(self._batch, values, rated=self.rated)
        self._stop_recording()

    def _stop_recording(self) -> None:
        self.closed = True
        if self._flusher is not None:
            self._flusher.unregister(self)

    @locked
    def abort(self, reason: str, *, keep_buffered: bool = True) -> None:
        """Close the game as "aborted" (e.g. cancelled by the operator), keeping what was recorded.

        With `keep_buffered=False` the rows not yet written are dropped instead.
        """
        if not keep_buffered:
            self._batch.clear()
        self.finish(status="aborted", end_reason=reason, outcome="no_contest")

    def fail(self, error: str, *, environment_crashed: bool = False) -> None:
        """Close the game as "failed" with an error text (the runner or the environment broke)."""
        self.finish(
            status="failed",
            error=error,
            outcome="no_contest",
            environment_crashed=environment_crashed,
        )

    @locked
    def close(self) -> None:
        """Write what is buffered and stop recording, leaving the game running: `Arena.resume`
        continues it (e.g. a runner shutting down between turns)."""
        if self.closed:
            return
        self.flush()
        self._stop_recording()

    def __enter__(self) -> GameRecorder:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> None:
        if self.closed:
            return
        if exc is None or not isinstance(exc, Exception):
            # Normal exit without finish(), or KeyboardInterrupt/SystemExit: keep the game
            # running so that it can be resumed; just make what was recorded durable.
            self.flush()
            return
        try:
            self.fail(f"{type(exc).__name__}: {exc}")
        except Exception:  # never hide the runner's own exception behind ours
            log.exception("could not mark game %s failed", self.game_id)
