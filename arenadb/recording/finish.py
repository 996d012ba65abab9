"""The transaction that closes a game: its last rows, status, outcome, seat results, ratings.

Everything here runs inside the caller's single write transaction, so a game is never finished
without its last turns, nor rated without being finished.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from arenadb.db.batch_connection import driver_connection
from arenadb.db.json import json_text
from arenadb.db.writer import MARKS, Batch, Writer
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError
from arenadb.models import FINISHED_STATUSES, GAME_OUTCOMES
from arenadb.recording.types import SeatResult

ResultsArg = (
    Mapping[int, SeatResult | Mapping[str, Any]] | Sequence[SeatResult | Mapping[str, Any]] | None
)


@dataclass
class FinishValues:
    status: str
    outcome: str | None
    winning_side: str | None
    end_reason: str | None
    environment_crashed: bool
    error: str | None
    info: str | None
    seat_results: list[tuple]
    # seat -> the info its result adds to (merges into) what the seat already holds
    seat_infos: dict[int, dict[str, Any]]


def finish_values(
    game_id: int,
    seat_sides: Mapping[int, str | None],
    *,
    status: str | None,
    outcome: str | None,
    winning_side: str | None,
    results: ResultsArg,
    end_reason: str | None,
    environment_crashed: bool,
    error: str | None,
    info: Mapping[str, Any] | None,
) -> FinishValues:
    """The checked values that close game `game_id` (see `GameRecorder.finish`)."""
    status = status or ("failed" if environment_crashed else "completed")
    if status not in FINISHED_STATUSES:
        raise InvalidDataError(f"a finished game's status must be one of {FINISHED_STATUSES}")
    if outcome is not None and outcome not in GAME_OUTCOMES:
        raise InvalidDataError(f"outcome must be one of {GAME_OUTCOMES}")
    sides = set(seat_sides.values())
    if winning_side is not None and None not in sides and winning_side not in sides:
        raise InvalidDataError(
            f"winning side {winning_side!r} is not a side of game {game_id} "
            f"({', '.join(sorted(s for s in sides if s))})"
        )
    return FinishValues(
        status=status,
        outcome=outcome,
        winning_side=winning_side,
        end_reason=end_reason,
        environment_crashed=environment_crashed,
        error=error,
        info=json_text(dict(info), "game info") if info is not None else None,
        seat_results=_seat_results(game_id, seat_sides, results),
        seat_infos=_seat_infos(results),
    )


def _result_items(results: Any) -> list[tuple[int, SeatResult]]:
    if results is None:
        return []
    items = results.items() if isinstance(results, Mapping) else enumerate(results)
    return [
        (seat, value if isinstance(value, SeatResult) else SeatResult(**value))
        for seat, value in items
    ]


def _seat_infos(results: Any) -> dict[int, dict[str, Any]]:
    return {seat: dict(res.info) for seat, res in _result_items(results) if res.info is not None}


def _seat_results(game_id: int, seat_sides: Mapping[int, str | None], results: Any) -> list[tuple]:
    rows = []
    for seat, res in _result_items(results):
        if seat not in seat_sides:
            raise InvalidDataError(f"game {game_id} has no seat {seat}")
        if res.rank is not None and res.rank < 1:
            raise InvalidDataError(f"rank of seat {seat} must be 1 or more")
        rows.append(
            (
                res.reward,
                res.rank,
                res.eliminated_turn,
                res.invalid_moves,
                res.side,
                res.role,
                json_text(dict(res.info), "seat info") if res.info is not None else None,
                game_id,
                seat,
            )
        )
    return rows


_UPDATE_GAME = (
    "UPDATE games SET status = {q}, finished_at = {q}, outcome = {q}, winning_side = {q}, "
    "end_reason = {q}, environment_crashed = {q}, error = {q}, info = COALESCE({j}, info) "
    "WHERE id = {q} AND status = 'running'"
)
_UPDATE_PLAYER = (
    "UPDATE game_players SET reward = {q}, rank = {q}, "
    "eliminated_turn = COALESCE({q}, eliminated_turn), "
    "invalid_moves = COALESCE({q}, invalid_moves), side = COALESCE({q}, side), "
    "role = COALESCE({q}, role), info = COALESCE({j}, info) "
    "WHERE game_id = {q} AND seat = {q}"
)
# Each seat's invalid moves are its turns recorded valid=False, unless its result says otherwise
# (the per-seat update that follows overrides them).
_COUNT_INVALID = (
    "UPDATE game_players SET invalid_moves = (SELECT count(*) FROM game_turns t "
    "WHERE t.game_id = game_players.game_id AND t.seat = game_players.seat AND NOT t.valid) "
    "WHERE game_id = {q}"
)


def finish_in_transaction(
    session: Session, writer: Writer, game_id: int, batch: Batch, values: FinishValues
) -> None:
    """Everything that closes a game, inside the caller's single write transaction:
    the last buffered rows, the game's status and outcome, each seat's result, its ratings."""
    finish_rows(driver_connection(session.connection()), writer, game_id, batch, values)
    # Same transaction, same connection: the ratings see this game's result, take the rating
    # writer lock, and commit (or roll back) together with it.
    from arenadb.ratings.book import rate_game

    rate_game(session, game_id)


def finish_rows(raw: Any, writer: Writer, game_id: int, batch: Batch, values: FinishValues) -> None:
    """The last buffered rows, the game's status and outcome, and each seat's result, on the
    DBAPI connection `raw` inside the caller's transaction."""
    if batch:
        writer.write_batch(raw, batch)
    marks = MARKS[writer.name]
    cur = raw.cursor()
    try:
        cur.execute(
            _UPDATE_GAME.format(**marks),
            (
                values.status,
                writer.timestamp(datetime.now(timezone.utc)),
                values.outcome,
                values.winning_side,
                values.end_reason,
                values.environment_crashed,
                values.error,
                values.info,
                game_id,
            ),
        )
        if cur.rowcount != 1:
            cur.execute("SELECT status FROM games WHERE id = {q}".format(**marks), (game_id,))
            found = cur.fetchone()
            if found is None:
                raise NotFoundError(f"game {game_id} not found")
            raise ConflictError(f"game {game_id} is {found[0]}, not running: cannot finish it")
        cur.execute(_COUNT_INVALID.format(**marks), (game_id,))
        if values.seat_results:
            rows = values.seat_results
            if values.seat_infos:
                rows = _merged_infos(cur, marks, game_id, rows, values.seat_infos)
            cur.executemany(_UPDATE_PLAYER.format(**marks), rows)
    finally:
        cur.close()


def _merged_infos(
    cur: Any,
    marks: Mapping[str, str],
    game_id: int,
    rows: list[tuple],
    infos: Mapping[int, dict[str, Any]],
) -> list[tuple]:
    """The seat result rows with each info merged over the seat's stored info (its keys win)."""
    cur.execute(
        "SELECT seat, info FROM game_players WHERE game_id = {q}".format(**marks), (game_id,)
    )
    stored = {}
    for seat, info in cur.fetchall():
        if isinstance(info, str):  # SQLite returns JSON as text
            info = json.loads(info)
        stored[seat] = info if isinstance(info, dict) else {}
    out = []
    for row in rows:
        seat = row[-1]
        if seat in infos:
            merged = {**stored.get(seat, {}), **infos[seat]}
            row = (*row[:6], json_text(merged, "seat info"), *row[7:])
        out.append(row)
    return out
