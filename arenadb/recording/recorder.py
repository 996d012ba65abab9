"""Record games while they are played: the hot path of an arena runner.

A `GameRecorder` keeps the rows of the current batch (turns, player actions, LLM calls,
snapshots) in memory as plain tuples already in the driver's format (its base, `GameBuffer` in
`arenadb.recording.buffer`, appends them), and writes a batch in one
write transaction with the driver's bulk path (`arenadb.db.writer`): `executemany` on SQLite,
`COPY` on PostgreSQL. No ORM object is built per row and no generated id is read back: turns are
keyed by the recorder's own running number (game_id, seq), which child rows reference.

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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from arenadb.db.errors import translate_error
from arenadb.db.writer import Batch
from arenadb.errors import ArenaDBError, ConflictError, InvalidDataError
from arenadb.recording import pending
from arenadb.recording.buffer import GameBuffer, locked
from arenadb.recording.context import RecorderContext
from arenadb.recording.finish import (
    ResultsArg,
    finish_in_transaction,
    finish_rows,
    finish_values,
)
from arenadb.recording.pending import Submission

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
        self._writer = context.writer
        if self._flusher is not None:
            self._flusher.register(self)
        self._pending: dict[tuple[int, int], Submission] = {
            (s.turn_number, s.seat): s for s in pending
        }

    def __repr__(self) -> str:
        return f"<GameRecorder game={self.game_id} next_seq={self._next_seq}>"

    # -- writing ----------------------------------------------------------------------------

    @locked
    def flush(self) -> int:
        """Write the buffered rows in one transaction; returns how many rows were written."""
        batch = self._batch
        if not batch:
            return 0
        try:
            self.context.batch_connection().run(lambda raw: self._writer.write_batch(raw, batch))
        except Exception as exc:
            raise self._translate(exc, "cannot write a batch") from exc
        return self.buffer_committed()

    def flush_due_in(self) -> float | None:
        """Seconds until the buffer is due to be written (<= 0: now); None: nothing buffered.
        Read without the lock: the flusher re-checks under it (`flush_if_due`)."""
        if self.closed or not self._batch:
            return None
        return self.flush_seconds - (self._clock() - self._last_flush)

    @locked
    def flush_if_due(self) -> int:
        """Write the buffer if it is due (the flusher's call); returns how many rows."""
        due_in = self.flush_due_in()
        return self.flush() if due_in is not None and due_in <= 0 else 0

    def postpone_flush(self) -> None:
        """A background write failed: try again in flush_seconds, not at once."""
        self._last_flush = self._clock()

    def write_buffer(self, raw: Any) -> None:
        """Write the buffered rows on the DBAPI connection `raw`, in the caller's transaction
        (starting a game stores its initial snapshot so); `buffer_committed()` after its commit."""
        self._writer.write_batch(raw, self._batch)

    def buffer_committed(self) -> int:
        """Count the buffered rows as written and start a new batch; returns how many."""
        batch = self._batch
        stats = self.stats
        stats.batches += 1
        stats.rows += batch.rows
        stats.turns += len(batch.turns)
        stats.snapshots += len(batch.snapshots)
        self._batch = Batch()
        self._last_flush = self._clock()
        return batch.rows

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
        number = self._next_seq if turn_number is None else turn_number
        submission = Submission(number, seat, action, payload)
        self._commit_with(
            lambda raw: pending.store(raw, self._writer, self.game_id, submission),
            "cannot submit an action",
        )
        self._pending[(number, seat)] = submission
        return submission

    def pending_actions(self, turn_number: int | None = None) -> list[Submission]:
        """The submitted actions not yet resolved (of one turn), by turn then seat."""
        return [
            s
            for key, s in sorted(self._pending.items())
            if turn_number is None or key[0] == turn_number
        ]

    def resolve_turn(self, *, turn_number: int | None = None, **turn: Any) -> int:
        """Record the turn with its submitted actions (as player actions of type "submitted",
        before any `actions=` given) and delete them, in one transaction; returns its seq.

        The other keywords are `record_turn`'s.
        """
        number = self._next_seq if turn_number is None else turn_number
        submitted = self.pending_actions(number)
        actions = [*pending.as_player_actions(submitted), *(turn.pop("actions", None) or ())]
        seq = self.record_turn(turn_number=number, actions=actions, **turn)
        self._commit_with(
            lambda raw: pending.clear(raw, self._writer, self.game_id, number),
            "cannot resolve a turn",
        )
        for s in submitted:
            self._pending.pop((s.turn_number, s.seat), None)
        return seq

    def _commit_with(self, work: Callable[[Any], None], what: str) -> None:
        """Write the buffered rows and `work(raw)` in one durable transaction."""
        batch = self._batch

        def both(raw: Any) -> None:
            if batch:
                self._writer.write_batch(raw, batch)
            work(raw)

        try:
            self.context.batch_connection().run(both, durable=True)
        except Exception as exc:
            raise self._translate(exc, what) from exc
        if batch:
            self.buffer_committed()

    def _translate(self, exc: BaseException, what: str) -> BaseException:
        if isinstance(exc, ArenaDBError):
            return exc
        label = f"{what} of game {self.game_id}"
        return translate_error(exc, self.context.settings, doing=label) or exc

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
        connection = self.context.batch_connection()
        writer, game_id, batch = self._writer, self.game_id, self._batch
        try:
            if self.rated is False:
                # Nothing to rate: no ORM session is needed, only the rows (the hot path of
                # runs that record without rating, e.g. evaluations and replays).
                connection.run(
                    lambda raw: finish_rows(raw, writer, game_id, batch, values), durable=True
                )
            else:
                connection.run_session(
                    lambda session: finish_in_transaction(session, writer, game_id, batch, values),
                    durable=True,
                )
        except Exception as exc:
            raise self._translate(exc, "cannot finish") from exc
        self.buffer_committed()
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
            self._batch = Batch()
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
