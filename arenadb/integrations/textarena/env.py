"""`RecordedEnv`: a TextArena wrapper that records the game it plays into an arena database."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from arenadb.db.json import canonical_json
from arenadb.errors import ConflictError
from arenadb.integrations.textarena.loader import base_env, textarena
from arenadb.integrations.textarena.messages import Message, MessageLog, jsonable, queued_messages
from arenadb.integrations.textarena.results import (
    SidesFunction,
    env_config,
    merged,
    outcome_of,
    seat_roles,
    seat_sides,
)
from arenadb.models import Agent, GameType
from arenadb.recording.recorder import GameRecorder
from arenadb.recording.types import Seat

ta = textarena()
# Arena -> env id -> the (players, sides, roles, config) registered through it: a runner that
# makes a new environment per game registers its type once, not once per game.
_REGISTERED: weakref.WeakKeyDictionary[Any, dict[str, set[tuple]]] = weakref.WeakKeyDictionary()
_Wrapper: Any = ta.Wrapper
log = logging.getLogger("arenadb.integrations.textarena")


def record(
    env: Any, arena: Any, seats: Sequence[Seat | Agent | int], **options: Any
) -> RecordedEnv:
    """`env` wrapped so that every game it plays is recorded in `arena` (see `RecordedEnv`)."""
    return RecordedEnv(env, arena, seats, **options)


class RecordedEnv(_Wrapper):
    """Records each game `env` plays: `reset()` starts it, `step()` records, `close()` finishes.

    `seats`: who plays each player id (an Agent, its id, or a Seat; a Seat's own side / role win
    over the environment's). `game_type`: the env id to record under (default: the id the
    environment was made with). `sides`: a function env -> {player id: side} for team games
    whose teams arenadb does not find itself (it knows role objects with a `team`, as in Secret
    Mafia). Other keyword arguments go to `Arena.start_game` (rated, info, snapshot_every, ...).
    """

    def __init__(
        self,
        env: Any,
        arena: Any,
        seats: Sequence[Seat | Agent | int],
        *,
        game_type: str | None = None,
        sides: SidesFunction | None = None,
        **start_options: Any,
    ) -> None:
        super().__init__(env)
        self.arena = arena
        self.seats = list(seats)
        self.game_type = game_type
        self.sides_function = sides
        self.start_options = start_options
        self.recorder: GameRecorder | None = None
        self._log = MessageLog()
        self._received: str | None = None
        self._invalid: list[str] = []
        self._pending_calls: list[dict[str, Any]] = []
        self._sides: dict[int, str | None] = {}
        self._invalid_moves: dict[int, int] = {}
        self._eliminated: dict[int, int] = {}
        self._num_players = 0
        self._hooked_step = False
        self._base_env: Any = None

    # -- what the recorder needs -------------------------------------------------------------

    @property
    def game_id(self) -> int | None:
        return None if self.recorder is None else self.recorder.game_id

    @property
    def _base(self) -> Any:
        base = self._base_env
        if base is None:
            base = self._base_env = base_env(self.env)
        return base

    def add_llm_call(self, call: Mapping[str, Any]) -> None:
        """An LLM call to record with the next step's turn (`RecordedAgent` adds its calls)."""
        self._pending_calls.append(dict(call))

    def _state(self) -> dict[str, Any]:
        state = self._base.state
        return {
            "turn": getattr(state, "turn", None),
            "current_player_id": getattr(state, "current_player_id", None),
            "game_state": jsonable(getattr(state, "game_state", None)),
            "rewards": jsonable(getattr(state, "rewards", None)),
        }

    def _phase(self) -> str | None:
        base = self._base
        game_state = getattr(base.state, "game_state", None)
        phase = game_state.get("phase") if isinstance(game_state, Mapping) else None
        if phase is None:
            phase = getattr(base, "phase", None)
        return None if phase is None else str(jsonable(phase))[:100]

    def _turn_number(self) -> int:
        """TextArena's own turn counter (a retried invalid move keeps its turn)."""
        return max(0, int(getattr(self._base.state, "turn", 0) or 0))

    def _eliminated_players(self) -> set[int]:
        state = self._base.state
        out = {int(p) for p in getattr(state, "elimination_order", None) or ()}
        game_state = getattr(state, "game_state", None)
        if isinstance(game_state, Mapping) and "alive_players" in game_state:
            alive = set(game_state["alive_players"])
            out |= {p for p in range(self._num_players) if p not in alive}
        return out

    # -- hooks on the environment ------------------------------------------------------------

    def _hook(self) -> None:
        base = self._base
        state = base.state
        self._log.hook(state)
        original_invalid = state.set_invalid_move

        def set_invalid_move(*args: Any, **kwargs: Any) -> Any:
            reason = kwargs.get("reason", args[0] if args else None)
            self._invalid.append("invalid move" if reason is None else str(reason))
            return original_invalid(*args, **kwargs)

        state.set_invalid_move = set_invalid_move
        if not self._hooked_step:
            original_step = base.step

            def step(action: str, *args: Any, **kwargs: Any) -> Any:
                self._received = action  # after every wrapper: what the game itself got
                return original_step(action, *args, **kwargs)

            base.step = step
            self._hooked_step = True

    # -- the game ----------------------------------------------------------------------------

    def reset(self, num_players: int, seed: int | None = None) -> Any:
        """Reset the environment (roles are dealt), then register its type and start the game."""
        if self.recorder is not None and not self.recorder.closed:
            self.recorder.abort("reset before the game ended")
        result = self.env.reset(num_players=num_players, seed=seed)
        base = self._base
        self._num_players = num_players
        roles = seat_roles(base.state, num_players)
        self._sides = dict(
            self.sides_function(base) if self.sides_function else seat_sides(base, num_players)
        )
        if len(self.seats) != num_players:
            raise ConflictError(f"{len(self.seats)} seats given for {num_players} players")
        seats = []
        for pid, spec in enumerate(self.seats):
            seat = spec if isinstance(spec, Seat) else Seat(spec)
            side = seat.side if seat.side is not None else self._sides.get(pid)
            self._sides[pid] = side
            seats.append(Seat(seat.agent, side, seat.role or roles.get(pid), seat.info))
        env_id = self.game_type or getattr(base, "env_id", None) or type(base).__name__
        config = env_config(base, getattr(base, "env_id", None))
        self._register_type(env_id, num_players, seats, config)
        queued = queued_messages(base.state.observations, getattr(base.state, "logs", []))
        self._log = MessageLog()
        self._hook()
        self._invalid_moves = {}
        self._eliminated = {}
        self._pending_calls = []
        options = dict(self.start_options)
        info = {"textarena": {"version": ta.__version__, "env_kwargs": config}}
        info.update(options.pop("info", None) or {})
        self.recorder = self.arena.start_game(
            env_id, seats, seed=seed, info=info, initial_state=self._state(), **options
        )
        phase = self._phase()
        for message in queued:
            self._record_message(message, phase, self._turn_number(), None)
        return result

    def _register_type(
        self, env_id: str, players: int, seats: list[Seat], config: dict[str, Any]
    ) -> None:
        """Register (or widen) the game type: skipped when this arena registered the same."""
        sides = sorted({s.side for s in seats if s.side is not None})
        roles = sorted({s.role for s in seats if s.role is not None})
        known = _REGISTERED.setdefault(self.arena, {})
        wanted = (players, tuple(sides), tuple(roles), canonical_json(config))
        if wanted in known.get(env_id, set()):
            return
        with self.arena.session() as session:
            found = session.scalars(sa.select(GameType).where(GameType.env_id == env_id)).first()
            old = (found.min_seats, found.max_seats, found.sides, found.roles) if found else None
        low, high = (
            (players, players) if old is None else (min(old[0], players), max(old[1], players))
        )
        self.arena.register_game_type(
            env_id,
            min_seats=low,
            max_seats=high,
            sides=merged(old[2] if old else None, sides),
            roles=merged(old[3] if old else None, roles),
            config=config,
        )
        known.setdefault(env_id, set()).add(wanted)

    def step(self, action: str) -> Any:
        """Step the environment and record the move and what each player was shown."""
        recorder = self.recorder
        if recorder is None or recorder.closed:
            raise ConflictError("no game is being recorded: call reset() first")
        state = self._base.state
        pid = int(state.current_player_id)
        self._received, self._invalid = None, []
        try:
            result = self.env.step(action)
        except Exception as exc:
            self._crash(exc)
            raise
        received = action if self._received is None else self._received
        messages = self._log.take()
        recipients: set[int] | None = {pid}
        for message in messages:
            if message.sender == pid and message.kind == "PLAYER_ACTION":
                recipients = message.recipients
                messages.remove(message)
                break
        cached: list[dict[str, Any]] = []

        def state_after() -> dict[str, Any]:
            if not cached:
                cached.append(self._state())
            return cached[0]

        calls, self._pending_calls = self._pending_calls, []
        for call in calls:
            call.setdefault("seat", pid)
        phase = self._phase()
        number = self._turn_number()
        invalid = "; ".join(self._invalid) or None
        if invalid is not None:
            self._invalid_moves[pid] = self._invalid_moves.get(pid, 0) + 1
        latency = next((c.get("latency_ms") for c in calls if c.get("latency_ms")), None)
        recorder.record_turn(
            seat=pid,
            action=received,
            turn_number=number,
            valid=invalid is None,
            invalid_reason=invalid,
            phase=phase,
            latency_ms=latency,
            state=state_after,
            llm_calls=calls,
            **self._visibility(recipients),
        )
        for eliminated in self._eliminated_players() - set(self._eliminated):
            self._eliminated[eliminated] = number
        for message in messages:
            self._record_message(message, phase, number, state_after)
        return result

    def _visibility(self, recipients: set[int] | None) -> dict[str, Any]:
        if recipients is None or recipients >= set(range(self._num_players)):
            return {}
        return {"recipients": sorted(recipients)}

    def _record_message(self, message: Message, phase: str | None, number: int, state: Any) -> None:
        assert self.recorder is not None
        text = message.text
        if message.sender >= 0:
            text = f"[Player {message.sender}] {text}"
        self.recorder.record_turn(
            seat=None,
            observation=text,
            phase=phase,
            turn_number=number,
            state=state,
            **self._visibility(message.recipients),
        )

    def close(self) -> Any:
        """Close the environment and finish the game: rewards, outcome, ranks, eliminations."""
        try:
            result = self.env.close()
        except Exception as exc:
            self._crash(exc)
            raise
        recorder = self.recorder
        if recorder is None or recorder.closed:
            return result
        for call in self._pending_calls:
            recorder.record_llm_call(**{**call, "turn_seq": None})
        self._pending_calls = []
        rewards, game_info = (
            result if isinstance(result, tuple) and len(result) == 2 else (None, None)
        )
        if not rewards:
            recorder.abort("closed before the game ended")
            return result
        outcome = outcome_of(
            rewards,
            game_info,
            self._sides,
            invalid_moves=self._invalid_moves,
            eliminated=self._eliminated,
        )
        recorder.finish(
            outcome=outcome.outcome,
            winning_side=outcome.winning_side,
            end_reason=outcome.end_reason,
            results=outcome.results,
            final_state=self._state(),
        )
        return result

    def _crash(self, exc: BaseException) -> None:
        recorder = self.recorder
        if recorder is None or recorder.closed:
            return
        try:
            recorder.fail(f"{type(exc).__name__}: {exc}", environment_crashed=True)
        except Exception:  # never hide the environment's own exception behind ours
            log.exception("could not mark game %s failed", recorder.game_id)
