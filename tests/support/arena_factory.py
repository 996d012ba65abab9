"""Hand-made games with exactly known values, for tests that assert numbers.

The bulk of a test arena comes from `tests.support.synthetic.build_arena` (realistic volume and
shapes); this factory adds the few games whose every value a test checks. It writes with Core
inserts on the ORM tables, like the generator, and returns plain ids.

    factory = ArenaFactory(engine)
    game_id = factory.game(
        "SecretMafia-v0", [alice, bob], turns=[("day", 0, "I accuse Bob", True)], latencies=[100]
    )
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.db import write_transaction
from arenadb.db.rollups import add_calls
from arenadb.models import (
    Agent,
    AgentKind,
    Game,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    GameType,
    LLMCall,
    LLMModel,
    PlayerAction,
    Prompt,
    RatingEvent,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


class ArenaFactory:
    """Insert catalog rows and whole games; every method returns the new row's id."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._counter = 0

    def _insert(self, table: sa.Table, row: dict[str, Any]) -> int:
        with write_transaction(self.engine) as conn:
            return int(conn.execute(sa.insert(table).returning(table.c.id), row).scalar_one())

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    def game_type(self, env_id: str | None = None, seats: int = 2) -> int:
        return self._insert(
            GameType.__table__,
            {"env_id": env_id or self._name("Test"), "min_seats": 1, "max_seats": seats},
        )

    def model(self, name: str | None = None, *, litellm_name: str | None = None) -> int:
        return self._insert(
            LLMModel.__table__, {"name": name or self._name("model"), "litellm_name": litellm_name}
        )

    def agent(self, alias: str | None = None, *, model_id: int | None = None) -> int:
        kind_id = self._insert(AgentKind.__table__, {"name": self._name("kind")})
        prompt = self._name("prompt")
        prompt_id = self._insert(
            Prompt.__table__,
            {
                "name": prompt,
                "content": prompt,
                "sha256": hashlib.sha256(prompt.encode()).hexdigest(),
            },
        )
        return self._insert(
            Agent.__table__,
            {
                "kind_id": kind_id,
                "model_id": model_id if model_id is not None else self.model(),
                "prompt_id": prompt_id,
                "alias": alias or self._name("agent"),
            },
        )

    def game(
        self,
        game_type_id: int,
        agent_ids: Sequence[int],
        *,
        status: str = "completed",
        game_uuid: uuid.UUID | None = None,
        started_at: datetime | None = T0,
        duration: timedelta | None = timedelta(minutes=5),
        outcome: str | None = "win",
        winning_side: str | None = "red",
        sides: Sequence[str | None] | None = None,
        roles: Sequence[str | None] | None = None,
        crashed: bool = False,
        error: str | None = None,
        turns: Sequence[tuple[str | None, int | None, str, bool | None]] = (),
        actions: Sequence[tuple[int, str, dict[str, Any] | None]] = (),
        llm_calls: Sequence[dict[str, Any]] = (),
        snapshots: Sequence[tuple[int, str]] = (),
        rating_changes: Sequence[tuple[int, float]] = (),
    ) -> int:
        """A game with seats 0..n-1 taken by `agent_ids`.

        turns: (phase, seat or None, action, valid), numbered 1, 2, ...; actions: (turn seq,
        type, payload); llm_calls: column values (game_id filled in); snapshots: (turn, kind);
        rating_changes: (seat, mu delta) recorded as overall TrueSkill events.
        """
        finished = (
            started_at + duration if started_at and duration and status != "running" else None
        )
        with write_transaction(self.engine) as conn:
            game_id = int(
                conn.execute(
                    sa.insert(Game.__table__).returning(Game.id),
                    {
                        "uuid": game_uuid or uuid.uuid4(),
                        "game_type_id": game_type_id,
                        "status": status,
                        "started_at": started_at,
                        "finished_at": finished,
                        "outcome": outcome,
                        "winning_side": winning_side,
                        "environment_crashed": crashed,
                        "error": error,
                    },
                ).scalar_one()
            )
            conn.execute(
                sa.insert(GamePlayer.__table__),
                [
                    {
                        "game_id": game_id,
                        "seat": seat,
                        "agent_id": agent_id,
                        "side": sides[seat] if sides else None,
                        "role": roles[seat] if roles else None,
                        "reward": 1.0 if sides and sides[seat] == winning_side else -1.0,
                        "invalid_moves": sum(1 for t in turns if t[1] == seat and t[3] is False),
                    }
                    for seat, agent_id in enumerate(agent_ids)
                ],
            )
            if turns:
                conn.execute(
                    sa.insert(GameTurn.__table__),
                    [
                        {
                            "game_id": game_id,
                            "seq": seq,
                            "turn_number": seq + 1,
                            "phase": phase,
                            "seat": seat,
                            "observation": f"observation {seq}",
                            "action": action,
                            "valid": valid,
                        }
                        for seq, (phase, seat, action, valid) in enumerate(turns)
                    ],
                )
            for idx, (seq, action_type, payload) in enumerate(actions):
                conn.execute(
                    sa.insert(PlayerAction.__table__),
                    {
                        "game_id": game_id,
                        "turn_seq": seq,
                        "idx": idx,
                        "action_type": action_type,
                        "payload": payload,
                    },
                )
            for call in llm_calls:
                row = {"game_id": game_id, **call}
                conn.execute(sa.insert(LLMCall.__table__), row)
                add_calls(conn, tuple(row), [tuple(row.values())])  # the usage rollups
            for turn, kind in snapshots:
                state = {"turn": turn}
                conn.execute(
                    sa.insert(GameSnapshot.__table__),
                    {
                        "game_id": game_id,
                        "turn": turn,
                        "kind": kind,
                        "state": state,
                        "sha256": hashlib.sha256(str(state).encode()).hexdigest(),
                        "size_bytes": len(str(state)),
                    },
                )
            for seat, delta in rating_changes:
                conn.execute(
                    sa.insert(RatingEvent.__table__),
                    {
                        "game_id": game_id,
                        "agent_id": agent_ids[seat],
                        "seat": seat,
                        "system": "trueskill",
                        "game_type_id": None,
                        "mu_before": 25.0,
                        "sigma_before": 8.0,
                        "mu_after": 25.0 + delta,
                        "sigma_after": 7.5,
                    },
                )
        return game_id
