"""Who saw a recorded turn: its visibility and, for a private turn, its recipients.

The one check of what `record_turn(visibility=, recipients=)` accepts, against the game's seats;
what a seat is shown of a recorded game is read back by `arenadb.inspection.replay.as_seen_by`.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from arenadb.db.json import json_text
from arenadb.errors import InvalidDataError
from arenadb.models import TURN_VISIBILITIES


def turn_visibility(
    visibility: str | None,
    recipients: Iterable[int] | None,
    seats: Container[int],
    game_id: int,
    jsonb_prefix: str,
) -> tuple[str, str | None]:
    """(visibility, recipients as JSON column text) of a turn of game `game_id`.

    Recipients without a visibility make a private turn; public and system turns have none;
    a private turn names at least one of the game's seats.
    """
    if visibility is None:
        visibility = "private" if recipients is not None else "public"
    if visibility not in TURN_VISIBILITIES:
        raise InvalidDataError(f"turn visibility must be one of {TURN_VISIBILITIES}")
    if visibility != "private":
        if recipients is not None:
            raise InvalidDataError(f"a {visibility} turn has no recipients")
        return visibility, None
    chosen = sorted(set(recipients or ()))
    if not chosen:
        raise InvalidDataError("a private turn needs its recipients (the seats that saw it)")
    for seat in chosen:
        if seat not in seats:
            raise InvalidDataError(f"game {game_id} has no seat {seat!r}")
    return visibility, json_text(chosen, "turn recipients", jsonb_prefix)
