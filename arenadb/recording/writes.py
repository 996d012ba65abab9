"""How one game's rows reach the database: every write is one transaction.

A recorder writes on its Arena's batch connection (one batch at a time for the whole Arena),
on the raw DBAPI connection: its current batch alone (`flush`), the batch with what must commit
together with it (a submitted or resolved move, `arenadb.recording.pending`), or the batch with
the game's close (`arenadb.recording.finish`). A driver error becomes the library's error naming
the game and the database (password masked); a library error passes as it is. The rows stay in
the batch until the write commits (then the batch counts them written and empties): a failed
write loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arenadb.db.batch_connection import BatchConnection
from arenadb.db.errors import translate_error
from arenadb.errors import ArenaDBError
from arenadb.recording.batch import CurrentBatch
from arenadb.recording.context import RecorderContext
from arenadb.recording.finish import FinishValues, finish_in_transaction, finish_rows


class GameWrites:
    """The write transactions of one game's recorder."""

    def __init__(self, context: RecorderContext, game_id: int) -> None:
        # A function, not the connection: see `RecorderContext.batch_connection`.
        self._connection = context.batch_connection
        self._settings = context.settings
        self.writer = context.writer
        self.game_id = game_id

    def batch(self, batch: CurrentBatch) -> int:
        """Write `batch` in one transaction; returns how many rows were written."""
        writer = self.writer
        self._run(
            lambda c: c.run(lambda raw: writer.write_batch(raw, batch)),
            "cannot write a batch",
        )
        return batch.committed()

    def batch_with(self, batch: CurrentBatch, work: Callable[[Any], None], what: str) -> None:
        """Write `batch` (when it holds rows) and `work(raw)` in one durable transaction: what
        `work` stores is the runner's word, as a finished game is."""
        writer = self.writer

        def both(raw: Any) -> None:
            if batch:
                writer.write_batch(raw, batch)
            work(raw)

        self._run(lambda c: c.run(both, durable=True), what)
        if batch:
            batch.committed()

    def finish(self, batch: CurrentBatch, values: FinishValues, *, rated: bool | None) -> None:
        """Write `batch` and close the game with `values`, in one durable transaction; a game
        that may be rated (`rated` not False) updates its ratings in it."""
        writer, game_id = self.writer, self.game_id

        def close(connection: BatchConnection) -> None:
            if rated is False:
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

        self._run(close, "cannot finish")
        # Counted as a batch even when empty: the game's close is one more write.
        batch.committed()

    def _run(self, transaction: Callable[[BatchConnection], object], what: str) -> None:
        try:
            transaction(self._connection())
        except Exception as exc:
            if isinstance(exc, ArenaDBError):
                raise
            label = f"{what} of game {self.game_id}"
            raise (translate_error(exc, self._settings, doing=label) or exc) from exc
