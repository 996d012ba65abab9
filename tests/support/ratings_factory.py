"""Agents, games and players made with the ORM directly, and `finish_and_rate`, which finishes a
game and rates it in one write transaction exactly as the game recorder does."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.db import create_engine, session_scope
from arenadb.models import (
    Agent,
    AgentKind,
    Game,
    GamePlayer,
    GameType,
    LLMModel,
    Prompt,
    Rating,
    utcnow,
)
from arenadb.ratings.book import rate_game

MAFIA_SIDES = ["village"] * 4 + ["mafia"] * 2


def make_agents(engine: Engine, count: int, *, prefix: str = "agent") -> list[int]:
    """`count` agents sharing one kind and prompt, each with its own model; returns their ids."""
    with session_scope(engine, write=True) as session:
        kind = AgentKind(name=f"{prefix}-kind")
        content = f"You are {prefix}."
        prompt = Prompt(
            name=f"{prefix}-prompt",
            content=content,
            sha256=hashlib.sha256(content.encode()).hexdigest(),
        )
        session.add_all([kind, prompt])
        agents = []
        for i in range(count):
            model = LLMModel(name=f"{prefix}-model-{i}", provider="test")
            agent = Agent(
                kind=kind, model=model, prompt=prompt, alias=f"{prefix}-{i}", config={"i": i}
            )
            agents.append(agent)
        session.add_all(agents)
        session.flush()
        return [a.id for a in agents]


def make_game_types(engine: Engine) -> dict[str, int]:
    """A 6-seat team game (4 village vs 2 mafia) and a 2-player game; env id -> id."""
    with session_scope(engine, write=True) as session:
        mafia = GameType(
            env_id="SecretMafia-v0", min_seats=6, max_seats=6, sides=["village", "mafia"]
        )
        blotto = GameType(env_id="ColonelBlotto-v0", min_seats=2, max_seats=2)
        ffa = GameType(env_id="Poker-v0", min_seats=2, max_seats=6)
        session.add_all([mafia, blotto, ffa])
        session.flush()
        return {t.env_id: t.id for t in (mafia, blotto, ffa)}


def make_game(
    engine: Engine,
    game_type_id: int,
    agent_ids: Sequence[int],
    *,
    sides: Sequence[str | None] | None = None,
    status: str = "running",
    rated: bool = True,
) -> int:
    """A running game with one seat per agent (seat i: agent_ids[i], side sides[i])."""
    with session_scope(engine, write=True) as session:
        game = Game(game_type_id=game_type_id, status=status, rated=rated, started_at=utcnow())
        for seat, agent_id in enumerate(agent_ids):
            side = sides[seat] if sides else None
            game.players.append(GamePlayer(seat=seat, agent_id=agent_id, side=side))
        session.add(game)
        session.flush()
        return game.id


def finish_and_rate(
    engine: Engine,
    game_id: int,
    *,
    outcome: str = "win",
    winning_side: str | None = None,
    ranks: dict[int, int] | None = None,
    rewards: dict[int, float] | None = None,
    status: str = "completed",
    crashed: bool = False,
    systems: Sequence[str] = ("trueskill", "openskill"),
) -> list[Any]:
    """Finish a game and rate it in ONE write transaction, as the recorder does."""
    with session_scope(engine, write=True) as session:
        game = session.get(Game, game_id)
        assert game is not None
        game.status = status
        game.outcome = outcome
        game.winning_side = winning_side
        game.environment_crashed = crashed
        game.finished_at = utcnow()
        for player in game.players:
            if ranks and player.seat in ranks:
                player.rank = ranks[player.seat]
            if rewards and player.seat in rewards:
                player.reward = rewards[player.seat]
        return rate_game(session, game_id, systems)


def ratings_snapshot(engine: Engine) -> dict[tuple[int, str, int | None], tuple[Any, ...]]:
    """Every stored rating: (agent, system, game type) -> (mu, sigma, games, W, D, L, last)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                Rating.agent_id,
                Rating.system,
                Rating.game_type_id,
                Rating.mu,
                Rating.sigma,
                Rating.games,
                Rating.wins,
                Rating.draws,
                Rating.losses,
                Rating.last_game_id,
            )
        )
        return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def random_history(
    engine: Engine, types: dict[str, int], agents: Sequence[int], count: int, seed: int
) -> list[dict[str, Any]]:
    """`count` running games (mafia 4v2, blotto 1v1, 4-player free-for-all) and how each ends."""
    rng = random.Random(seed)
    plans = []
    for _ in range(count):
        kind = rng.choice(["mafia", "mafia", "blotto", "ffa"])
        if kind == "mafia":
            players = rng.sample(list(agents), 6)
            game_id = make_game(engine, types["SecretMafia-v0"], players, sides=MAFIA_SIDES)
            end: dict[str, Any] = {"winning_side": rng.choice(["village", "mafia"])}
            if rng.random() < 0.1:
                end = {"outcome": "draw"}
        elif kind == "blotto":
            players = rng.sample(list(agents), 2)
            game_id = make_game(engine, types["ColonelBlotto-v0"], players)
            end = {"ranks": {0: 1, 1: 2} if rng.random() < 0.5 else {0: 2, 1: 1}}
        else:
            players = rng.sample(list(agents), 4)
            game_id = make_game(engine, types["Poker-v0"], players)
            end = {"rewards": {seat: float(rng.randint(-2, 3)) for seat in range(4)}}
        if rng.random() < 0.05:
            end["outcome"] = "no_contest"
        plans.append({"game_id": game_id, **end})
    return plans


def finish_plans_worker(
    database_url: str, plans: list[dict[str, Any]], start: Any, results: Any
) -> None:
    """Process entry point for the parallel test: wait for the others at `start` (a barrier),
    then finish and rate these games one by one; put the number rated on `results`."""
    from arenadb.config import load_settings
    from tests.support.contention import BUSY_TIMEOUT_ENV

    try:
        settings = load_settings(
            database_url, environ=dict(BUSY_TIMEOUT_ENV), cwd=Path("/nonexistent-arenadb-cwd")
        )
        engine = create_engine(settings, pooled=False)
        with engine.connect():  # connect (and import everything) before the race starts
            pass
        start.wait(timeout=120)
        rated = 0
        for plan in plans:
            plan = dict(plan)
            game_id = plan.pop("game_id")
            if finish_and_rate(engine, game_id, **plan):
                rated += 1
        engine.dispose()
        results.put(rated)
    except BaseException:
        start.abort()  # release the others at once instead of letting them time out
        results.put(None)
        raise
