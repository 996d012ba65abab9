"""Games per second of `ratings rebuild` against the bare rating libraries on the same games.

Generates synthetic finished games (6-seat 4-vs-2 team games and 2-player games) in a temporary
SQLite database (and in a throwaway PostgreSQL database when ARENADB_BENCH_POSTGRES_URL names a
server; it is created and dropped here), then times, in the same run:

- library: `trueskill` and `openskill` alone, rating the same games in memory (both systems,
  overall and per game type, with the same side weights), no database at all;
- rebuild: `arenadb.ratings.book.rebuild_ratings` (load history, delete, rate, write every rating
  and rating event in one transaction).

It checks that both computed the same ratings, and prints `rebuild_vs_library=X` last (the
goal is X >= 0.7: the database costs at most 30% of the rating math).

    python benchmarks/ratings.py [--games 2000] [--agents 40] [--repeat 2]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from arenadb.config import Settings, load_settings
from arenadb.db import create_database, create_engine, drop_database, write_transaction
from arenadb.models import Agent, AgentKind, Game, GamePlayer, GameType, LLMModel, Prompt, Rating
from arenadb.ratings.book import rebuild_ratings
from arenadb.schema.migrations import upgrade
from arenadb.urls import parse_url

MAFIA = "SecretMafia-v0"
BLOTTO = "ColonelBlotto-v0"


def settings_for(url: str) -> Settings:
    return load_settings(url, environ={}, cwd=Path("/nonexistent-arenadb-cwd"))


def synthetic_games(count: int, agents: int, seed: int = 1) -> list[dict[str, Any]]:
    """Finished games: 60% mafia (4 village vs 2 mafia), 40% blotto (1 vs 1, ranked)."""
    rng = random.Random(seed)
    games = []
    for _ in range(count):
        if rng.random() < 0.6:
            players = rng.sample(range(1, agents + 1), 6)
            sides = ["village"] * 4 + ["mafia"] * 2
            games.append(
                {
                    "type": MAFIA,
                    "winning_side": rng.choice(["village", "mafia"]),
                    "seats": [(s, a, sides[s], None) for s, a in enumerate(players)],
                }
            )
        else:
            players = rng.sample(range(1, agents + 1), 2)
            first = rng.choice([1, 2])
            ranks = [first, 3 - first]
            games.append(
                {
                    "type": BLOTTO,
                    "winning_side": None,
                    "seats": [(s, a, None, ranks[s]) for s, a in enumerate(players)],
                }
            )
    return games


def populate(settings: Settings, games: list[dict[str, Any]], agents: int) -> None:
    """A migrated database holding the agents and the finished games (bulk inserts)."""
    create_database(settings, if_not_exists=True)
    upgrade(settings, "head")
    engine = create_engine(settings, pooled=False)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    try:
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(AgentKind), [{"id": 1, "name": "bench"}])
            text = "You are a benchmark agent."
            conn.execute(
                sa.insert(Prompt),
                [{"id": 1, "name": "bench", "content": text, "sha256": _sha(text)}],
            )
            conn.execute(
                sa.insert(LLMModel), [{"id": i, "name": f"model-{i}"} for i in range(1, agents + 1)]
            )
            conn.execute(
                sa.insert(Agent),
                [
                    {"id": i, "kind_id": 1, "model_id": i, "prompt_id": 1, "alias": f"agent-{i}"}
                    for i in range(1, agents + 1)
                ],
            )
            conn.execute(
                sa.insert(GameType),
                [
                    {"id": 1, "env_id": MAFIA, "min_seats": 6, "max_seats": 6},
                    {"id": 2, "env_id": BLOTTO, "min_seats": 2, "max_seats": 2},
                ],
            )
            conn.execute(
                sa.insert(Game),
                [
                    {
                        "id": gid,
                        "uuid": uuid.uuid4(),
                        "game_type_id": 1 if g["type"] == MAFIA else 2,
                        "status": "completed",
                        "outcome": "win",
                        "winning_side": g["winning_side"],
                        "rated": True,
                        "started_at": start + timedelta(minutes=gid),
                        "finished_at": start + timedelta(minutes=gid, seconds=30),
                    }
                    for gid, g in enumerate(games, 1)
                ],
            )
            conn.execute(
                sa.insert(GamePlayer),
                [
                    {"game_id": gid, "seat": s, "agent_id": a, "side": side, "rank": rank}
                    for gid, g in enumerate(games, 1)
                    for s, a, side, rank in g["seats"]
                ],
            )
            if engine.dialect.name == "postgresql":
                for table in ("games", "agents", "llm_models", "game_types"):
                    conn.exec_driver_sql(
                        f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(select max(id) from {table}))"
                    )
    finally:
        engine.dispose()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def library_only(games: list[dict[str, Any]]) -> dict[tuple[str, int | None, int], tuple]:
    """The same rating updates with the bare libraries, in memory: no arenadb code at all."""
    import trueskill
    from openskill.models import PlackettLuce

    env = trueskill.TrueSkill()
    model = PlackettLuce()
    unscaled = PlackettLuce(tau=0.0)  # weighted games add tau themselves (see rating_systems)
    tau2 = model.tau**2
    ts: dict[tuple[int | None, int], Any] = {}
    os_: dict[tuple[int | None, int], tuple[float, float]] = {}
    for g in games:
        game_type = 1 if g["type"] == MAFIA else 2
        if g["type"] == MAFIA:
            teams = [
                [a for _, a, side, _ in g["seats"] if side == "village"],
                [a for _, a, side, _ in g["seats"] if side == "mafia"],
            ]
            ranks = [1, 2] if g["winning_side"] == "village" else [2, 1]
            weights = [0.5, 1.0]
        else:
            teams = [[a] for _, a, _, _ in g["seats"]]
            ranks = [r for _, _, _, r in g["seats"]]
            weights = [1.0, 1.0]
        for scope in (None, game_type):
            groups = [[ts.get((scope, a)) or env.create_rating() for a in t] for t in teams]
            partial = (
                None
                if weights == [1.0, 1.0]
                else [[w] * len(t) for w, t in zip(weights, teams, strict=True)]
            )
            for t, new in zip(teams, env.rate(groups, ranks=ranks, weights=partial), strict=True):
                for a, r in zip(t, new, strict=True):
                    ts[(scope, a)] = r
            current = [[os_.get((scope, a), (model.mu, model.sigma)) for a in t] for t in teams]
            if weights == [1.0, 1.0]:
                rated = model.rate(
                    [[model.rating(mu=m, sigma=s) for m, s in t] for t in current], ranks=ranks
                )
                for t, new in zip(teams, rated, strict=True):
                    for a, r in zip(t, new, strict=True):
                        os_[(scope, a)] = (r.mu, r.sigma)
            else:
                scaled = [
                    [unscaled.rating(mu=m * w, sigma=math.sqrt(s * s + tau2) * w) for m, s in t]
                    for w, t in zip(weights, current, strict=True)
                ]
                rated = unscaled.rate(scaled, ranks=ranks)
                for w, t, cur, new in zip(weights, teams, current, rated, strict=True):
                    for a, (m, _), r in zip(t, cur, new, strict=True):
                        os_[(scope, a)] = (m + (r.mu - m * w) / w, r.sigma / w)
    result: dict[tuple[str, int | None, int], tuple] = {}
    for (scope, a), r in ts.items():
        result[("trueskill", scope, a)] = (r.mu, r.sigma)
    for (scope, a), (m, s) in os_.items():
        result[("openskill", scope, a)] = (m, s)
    return result


def stored_ratings(settings: Settings) -> dict[tuple[str, int | None, int], tuple]:
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    Rating.system, Rating.game_type_id, Rating.agent_id, Rating.mu, Rating.sigma
                )
            )
            return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}
    finally:
        engine.dispose()


def interleaved_best(repeat: int, runs: list[Any]) -> list[float]:
    """Best wall time of each callable, run in turn (a shared machine's load hits all alike)."""
    best = [math.inf] * len(runs)
    for _ in range(repeat):
        for index, run in enumerate(runs):
            start = time.perf_counter()
            run()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def bench_backend(label: str, settings: Settings, games: list, agents: int, repeat: int) -> float:
    populate(settings, games, agents)
    engine = create_engine(settings, pooled=False)
    try:
        library_seconds, rebuild_seconds = interleaved_best(
            repeat, [lambda: library_only(games), lambda: rebuild_ratings(engine)]
        )
    finally:
        engine.dispose()
    expected = library_only(games)
    stored = stored_ratings(settings)
    same = stored.keys() == expected.keys() and all(
        abs(stored[k][0] - expected[k][0]) <= 1e-9 and abs(stored[k][1] - expected[k][1]) <= 1e-9
        for k in expected
    )
    n = len(games)
    ratio = library_seconds / rebuild_seconds
    print(
        f"{label}: {n} games; library {n / library_seconds:,.0f} games/s "
        f"({library_seconds:.3f}s); rebuild {n / rebuild_seconds:,.0f} games/s "
        f"({rebuild_seconds:.3f}s); ratio {ratio:.2f}; same ratings: {same}"
    )
    if not same:
        raise SystemExit(f"{label}: rebuild and library disagree")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    args = parser.parse_args()
    games = synthetic_games(args.games, args.agents)
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite = settings_for(f"sqlite:///{Path(folder) / 'bench.db'}")
        ratios.append(bench_backend("sqlite", sqlite, games, args.agents, args.repeat))
    pg_url = os.environ.get("ARENADB_BENCH_POSTGRES_URL")
    if pg_url:
        name = f"arenadb_bench_{uuid.uuid4().hex[:12]}"
        pg = settings_for(parse_url(pg_url).with_database(name).render())
        try:
            ratios.append(bench_backend("postgresql", pg, games, args.agents, args.repeat))
        finally:
            drop_database(pg, missing_ok=True)
    else:
        print(
            "postgresql: skipped (set ARENADB_BENCH_POSTGRES_URL to a server URL)", file=sys.stderr
        )
    print(f"rebuild_vs_library={min(ratios):.2f}")


if __name__ == "__main__":
    main()
