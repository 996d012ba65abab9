"""Starting and resuming games: the transactions around a recorder's life.

`start_game` inserts a running game and its seats and returns its recorder; after a restart,
`load_resume_point` finds where a running game can continue (its last verified snapshot and the
turns after it) and `recorder_for_running_game` continues recording after its last turn. The
transaction that closes a game is `arenadb.recording.finish`.
"""

from __future__ import annotations

import json
import logging
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.db.errors import translate_error
from arenadb.db.json import json_text
from arenadb.errors import (
    ArenaDBError,
    ConflictError,
    IntegrityCheckError,
    InvalidDataError,
    NotFoundError,
)
from arenadb.models import GamePlayer, GameSnapshot, GameTurn, PlayerAction
from arenadb.recording import pending
from arenadb.recording.context import RecorderContext
from arenadb.recording.pending import Submission
from arenadb.recording.recorder import GameRecorder
from arenadb.recording.snapshots import last_verified_snapshot
from arenadb.recording.types import SeatsArg, seat_list

_UTC = timezone.utc
log = logging.getLogger("arenadb.recording")

# The recorder a resume point hands back: a GameRecorder, or the async one wrapping it.
RecorderT = TypeVar("RecorderT")


@dataclass
class ResumePoint(Generic[RecorderT]):
    """Where to restart a running game: its last verified snapshot and the turns after it.

    `state` is None (and `snapshot_turn` 0) when no snapshot verifies: replay every turn.
    `warnings` lists each snapshot that failed verification (also logged as a warning).
    """

    game_id: int
    uuid: uuid_module.UUID
    status: str
    snapshot_turn: int
    snapshot_kind: str | None
    snapshot_id: int | None
    state: dict[str, Any] | None
    state_sha256: str | None
    turns: list[GameTurn]
    next_seq: int
    warnings: list[str] = field(default_factory=list)
    recorder: RecorderT | None = field(default=None, repr=False)
    # Actions submitted for turns that had not resolved (simultaneous moves), by turn and seat.
    pending_actions: list[Submission] = field(default_factory=list)


def start_game(
    context: RecorderContext,
    game_type_id: int,
    seats: SeatsArg,
    *,
    seed: int | None = None,
    info: Mapping[str, Any] | None = None,
    rated: bool = True,
    game_uuid: uuid_module.UUID | None = None,
    batch_turns: int | None = None,
    flush_seconds: float | None = None,
    snapshot_every: int | None = None,
    initial_state: Mapping[str, Any] | None = None,
) -> GameRecorder:
    """Insert a running game and its seats in one transaction; returns its recorder.

    `initial_state`, if given, is stored at once as the snapshot after 0 turns.
    """
    seated = seat_list(seats)
    writer = context.writer
    now = datetime.now(_UTC)
    game_uuid = game_uuid or uuid_module.uuid4()
    game_row = (
        writer.uuid(game_uuid),
        game_type_id,
        "running",
        seed,
        writer.timestamp(now),
        writer.timestamp(now),
        False,
        rated,
        json_text(dict(info), "game info") if info is not None else None,
    )
    player_rows = [
        (
            seat,
            spec.agent_id,
            spec.side,
            spec.role,
            0,
            json_text(dict(spec.info), "seat info") if spec.info is not None else None,
        )
        for seat, spec in seated
    ]
    recorder_seats = {seat: spec.side for seat, spec in seated}
    recorder: GameRecorder | None = None

    def insert(raw: Any) -> None:
        nonlocal recorder
        check_seats(raw, writer, game_type_id, seated)
        game_id = writer.insert_game(raw, game_row, player_rows)
        recorder = GameRecorder(
            context,
            game_id=game_id,
            uuid=game_uuid,
            seats=recorder_seats,
            batch_turns=batch_turns,
            flush_seconds=flush_seconds,
            snapshot_every=snapshot_every,
            rated=rated,
        )
        if initial_state is not None:
            recorder.snapshot(initial_state, kind="periodic")
            recorder.write_buffer(raw)

    try:
        context.batch_connection().run(insert)
    except Exception as exc:
        if isinstance(exc, ArenaDBError):
            raise
        error = translate_error(exc, context.settings, doing="cannot start a game")
        raise (error or exc) from exc
    assert recorder is not None
    if recorder.pending_rows:
        recorder.buffer_committed()
    return recorder


def _side_names(sides: Any) -> set[str]:
    names = set()
    for side in sides or ():
        name = side.get("name") if isinstance(side, Mapping) else side
        if name is not None:
            names.add(str(name))
    return names


