"""Bradley-Terry maximum likelihood over pairwise results, with a side / seat advantage term and
bootstrap intervals: the batch leaderboard's statistics, with no database in sight.

Model: P(A on side s beats B on side t) = logistic(theta_A - theta_B + h_s - h_t), ties count as
half a win (the likelihood of a tie is the geometric mean of a win and a loss). A small ridge
penalty keeps the fit finite for agents that never lost (or never won) and fixes the free shift
of the thetas and of the side terms (only differences are identified); ratings are centred on
the pool's mean afterwards.

The fit is scipy's Newton-CG on the exact log-likelihood, its gradient and Hessian-vector
product. Why scipy and not evalica or choix: both fit agent strengths only, and neither takes a
covariate, so the side term (estimated jointly with the agents, which the board needs) cannot
be expressed.

Speed: results are collapsed to unique (A, B, side of A, side of B, score) rows with a weight,
as FastChat does (19 min -> 8 s there); a bootstrap round then resamples GAMES (the unit that is
independent: pairs of one 6-seat game share its outcome) and only re-weights those rows, and
each round starts from the full-data fit, so Newton needs few steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

# scipy is imported by the functions that fit, not here: it takes longer to import (about a
# second cold) than a stored board takes to read, and `agents top` serves a stored board
# without fitting anything.
if TYPE_CHECKING:
    from scipy import sparse

# Ratings are published on the Elo scale, as Chatbot Arena does: 400 points = 10:1 odds.
ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0
# Ridge strength (per parameter, in logit units; a N(0, 10^2) prior): negligible next to a few
# games of evidence, but it keeps the optimum finite and unique.
RIDGE = 0.01
DEFAULT_ROUNDS = 1000
DEFAULT_SEED = 17
CONFIDENCE = 0.95
# Refit every bootstrap round while rows x rounds stays below this (a second or so of work);
# larger tables take the linearised bootstrap (within a few Elo points of refits, see tests).
REFIT_LIMIT = 250_000
# An interval narrower than this (Elo points) is degenerate: the rounds did not vary.
MIN_WIDTH = 1e-6
CHUNK = 64  # bootstrap rounds resampled at once (a rows x CHUNK weight matrix)


@dataclass(frozen=True)
class Comparison:
    """One opponent pair of one game: `score` is A's result against B (1, 0.5 or 0)."""

    game: int  # index of the game (0..games-1), the unit a bootstrap resamples
    agent_a: int
    side_a: str
    agent_b: int
    side_b: str
    score: float
    weight: float


@dataclass(frozen=True)
class PairTable:
    """Comparisons collapsed to unique rows; `by_game` maps game counts to row weights."""

    agents: tuple[int, ...]  # agent ids; index = position in theta
    sides: tuple[str, ...]  # side / seat labels; index = position after the thetas
    a: np.ndarray  # row -> agent index
    b: np.ndarray
    side_a: np.ndarray  # row -> side index
    side_b: np.ndarray
    score: np.ndarray  # A's score: 1, 0.5 or 0
    by_game: sparse.csr_matrix  # rows x games: weight each game gives each row
    games: int

    @property
    def weights(self) -> np.ndarray:
        """Row weights of the whole data set (every game once)."""
        return np.asarray(self.by_game.sum(axis=1)).ravel()


def collapse(comparisons: Sequence[Comparison], games: int) -> PairTable:
    """Unique (A, B, side A, side B, score) rows, A before B in agent order."""
    from scipy import sparse

    agents = sorted({c.agent_a for c in comparisons} | {c.agent_b for c in comparisons})
    sides = sorted({c.side_a for c in comparisons} | {c.side_b for c in comparisons})
    agent_index = {a: i for i, a in enumerate(agents)}
    side_index = {s: i for i, s in enumerate(sides)}
    count = len(comparisons)
    a = np.empty(count, np.int64)
    b = np.empty(count, np.int64)
    sa = np.empty(count, np.int64)
    sb = np.empty(count, np.int64)
    score2 = np.empty(count, np.int64)  # twice the score: 0, 1 or 2
    game = np.empty(count, np.int64)
    weight = np.empty(count, np.float64)
    for i, c in enumerate(comparisons):
        ia, ib, xa, xb, s = (
            agent_index[c.agent_a],
            agent_index[c.agent_b],
            side_index[c.side_a],
            side_index[c.side_b],
            round(2 * c.score),
        )
        if ia > ib:  # canonical order, so A-beats-B and B-loses-to-A collapse into one row
            ia, ib, xa, xb, s = ib, ia, xb, xa, 2 - s
        a[i], b[i], sa[i], sb[i], score2[i] = ia, ib, xa, xb, s
        game[i], weight[i] = c.game, c.weight
    n_agents, n_sides = max(len(agents), 1), max(len(sides), 1)
    key = (((a * n_agents + b) * n_sides + sa) * n_sides + sb) * 3 + score2
    unique, row = np.unique(key, return_inverse=True)
    by_game = sparse.csr_matrix((weight, (row.ravel(), game)), shape=(len(unique), max(games, 1)))
    by_game.sum_duplicates()
    rest, s2 = np.divmod(unique, 3)
    rest, usb = np.divmod(rest, n_sides)
    rest, usa = np.divmod(rest, n_sides)
    ua, ub = np.divmod(rest, n_agents)
    return PairTable(
        tuple(agents), tuple(sides), ua, ub, usa, usb, s2 / 2.0, by_game, max(games, 1)
    )


