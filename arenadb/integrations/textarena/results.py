"""From what a TextArena environment knows to what arenadb records: the game type (seats,
sides, roles, config) and, at the end, the outcome, winning side and each seat's result."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from arenadb.integrations.textarena.loader import textarena
from arenadb.integrations.textarena.messages import jsonable
from arenadb.recording.types import SeatResult

SidesFunction = Callable[[Any], Mapping[int, str | None]]


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


def merged(old: list[Any] | None, new: list[str]) -> list[Any] | None:
    """`old` with the names of `new` it lacks appended (a type's sides and roles only grow:
    a 6-player game deals no role that a 10-player game does not)."""
    out = list(old or [])
    for name in new:
        if name not in out:
            out.append(name)
    return out or None


@dataclass
class Outcome:
    outcome: str
    winning_side: str | None
    end_reason: str | None
    results: dict[int, SeatResult]


def outcome_of(
    rewards: Mapping[int, float],
    game_info: Mapping[int, Mapping[str, Any]] | None,
    sides: Mapping[int, str | None],
    *,
    invalid_moves: Mapping[int, int],
    eliminated: Mapping[int, int],
) -> Outcome:
    """Outcome, winning side and seat results from TextArena's rewards and game info.

    All rewards equal: a draw. Ranks are competition ranks by reward (1, 1, 3). The winning side
    is the one side all top-rewarded seats share, in a team game."""
    values = {int(pid): float(r) for pid, r in rewards.items()}
    best = max(values.values()) if values else 0.0
    draw = len(set(values.values())) <= 1
    winners = {pid for pid, r in values.items() if r == best}
    winning_sides = {sides.get(pid) for pid in winners}
    winning_side = None
    if not draw and len(winning_sides) == 1 and None not in winning_sides:
        winning_side = next(iter(winning_sides))
    info = {int(k): dict(v) for k, v in (game_info or {}).items()}
    reasons = [str(i["reason"]) for i in info.values() if i.get("reason")]
    results = {}
    for pid in sorted(set(values) | set(info)):
        reward = values.get(pid)
        rank = None if reward is None else 1 + sum(1 for r in values.values() if r > reward)
        results[pid] = SeatResult(
            reward=reward,
            rank=rank,
            eliminated_turn=eliminated.get(pid),
            invalid_moves=invalid_moves.get(pid, 0),
            info=jsonable(info.get(pid)) if pid in info else None,
        )
    return Outcome(
        outcome="draw" if draw else "win",
        winning_side=winning_side,
        end_reason=reasons[0] if reasons else None,
        results=results,
    )
