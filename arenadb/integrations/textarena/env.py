"""`RecordedEnv`: a TextArena wrapper that records the game it plays into an arena database.

It drives the recorder; what it records comes from its collaborators: `game_type` (seats, sides,
roles and the game type at reset), `view` (the base environment's state, phase, turn, received
action and invalid moves), `messages` (who saw what) and `results` (the outcome at close).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from arenadb.errors import ConflictError
from arenadb.integrations.textarena.game_type import (
    SidesFunction,
    dealt_seats,
    env_config,
    register_game_type,
)
from arenadb.integrations.textarena.loader import textarena
from arenadb.integrations.textarena.messages import (
    Message,
    MessageLog,
    queued_messages,
    split_action,
    visibility,
)
from arenadb.integrations.textarena.results import SeatTally
from arenadb.integrations.textarena.view import EnvironmentView
from arenadb.models import Agent
from arenadb.recording.recorder import GameRecorder
from arenadb.recording.types import Seat

ta = textarena()
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
        self._view = EnvironmentView(env)
        # Of the game being recorded (a new one at each reset):
        self._log = MessageLog()
        self._tally = SeatTally({})
        self._pending_calls: list[dict[str, Any]] = []
        self._num_players = 0

    @property
    def game_id(self) -> int | None:
        return None if self.recorder is None else self.recorder.game_id

    def add_llm_call(self, call: Mapping[str, Any]) -> None:
        """An LLM call to record with the next step's turn (`RecordedAgent` adds its calls)."""
        self._pending_calls.append(dict(call))

    def _recording(self) -> GameRecorder | None:
        """The recorder of the game being played; None before reset() and once it has ended."""
        recorder = self.recorder
        return None if recorder is None or recorder.closed else recorder

    def reset(self, num_players: int, seed: int | None = None) -> Any:
        """Reset the environment (roles are dealt), then register its type and start the game."""
        if (unfinished := self._recording()) is not None:
            unfinished.abort("reset before the game ended")
        result = self.env.reset(num_players=num_players, seed=seed)
        view = self._view
        base = view.base
        self._num_players = num_players
        seats, sides = dealt_seats(self.seats, base, num_players, self.sides_function)
        env_id = self.game_type or getattr(base, "env_id", None) or type(base).__name__
        config = env_config(base, getattr(base, "env_id", None))
        register_game_type(self.arena, env_id, seats, config)
        queued = queued_messages(base.state.observations, getattr(base.state, "logs", []))
        self._log = MessageLog()
        view.hook(self._log)
        self._tally = SeatTally(sides)
        self._pending_calls = []
        options = dict(self.start_options)
        info = {"textarena": {"version": ta.__version__, "env_kwargs": config}}
        info.update(options.pop("info", None) or {})
        self.recorder = self.arena.start_game(
            env_id, seats, seed=seed, info=info, initial_state=view.snapshot(), **options
        )
        phase = view.phase()
        for message in queued:
            self._record_message(message, phase, view.turn_number(), None)
        return result

    def step(self, action: str) -> Any:
        """Step the environment and record the move and what each player was shown."""
        recorder = self._recording()
        if recorder is None:
            raise ConflictError("no game is being recorded: call reset() first")
        view = self._view
        pid = view.start_step()
        try:
            result = self.env.step(action)
        except Exception as exc:
            self._crash(exc)
            raise
        recipients, messages = split_action(self._log.take(), pid)
        cached: list[dict[str, Any]] = []

        def state_after() -> dict[str, Any]:
            if not cached:
                cached.append(view.snapshot())
            return cached[0]

        calls, self._pending_calls = self._pending_calls, []
        for call in calls:
            call.setdefault("seat", pid)
        phase = view.phase()
        number = view.turn_number()
        invalid = view.invalid_reason()
        if invalid is not None:
            self._tally.count_invalid_move(pid)
        recorder.record_turn(
            seat=pid,
            action=action if view.received is None else view.received,
            turn_number=number,
            valid=invalid is None,
            invalid_reason=invalid,
            phase=phase,
            latency_ms=next((c.get("latency_ms") for c in calls if c.get("latency_ms")), None),
            state=state_after,
            llm_calls=calls,
            **visibility(recipients, self._num_players),
        )
        self._tally.note_eliminated(view.eliminated_players(self._num_players), number)
        for message in messages:
            self._record_message(message, phase, number, state_after)
        return result

    def _record_message(self, message: Message, phase: str | None, number: int, state: Any) -> None:
        assert self.recorder is not None
        self.recorder.record_turn(
            seat=None,
            observation=message.observation,
            phase=phase,
            turn_number=number,
            state=state,
            **visibility(message.recipients, self._num_players),
        )

    def close(self) -> Any:
        """Close the environment and finish the game: rewards, outcome, ranks, eliminations."""
        try:
            result = self.env.close()
        except Exception as exc:
            self._crash(exc)
            raise
        recorder = self._recording()
        if recorder is None:
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
        outcome = self._tally.outcome(rewards, game_info)
        recorder.finish(
            outcome=outcome.outcome,
            winning_side=outcome.winning_side,
            end_reason=outcome.end_reason,
            results=outcome.results,
            final_state=self._view.snapshot(),
        )
        return result

    def _crash(self, exc: BaseException) -> None:
        recorder = self._recording()
        if recorder is None:
            return
        try:
            recorder.fail(f"{type(exc).__name__}: {exc}", environment_crashed=True)
        except Exception:  # never hide the environment's own exception behind ours
            log.exception("could not mark game %s failed", recorder.game_id)
