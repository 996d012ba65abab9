"""A recorder's current batch: the rows recorded since its last write, and when it is due.

The rows are `arenadb.db.writer.Batch`'s lists (one per table, each row a tuple in the driver's
format), so the recorder appends to them with no step in between and the writer takes the batch
as it is. On top, the batch knows its write policy: it is due once it holds `batch_turns` turns
or its last write is `flush_seconds` old (the recorder checks when a turn starts, the Arena's
flusher in the background), and it counts what was written (`RecorderStats`).
"""

from __future__ import annotations

from collections.abc import Callable

from arenadb.db.writer import Batch
from arenadb.recording.types import RecorderStats


class CurrentBatch(Batch):
    """The rows a recorder has not written yet, its write policy, and what it wrote before."""

    def __init__(self, *, batch_turns: int, flush_seconds: float, clock: Callable[[], float]):
        super().__init__()
        self.batch_turns = batch_turns
        self.flush_seconds = flush_seconds
        self.written = RecorderStats()
        self._clock = clock
        self._last_write = clock()

    def due(self) -> bool:
        """Whether the rows are to be written before the next turn is added."""
        turns = len(self.turns)
        return turns > 0 and (
            turns >= self.batch_turns or self._clock() - self._last_write >= self.flush_seconds
        )

    def due_in(self) -> float | None:
        """Seconds until the rows are due by age (<= 0: now); None: there are none."""
        if not self:
            return None
        return self.flush_seconds - (self._clock() - self._last_write)

    def postpone(self) -> None:
        """A write failed: due again in flush_seconds, not at once."""
        self._last_write = self._clock()

    def committed(self) -> int:
        """Count the rows as written and empty the batch; returns how many there were."""
        rows = self.rows
        written = self.written
        written.batches += 1
        written.rows += rows
        written.turns += len(self.turns)
        written.snapshots += len(self.snapshots)
        self.clear()
        self._last_write = self._clock()
        return rows

    def add_snapshot(self, row: tuple, turns: int, digest: str) -> None:
        """Add a snapshot row of the state after `turns` turns (its sha256 `digest`); the turn
        that state follows carries the hash, when that turn is still in the batch."""
        self.snapshots.append(row)
        turns_rows = self.turns
        if turns_rows and turns_rows[-1][1] == turns - 1 and turns_rows[-1][8] is None:
            last = turns_rows[-1]
            turns_rows[-1] = (*last[:8], digest, *last[9:])

    def clear(self) -> None:
        """Drop every row, written or not."""
        for rows in (self.turns, self.actions, self.llm_calls, self.snapshots):
            rows.clear()

    def drop_last_turn(self, actions: int, llm_calls: int) -> None:
        """Undo a turn being added: its row, and the actions and LLM calls beyond the first
        `actions` / `llm_calls` (the counts before it)."""
        self.turns.pop()
        del self.actions[actions:], self.llm_calls[llm_calls:]
