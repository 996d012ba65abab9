"""Pending actions: a seat's action for a turn that has not resolved yet (simultaneous moves).

Colonel Blotto's and a 4X game's players move at once: each submission is committed the moment it
is made (`GameRecorder.submit_action`), so a runner that dies before every seat has moved loses
nothing; `Arena.resume` hands them back (`ResumePoint.pending_actions`), and
`GameRecorder.resolve_turn` records the turn with them, as player actions, and deletes them in the
same transaction. The SQL runs on the recorder's raw DBAPI connection, inside a batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.db.json import json_text
from arenadb.db.writer import Writer
from arenadb.models import PendingAction
from arenadb.recording.batch import CurrentBatch
from arenadb.recording.writes import GameWrites

# What a resolved turn's player action is called when it came from a submission.
SUBMITTED = "submitted"


@dataclass
class Submission:
    """One seat's pending action: `action` text and/or a JSON `payload`."""

    turn_number: int
    seat: int
    action: str | None
    payload: Any
    submitted_at: datetime | None = None


class PendingMoves:
    """A recorder's submitted moves of unresolved turns: each committed (with the rows buffered
    before it) when it is made or resolved, and held in memory to be resolved."""

    def __init__(self, writes: GameWrites, submissions: Iterable[Submission] = ()) -> None:
        self._writes = writes
        self._by_turn_and_seat = {(s.turn_number, s.seat): s for s in submissions}

    def submit(self, batch: CurrentBatch, submission: Submission) -> Submission:
        """Commit `submission` with `batch`, replacing its seat's earlier one for the turn."""
        writer, game_id = self._writes.writer, self._writes.game_id
        self._writes.batch_with(
            batch,
            lambda raw: store(raw, writer, game_id, submission),
            "cannot submit an action",
        )
        self._by_turn_and_seat[(submission.turn_number, submission.seat)] = submission
        return submission

    def of_turn(self, turn_number: int | None = None) -> list[Submission]:
        """The moves not yet resolved (of one turn), by turn then seat."""
        return [
            s
            for key, s in sorted(self._by_turn_and_seat.items())
            if turn_number is None or key[0] == turn_number
        ]

    def resolved(self, batch: CurrentBatch, turn_number: int) -> None:
        """Commit `batch` (which holds the resolved turn) and delete the turn's moves with it."""
        writer, game_id = self._writes.writer, self._writes.game_id
        self._writes.batch_with(
            batch,
            lambda raw: clear(raw, writer, game_id, turn_number),
            "cannot resolve a turn",
        )
        for key in [key for key in self._by_turn_and_seat if key[0] == turn_number]:
            del self._by_turn_and_seat[key]


def _marks(writer: Writer, count: int) -> str:
    return ", ".join(["?" if writer.name == "sqlite" else "%s"] * count)


def store(raw: Any, writer: Writer, game_id: int, submission: Submission) -> None:
    """Insert the submission, or replace the seat's earlier one for the same turn."""
    payload = json_text(submission.payload, "pending action payload")
    cast = "" if writer.name == "sqlite" else "::jsonb"
    marks = _marks(writer, 6).split(", ")
    marks[4] += cast
    sql = (
        "INSERT INTO pending_actions (game_id, turn_number, seat, action, payload, submitted_at) "
        f"VALUES ({', '.join(marks)}) ON CONFLICT (game_id, turn_number, seat) DO UPDATE SET "
        "action = excluded.action, payload = excluded.payload, "
        "submitted_at = excluded.submitted_at"
    )
    row = (game_id, submission.turn_number, submission.seat, submission.action, payload)
    cur = raw.cursor()
    try:
        cur.execute(sql, (*row, writer.now()))
    finally:
        cur.close()


def clear(raw: Any, writer: Writer, game_id: int, turn_number: int) -> None:
    """Delete the turn's pending actions (it has been recorded)."""
    cur = raw.cursor()
    try:
        cur.execute(
            f"DELETE FROM pending_actions WHERE game_id = {_marks(writer, 1)} "
            f"AND turn_number = {_marks(writer, 1)}",
            (game_id, turn_number),
        )
    finally:
        cur.close()


def load(session: Session, game_id: int) -> list[Submission]:
    """A game's pending actions, by turn then seat."""
    rows = session.scalars(
        sa.select(PendingAction)
        .where(PendingAction.game_id == game_id)
        .order_by(PendingAction.turn_number, PendingAction.seat)
    )
    return [Submission(r.turn_number, r.seat, r.action, r.payload, r.submitted_at) for r in rows]


def as_player_actions(submissions: list[Submission]) -> list[dict[str, Any]]:
    """The `actions=` of the resolved turn: one player action per submission."""
    return [
        {
            "action_type": SUBMITTED,
            "seat": s.seat,
            "payload": {"action": s.action, "payload": s.payload},
        }
        for s in submissions
    ]
