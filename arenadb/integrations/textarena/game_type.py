"""What `reset()` learns from a freshly dealt TextArena game before it starts recording: each
seat's side and role, the environment's config, and the game type it registers with them."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from arenadb.db.json import canonical_json
from arenadb.errors import ConflictError
from arenadb.integrations.textarena.loader import textarena
from arenadb.integrations.textarena.messages import jsonable
from arenadb.models import Agent, GameType
from arenadb.recording.types import Seat

SidesFunction = Callable[[Any], Mapping[int, str | None]]

# Arena -> env id -> the (players, sides, roles, config) registered through it: a runner that
# makes a new environment per game registers its type once, not once per game.
_REGISTERED: weakref.WeakKeyDictionary[Any, dict[str, set[tuple]]] = weakref.WeakKeyDictionary()


def dealt_seats(
    specs: Sequence[Seat | Agent | int],
    env: Any,
    num_players: int,
    sides_function: SidesFunction | None,
) -> tuple[list[Seat], dict[int, str | None]]:
    """The seats to start the game with, and each player's side: a `Seat`'s own side and role
    win over those the environment dealt (`sides_function` names a team game's sides)."""
    roles = seat_roles(env.state, num_players)
    sides = dict(sides_function(env) if sides_function else seat_sides(env, num_players))
    if len(specs) != num_players:
        raise ConflictError(f"{len(specs)} seats given for {num_players} players")
    seats = []
    for pid, spec in enumerate(specs):
        seat = spec if isinstance(spec, Seat) else Seat(spec)
        side = seat.side if seat.side is not None else sides.get(pid)
        sides[pid] = side
        seats.append(Seat(seat.agent, side, seat.role or roles.get(pid), seat.info))
    return seats, sides


def seat_roles(state: Any, num_players: int) -> dict[int, str | None]:
    """Each player's role, when the environment deals roles (not the default "Player N")."""
    info = getattr(state, "game_info", None) or {}
    roles: dict[int, str | None] = {}
    for pid in range(num_players):
        role = (info.get(pid) or {}).get("role")
        roles[pid] = None if role in (None, f"Player {pid}") else str(role)
    return roles


def seat_sides(env: Any, num_players: int) -> dict[int, str | None]:
    """Each player's side (team) when the environment has teams: role objects with a `team`
    (Secret Mafia's Village / Mafia); otherwise every player plays for itself (None)."""
    roles = getattr(env, "roles", None)
    sides: dict[int, str | None] = {pid: None for pid in range(num_players)}
    if isinstance(roles, Mapping):
        for pid in range(num_players):
            team = getattr(roles.get(pid), "team", None)
            sides[pid] = None if team is None else str(team)
    return sides


def env_config(env: Any, env_id: str | None) -> dict[str, Any]:
    """The keyword arguments the environment was made with: its registry entry's, overridden by
    the attributes of the same name it holds (what `ta.make(env_id, **kwargs)` changed)."""
    config: dict[str, Any] = {}
    spec = textarena().envs.registration.ENV_REGISTRY.get(env_id) if env_id else None
    if spec is not None:
        config.update(spec.kwargs)
    parameters: Mapping[str, Any]
    try:
        parameters = inspect.signature(type(env).__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        parameters = {}
    for name in parameters:
        if name != "self" and name in vars(env):
            config[name] = vars(env)[name]
    return jsonable(config)


def register_game_type(arena: Any, env_id: str, seats: list[Seat], config: dict[str, Any]) -> None:
    """Register (or widen) the game type: skipped when this arena registered the same."""
    players = len(seats)
    sides = sorted({s.side for s in seats if s.side is not None})
    roles = sorted({s.role for s in seats if s.role is not None})
    known = _REGISTERED.setdefault(arena, {})
    wanted = (players, tuple(sides), tuple(roles), canonical_json(config))
    if wanted in known.get(env_id, set()):
        return
    with arena.session() as session:
        found = session.scalars(sa.select(GameType).where(GameType.env_id == env_id)).first()
        old = (found.min_seats, found.max_seats, found.sides, found.roles) if found else None
    low, high = (players, players) if old is None else (min(old[0], players), max(old[1], players))
    arena.register_game_type(
        env_id,
        min_seats=low,
        max_seats=high,
        sides=merged(old[2] if old else None, sides),
        roles=merged(old[3] if old else None, roles),
        config=config,
    )
    known.setdefault(env_id, set()).add(wanted)


def merged(old: list[Any] | None, new: list[str]) -> list[Any] | None:
    """`old` with the names of `new` it lacks appended (a type's sides and roles only grow:
    a 6-player game deals no role that a 10-player game does not)."""
    out = list(old or [])
    for name in new:
        if name not in out:
            out.append(name)
    return out or None
