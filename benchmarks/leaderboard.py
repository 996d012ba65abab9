"""Seconds for a Bradley-Terry board with 1,000 bootstrap rounds on a MindGames-paper-sized arena
(about 30,000 games among 900 agents), against the library's own fit in the same run.

Games are generated in memory with known skills (1v1 games with a seat advantage, and 6-seat
4-vs-2 team games with a side advantage: two game types, two boards) and go through the board's
own reduction (`reduce_games`), collapse and bootstrap, so no database time is counted (reading
the games is `load_rated_history`, which `ratings rebuild` already benchmarks). Timed:

- fit: one scipy L-BFGS fit of all the games (what every round of a naive bootstrap costs);
- board: reduction + collapse + the full-data fit + 1,000 bootstrap rounds (the default
  bootstrap for a table this size: one Newton step a round from the full-data fit);
- refit: the exact bootstrap (every round refitted), timed on a few rounds and scaled to 1,000
  (an upper estimate: the timed rounds include one full-data fit).

Prints `board_seconds=...` and `board_vs_fit=X` last: the whole 1,000-round board costs X single
fits (the naive bootstrap costs 1,000).

    python benchmarks/leaderboard.py [--games 30000] [--agents 900] [--rounds 1000]
"""

from __future__ import annotations

import argparse
import math
import random
import time

from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board import reduce_games
from arenadb.ratings.replay import RatedGame
from arenadb.ratings.systems import Seat


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def duel_games(skills: list[float], count: int, rng: random.Random) -> list[RatedGame]:
    games = []
    for game_id in range(count):
        a, b = rng.sample(range(len(skills)), 2)
        first = rng.random() < logistic(skills[a] - skills[b] + 0.3)
        seats = [Seat(0, a, None, 1 if first else 2), Seat(1, b, None, 2 if first else 1)]
        games.append(RatedGame(game_id, 1, "win", None, seats))
    return games


def team_games(skills: list[float], count: int, rng: random.Random) -> list[RatedGame]:
    games = []
    for game_id in range(count):
        picked = rng.sample(range(len(skills)), 6)
        edge = sum(skills[p] for p in picked[4:]) / 2 - sum(skills[p] for p in picked[:4]) / 4
        won = "mafia" if rng.random() < logistic(edge + 0.4) else "village"
        seats = [Seat(i, p, "village" if i < 4 else "mafia") for i, p in enumerate(picked)]
        games.append(RatedGame(game_id, 2, "win", won, seats))
    return games


def board(games: list[RatedGame], rounds: int, refit: bool | None) -> tuple[float, bt.PairTable]:
    """Seconds for the whole board of `games`: reduction, collapse, fit, bootstrap."""
    started = time.perf_counter()
    comparisons, _records, game_ids = reduce_games(games, "draw")
    table = bt.collapse(comparisons, len(game_ids))
    bt.bootstrap(table, rounds=rounds, refit=refit)
    return time.perf_counter() - started, table


def one_fit(table: bt.PairTable) -> float:
    """Seconds for one scipy fit of the whole table."""
    started = time.perf_counter()
    bt.fit(table)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=30_000)
    parser.add_argument("--agents", type=int, default=900)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--refit-rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(2026)
    skills = [rng.gauss(0.0, 1.0) for _ in range(args.agents)]
    pools = {
        "1v1 (seat term)": duel_games(skills, args.games * 5 // 6, rng),
        "4v2 teams (side term)": team_games(skills, args.games // 6, rng),
    }
    total_board = total_fit = 0.0
    for name, games in pools.items():
        board_seconds, table = board(games, args.rounds, None)
        fit_seconds = one_fit(table)
        # The exact bootstrap (every round refitted), timed on a few rounds of the collapsed table
        # alone. Its one full-data fit is counted in, so the scaled figure is an upper estimate;
        # a difference of two noisy timings could come out negative on a busy machine.
        started = time.perf_counter()
        bt.bootstrap(table, rounds=args.refit_rounds, refit=True)
        refit_seconds = time.perf_counter() - started
        print(
            f"{name}: {len(games)} games, {len(table.score)} collapsed rows; "
            f"one fit {fit_seconds:.2f}s; board with {args.rounds} rounds {board_seconds:.2f}s; "
            f"exact refit bootstrap <= {refit_seconds / args.refit_rounds * args.rounds:.0f}s "
            f"(scaled from {args.refit_rounds} rounds)"
        )
        total_board += board_seconds
        total_fit += fit_seconds
    print(f"board_seconds={total_board:.2f}")
    print(f"board_vs_fit={total_board / total_fit:.1f}")


if __name__ == "__main__":
    main()
