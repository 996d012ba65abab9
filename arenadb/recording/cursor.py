"""Where a recorded game stands: the turn its rows reference.

Turns are keyed by the recorder's own running number (game_id, seq), never by a generated id,
so the recorder counts them: the next turn's seq, the last turn and its seat (an action or LLM
call given no turn belongs to the last one, made by its seat), the next action index of a turn.
A resumed game starts from what is stored (`arenadb.recording.lifecycle`).
"""

from __future__ import annotations

from collections.abc import Mapping

from arenadb.errors import ConflictError, InvalidDataError


class TurnCursor:
    """The next seq, the last turn and its seat, and the next action index per turn."""

    def __init__(
        self,
        game_id: int,
        *,
        next_seq: int = 0,
        last_seat: int | None = None,
        action_counts: Mapping[int, int] | None = None,
    ) -> None:
        self.game_id = game_id
        self.next_seq = next_seq
        # Always next_seq - 1 (None before the first turn); kept, as every call row reads it.
        self.last_seq: int | None = next_seq - 1 if next_seq else None
        self.last_seat = last_seat
        self._action_counts: dict[int, int] = dict(action_counts or {})

    def advance(self, seat: int | None) -> None:
        """A turn by `seat` (None: the environment) was recorded with seq `next_seq`."""
        seq = self.next_seq
        self.next_seq = seq + 1
        self.last_seq = seq
        self.last_seat = seat

    def back_to(self, seq: int, last_seat: int | None) -> None:
        """Undo recording turn `seq` (the last one): the cursor stands where it stood before,
        when the last turn's seat was `last_seat`."""
        self.next_seq = seq
        self.last_seq = seq - 1 if seq else None
        self.last_seat = last_seat
        self._action_counts.pop(seq, None)

    def turn_and_seat(
        self, turn_seq: int | None, seat: int | None, what: str
    ) -> tuple[int, int | None]:
        """The turn `what` (an action, an LLM call) belongs to, and its seat: given, or None for
        the last turn and that turn's seat."""
        if turn_seq is None:
            if self.last_seq is None:
                raise ConflictError(f"record a turn before {what} (game {self.game_id})")
            return self.last_seq, self.last_seat if seat is None else seat
        if not 0 <= turn_seq < self.next_seq:
            raise InvalidDataError(f"game {self.game_id} has no turn {turn_seq}")
        return turn_seq, seat

    def action_index(self, turn_seq: int, idx: int | None) -> int:
        """The index of a new action of turn `turn_seq`: `idx`, or the next one free."""
        counts = self._action_counts
        if idx is None:
            idx = counts.get(turn_seq, 0)
        counts[turn_seq] = max(idx + 1, counts.get(turn_seq, 0))
        return idx