def check_seats(raw: Any, writer: Any, game_type_id: int, seated: list[tuple[int, Any]]) -> None:
    """Refuse seats that do not fit the game type (seat count, side names), before any write."""
    from arenadb.db.writer import MARKS

    cur = raw.cursor()
    try:
        cur.execute(
            "SELECT env_id, min_seats, max_seats, sides FROM game_types WHERE id = {q}".format(
                **MARKS[writer.name]
            ),
            (game_type_id,),
        )
        found = cur.fetchone()
    finally:
        cur.close()
    if found is None:
        raise NotFoundError(f"game type {game_type_id} not found")
    env_id, low, high, sides = found
    if isinstance(sides, str):  # SQLite returns JSON as text
        sides = json.loads(sides)
    if not low <= len(seated) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise InvalidDataError(
            f"{env_id} is played with {wanted} seats, not {len(seated)} "
            "(its registration says so: register_game_type(min_seats=, max_seats=) changes it)"
        )
    names = _side_names(sides)
    if names:
        for seat, spec in seated:
            if spec.side is not None and spec.side not in names:
                raise InvalidDataError(
                    f"seat {seat}: side {spec.side!r} is not a side of {env_id} "
                    f"({', '.join(sorted(names))})"
                )


def load_resume_point(
    session: Session, game: int | str | uuid_module.UUID
) -> ResumePoint[GameRecorder]:
    """The last snapshot of a running game whose hash verifies, and every turn after it.

    A snapshot whose stored state does not hash to its recorded sha256 is reported (in
    `warnings` and as a logged warning) and the one before it is tried; with none left, the
    resume point is the start of the game (state None, every turn).
    """
    from arenadb.inspection.rows import game_by_ref

    row = game_by_ref(session, game, with_relations=False)
    if row.status != "running":
        raise ConflictError(f"game {row.id} is {row.status}: only a running game can be resumed")
    chosen, warnings = last_verified_snapshot(session, row.id)
    start = chosen.turn if chosen else 0
    if chosen is None and warnings:
        message = f"game {row.id}: no snapshot verifies; resuming from the start of the game"
        log.warning(message)
        warnings.append(message)
    turns = list(
        session.scalars(
            sa.select(GameTurn)
            .where(GameTurn.game_id == row.id, GameTurn.seq >= start)
            .order_by(GameTurn.seq)
        )
    )
    last = session.execute(
        sa.select(sa.func.max(GameTurn.seq)).where(GameTurn.game_id == row.id)
    ).scalar()
    next_seq = 0 if last is None else int(last) + 1
    if chosen is not None and chosen.turn > next_seq:
        raise IntegrityCheckError(
            f"game {row.id}: snapshot {chosen.id} claims {chosen.turn} turns "
            f"but only {next_seq} are recorded"
        )
    return ResumePoint(
        game_id=row.id,
        uuid=row.uuid,
        status=row.status,
        snapshot_turn=start,
        snapshot_kind=chosen.kind if chosen else None,
        snapshot_id=chosen.id if chosen else None,
        state=chosen.state if chosen else None,
        state_sha256=chosen.sha256 if chosen else None,
        turns=turns,
        next_seq=next_seq,
        warnings=warnings,
        pending_actions=pending.load(session, row.id),
    )


def recorder_for_running_game(
    context: RecorderContext,
    session: Session,
    point: ResumePoint[GameRecorder],
    *,
    batch_turns: int | None = None,
    flush_seconds: float | None = None,
    snapshot_every: int | None = None,
) -> GameRecorder:
    """A recorder that continues a running game after its last recorded turn."""
    seats = dict(
        session.execute(
            sa.select(GamePlayer.seat, GamePlayer.side).where(GamePlayer.game_id == point.game_id)
        ).all()
    )
    last_seat = None
    action_counts: dict[int, int] = {}
    if point.next_seq:
        last_seq = point.next_seq - 1
        last_seat = session.execute(
            sa.select(GameTurn.seat).where(
                GameTurn.game_id == point.game_id, GameTurn.seq == last_seq
            )
        ).scalar()
        top = session.execute(
            sa.select(sa.func.max(PlayerAction.idx)).where(
                PlayerAction.game_id == point.game_id, PlayerAction.turn_seq == last_seq
            )
        ).scalar()
        if top is not None:
            action_counts[last_seq] = int(top) + 1
    taken = session.execute(
        sa.select(GameSnapshot.turn, GameSnapshot.kind).where(
            GameSnapshot.game_id == point.game_id, GameSnapshot.turn >= point.snapshot_turn
        )
    ).all()
    return GameRecorder(
        context,
        game_id=point.game_id,
        uuid=point.uuid,
        seats=seats,
        next_seq=point.next_seq,
        batch_turns=batch_turns,
        flush_seconds=flush_seconds,
        snapshot_every=snapshot_every,
        last_turn_seat=last_seat,
        action_counts=action_counts,
        snapshots_taken=[(int(turn), str(kind)) for turn, kind in taken],
        pending=point.pending_actions,
    )