def _objective(
    x: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    score: np.ndarray,
    w: np.ndarray,
    size: int,
) -> tuple[float, np.ndarray]:
    """Negative penalised log-likelihood and its gradient; `ia`/`ib` index x (agents and sides
    both: a row's logit is x[A] + x[side A] - x[B] - x[side B])."""
    z = x[ia[0]] + x[ia[1]] - x[ib[0]] - x[ib[1]]
    # log(1 + e^z) and the logistic from one exp(-|z|): stable, and numpy's exp is several
    # times faster than logaddexp / expit on large arrays.
    e = np.exp(-np.abs(z))
    softplus = np.log1p(e) + np.maximum(z, 0.0)
    loss = float(w @ (softplus - score * z)) + 0.5 * RIDGE * float(x @ x)
    p = np.where(z >= 0, 1.0, e) / (1.0 + e)
    g = w * (p - score)
    grad = (
        np.bincount(ia[0], g, size)
        + np.bincount(ia[1], g, size)
        - np.bincount(ib[0], g, size)
        - np.bincount(ib[1], g, size)
        + RIDGE * x
    )
    return loss, grad


@dataclass(frozen=True)
class Fit:
    """Centred thetas (logit units, mean 0 over agents) and side terms relative to side 0."""

    theta: np.ndarray
    side: np.ndarray  # h_s - h_0
    raw: np.ndarray  # the optimiser's vector (a warm start for the next fit)


