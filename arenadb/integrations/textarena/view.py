"""The TextArena environment under all its wrappers, as the recorder reads it.

The wrappers a runner stacks on the environment (action formatting, observation rendering) hide
what the game itself received and rejected, so `EnvironmentView` reads the base environment and
hooks its `step` and its state's `set_invalid_move` and `add_observation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arenadb.integrations.textarena.loader import base_env
from arenadb.integrations.textarena.messages import MessageLog, jsonable


class EnvironmentView:
    """Reads the base environment under `env`: its state as JSON, phase, turn and eliminated
    players, and, per step, the action it received and why it was invalid."""

    def __init__(self, env: Any) -> None:
        self._env = env
        self._base: Any = None
        self._hooked_step = False
        # Of the step being played: the action after every wrapper, and the invalid-move reasons.
        self.received: str | None = None
        self.invalid_reasons: list[str] = []

    @property
    def base(self) -> Any:
        base = self._base
        if base is None:
            base = self._base = base_env(self._env)
        return base

    def hook(self, log: MessageLog) -> None:
        """Hook the state `reset()` has just made (every game has a new one) into `log` and into
        the invalid-move reasons; the environment's `step` once."""
        base = self.base
        state = base.state
        log.hook(state)
        original_invalid = state.set_invalid_move

        def set_invalid_move(*args: Any, **kwargs: Any) -> Any:
            reason = kwargs.get("reason", args[0] if args else None)
            self.invalid_reasons.append("invalid move" if reason is None else str(reason))
            return original_invalid(*args, **kwargs)

        state.set_invalid_move = set_invalid_move
        if not self._hooked_step:
            original_step = base.step

            def step(action: str, *args: Any, **kwargs: Any) -> Any:
                self.received = action  # after every wrapper: what the game itself got
                return original_step(action, *args, **kwargs)

            base.step = step
            self._hooked_step = True

    def start_step(self) -> int:
        """Forget the previous step's action and reasons; the id of the player to move."""
        self.received, self.invalid_reasons = None, []
        return int(self.base.state.current_player_id)

    def invalid_reason(self) -> str | None:
        """Why the step's move was invalid (None: it was valid)."""
        return "; ".join(self.invalid_reasons) or None

    def snapshot(self) -> dict[str, Any]:
        """The state a game snapshot records, as JSON data."""
        state = self.base.state
        return {
            "turn": getattr(state, "turn", None),
            "current_player_id": getattr(state, "current_player_id", None),
            "game_state": jsonable(getattr(state, "game_state", None)),
            "rewards": jsonable(getattr(state, "rewards", None)),
        }

    def phase(self) -> str | None:
        base = self.base
        game_state = getattr(base.state, "game_state", None)
        phase = game_state.get("phase") if isinstance(game_state, Mapping) else None
        if phase is None:
            phase = getattr(base, "phase", None)
        return None if phase is None else str(jsonable(phase))[:100]

    def turn_number(self) -> int:
        """TextArena's own turn counter (a retried invalid move keeps its turn)."""
        return max(0, int(getattr(self.base.state, "turn", 0) or 0))

    def eliminated_players(self, num_players: int) -> set[int]:
        state = self.base.state
        out = {int(p) for p in getattr(state, "elimination_order", None) or ()}
        game_state = getattr(state, "game_state", None)
        if isinstance(game_state, Mapping) and "alive_players" in game_state:
            alive = set(game_state["alive_players"])
            out |= {p for p in range(num_players) if p not in alive}
        return out