def fit(
    table: PairTable, weights: np.ndarray | None = None, start: np.ndarray | None = None
) -> Fit:
    """The Bradley-Terry maximum (penalised) likelihood fit of `table` under row `weights`.

    scipy's Newton-CG with the exact Hessian-vector product: ~10 Newton steps where L-BFGS-B
    takes ~100 on a 900-agent pool (and stops short of the optimum), because the Hessian of a
    sparse comparison graph is badly conditioned.
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    n, k = len(table.agents), len(table.sides)
    size = n + k
    w = table.weights if weights is None else weights
    keep = w > 0  # a bootstrap round leaves about a third of the rows out: skip them
    ia = np.stack([table.a[keep], n + table.side_a[keep]])
    ib = np.stack([table.b[keep], n + table.side_b[keep]])
    score, w = table.score[keep], w[keep]
    x0 = np.zeros(size) if start is None else start
    curvature_at: dict[str, np.ndarray] = {}

    def hessp(x: np.ndarray, v: np.ndarray, *_args: object) -> np.ndarray:
        if curvature_at.get("x") is None or not np.array_equal(curvature_at["x"], x):
            p = expit(x[ia[0]] + x[ia[1]] - x[ib[0]] - x[ib[1]])
            curvature_at["x"], curvature_at["c"] = x.copy(), w * p * (1 - p)
        c = curvature_at["c"] * (v[ia[0]] + v[ia[1]] - v[ib[0]] - v[ib[1]])
        return (
            np.bincount(ia[0], c, size)
            + np.bincount(ia[1], c, size)
            - np.bincount(ib[0], c, size)
            - np.bincount(ib[1], c, size)
            + RIDGE * v
        )

    result = minimize(
        _objective, x0, args=(ia, ib, score, w, size), jac=True, hessp=hessp, method="Newton-CG"
    )
    x = result.x
    theta = x[:n] - x[:n].mean()
    side = x[n:] - x[n] if k else x[n:]
    return Fit(theta, side, x)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class BootstrapResult:
    """The full-data fit, the bootstrap draws, and percentile intervals, all on the Elo scale."""

    agents: tuple[int, ...]
    sides: tuple[str, ...]
    ratings: list[Interval]  # per agent
    side_terms: list[Interval]  # per side, relative to sides[0] (its own term is 0)
    draws: np.ndarray  # rounds x agents: centred Elo ratings of each round
    side_draws: np.ndarray  # rounds x sides: Elo side terms of each round, relative to side 0
    rounds: int
    seed: int
    refit: bool  # every round refitted (True) or one Newton step (False)


def bootstrap(
    table: PairTable,
    *,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    refit: bool | None = None,
    strata: np.ndarray | None = None,
) -> BootstrapResult:
    """Fit once on all games, then `rounds` times on games resampled with replacement (a seeded
    numpy Generator: the same seed gives the same intervals); 95% percentile intervals.

    `refit`: True refits every round (exact, a few Newton steps a round); False takes one
    Newton step from the full-data fit with its Hessian (the linearised bootstrap: the same
    resampled games, first-order accurate, all rounds in a few matrix products); None (default)
    refits when the table is small enough to do so quickly.

    `strata` (game index -> stratum, e.g. its game type): resample within each stratum, so that
    every stratum keeps its number of games in every round.
    """
    best = fit(table)
    if refit is None:
        refit = len(table.score) * rounds <= REFIT_LIMIT
    rng = np.random.default_rng(seed)
    n = len(table.agents)
    theta_draws = np.empty((rounds, n))
    side_draws = np.empty((rounds, len(table.sides)))
    step = None if refit else _newton_step(table, best.raw)
    groups = None if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    for first in range(0, rounds, CHUNK):
        size = min(CHUNK, rounds - first)
        if groups is None:
            picks = rng.integers(0, table.games, size=(size, table.games))
        else:
            picks = np.concatenate(
                [g[rng.integers(0, len(g), size=(size, len(g)))] for g in groups], axis=1
            )
        picks += (np.arange(size) * table.games)[:, None]  # one bincount for every round
        counts = np.bincount(picks.ravel(), minlength=size * table.games)
        weights = np.asarray(table.by_game @ counts.reshape(size, table.games).T)
        if step is not None:
            raw = (best.raw[:, None] - step(weights)).T
            theta_draws[first : first + size] = raw[:, :n] - raw[:, :n].mean(axis=1)[:, None]
            side_draws[first : first + size] = raw[:, n:] - raw[:, n : n + 1]
            continue
        for j in range(size):
            round_fit = fit(table, weights[:, j], best.raw)
            theta_draws[first + j] = round_fit.theta
            side_draws[first + j] = round_fit.side
    tail = (1 - CONFIDENCE) / 2 * 100
    return BootstrapResult(
        agents=table.agents,
        sides=table.sides,
        ratings=_intervals(best.theta, theta_draws, tail, ELO_BASE),
        side_terms=_intervals(best.side, side_draws, tail, 0.0),
        draws=ELO_BASE + ELO_SCALE * theta_draws,
        side_draws=ELO_SCALE * side_draws,
        rounds=rounds,
        seed=seed,
        refit=refit,
    )


def _newton_step(table: PairTable, x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """For row weights W (rows x rounds): H^-1 g of every round at `x`, where g is the round's
    gradient and H the full-data Hessian (factored once)."""
    from scipy import sparse
    from scipy.linalg import cho_factor, cho_solve
    from scipy.special import expit

    n, k = len(table.agents), len(table.sides)
    rows = len(table.score)
    index = np.arange(rows)
    design = sparse.csr_matrix(
        (
            np.repeat([1.0, 1.0, -1.0, -1.0], rows),
            (
                np.tile(index, 4),
                np.concatenate([table.a, n + table.side_a, table.b, n + table.side_b]),
            ),
        ),
        shape=(rows, n + k),
    )
    p = expit(design @ x)
    curvature = table.weights * p * (1 - p)
    hessian = (design.T @ sparse.diags(curvature) @ design).toarray() + RIDGE * np.eye(n + k)
    factor = cho_factor(hessian)
    residual = p - table.score
    design_t = design.T.tocsr()

    def step(weights: np.ndarray) -> np.ndarray:
        gradients = design_t @ (residual[:, None] * weights) + RIDGE * x[:, None]
        return np.asarray(cho_solve(factor, gradients))

    return step


def _intervals(estimate: np.ndarray, draws: np.ndarray, tail: float, base: float) -> list[Interval]:
    if not len(estimate):
        return []
    if len(draws):
        low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    else:
        low = high = estimate
    return [
        Interval(base + ELO_SCALE * e, base + ELO_SCALE * lo, base + ELO_SCALE * hi)
        for e, lo, hi in zip(estimate, low, high, strict=True)
    ]


def win_probability(rating_difference: float) -> float:
    """P(A beats B) for A rated `rating_difference` Elo points above B."""
    from scipy.special import expit

    return float(expit(rating_difference / ELO_SCALE))


def is_identified(interval: Interval) -> bool:
    """False for a degenerate bootstrap interval: zero width (every round refitted the same data,
    as in a pool of one game) or not finite. Such an interval says nothing about the rating."""
    width = interval.high - interval.low
    return math.isfinite(width) and width > MIN_WIDTH


def tier_ranks(intervals: Sequence[Interval | None]) -> list[int | None]:
    """1 + the number of agents whose lower bound is above this one's upper bound.

    An unknown interval (None) gets no tier and does not count in anyone else's.
    """
    lows = np.sort(np.array([i.low for i in intervals if i is not None]))
    return [
        None if i is None else 1 + int(len(lows) - np.searchsorted(lows, i.high, side="right"))
        for i in intervals
    ]
