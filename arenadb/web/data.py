"""What each page shows: the library's read functions, called as the CLI calls them.

The JSON twin of a page is `plain(...)` of the same value the CLI's `--json` prints (one
serializer: `arenadb.cli.render.json.to_plain`). Two reads cost more than a page may (the
Bradley-Terry boards refit a bootstrap; the model usage reads every LLM call; an agent's
trajectory reads all its rating events): they are kept, with their JSON value, in a
small cache keyed on the query and on a fingerprint of the database (the largest id of games,
rating events and LLM calls: three index look-ups per request), so a page is computed again as
soon as a game, a rating change or a call is added, and served from memory otherwise.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.cli.options import COUNT_MAX, SEED_MAX
from arenadb.cli.render.json import to_plain
from arenadb.errors import InvalidArgumentError
from arenadb.inspection.filters import GameFilter, parse_when
from arenadb.limits import DEFAULT_LIMIT, MAX_LIMIT
from arenadb.models import Game, LLMCall, RatingEvent

# The bounds of each query-string value are its CLI option's (arenadb.cli.options), except that
# the web caps what one request may make the server compute (the CLI's own default is 1,000).
MAX_ROUNDS = 5_000
CACHE_ENTRIES = 64


def plain(value: Any) -> Any:
    """The JSON value of a page: exactly what the CLI's --json prints."""
    return to_plain(value)


def fingerprint(engine: Engine) -> tuple[Any, ...]:
    """Changes whenever a game, a rating event or an LLM call is added (primary-key maxima)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                sa.select(sa.func.max(Game.id)).scalar_subquery(),
                sa.select(sa.func.max(RatingEvent.id)).scalar_subquery(),
                sa.select(sa.func.max(LLMCall.id)).scalar_subquery(),
            )
        ).one()
    return tuple(row)


class PageCache:
    """Results of slow reads by key, valid while the database fingerprint is unchanged.

    A burst of requests for one cold key computes it once; other keys are not held up.
    """

    def __init__(self, engine: Engine, entries: int = CACHE_ENTRIES) -> None:
        self.engine = engine
        self.entries = entries
        self._values: OrderedDict[Hashable, tuple[tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()  # guards the two dicts
        self._computing: dict[Hashable, threading.Lock] = {}  # one per key being computed

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        current = fingerprint(self.engine)
        with self._lock:
            hit = self._values.get(key)
            if hit is not None and hit[0] == current:
                self._values.move_to_end(key)
                return hit[1]
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:  # a burst of requests for one cold key computes it once
            with self._lock:
                hit = self._values.get(key)
                if hit is not None and hit[0] == current:
                    return hit[1]
            value = compute()
            with self._lock:
                self._values[key] = (current, value)
                self._values.move_to_end(key)
                while len(self._values) > self.entries:
                    self._values.popitem(last=False)
                self._computing.pop(key, None)
            return value


# ----------------------------------------------------------------------------- query strings


def _one(query: dict[str, str], name: str) -> str | None:
    value = query.get(name)
    return value if value not in (None, "") else None


def query_int(
    query: dict[str, str], name: str, default: int | None, *, low: int = 0, high: int | None = None
) -> int | None:
    """An integer parameter (the CLI option of the same name), checked as the CLI checks it."""
    text = _one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgumentError(f"{name} must be an integer, not {text[:40]!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidArgumentError(f"{name} must be {bound}, not {value}")
    return value


def query_flag(query: dict[str, str], name: str) -> bool:
    return (_one(query, name) or "").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class GamesQuery:
    """`/games?...`: the options of `arenadb games list`, under the same names."""

    status: str | None
    type: str | None
    agent: str | None
    model: str | None
    since: str | None
    until: str | None
    limit: int
    offset: int

    @classmethod
    def parse(cls, query: dict[str, str]) -> GamesQuery:
        return cls(
            status=_one(query, "status"),
            type=_one(query, "type"),
            agent=_one(query, "agent"),
            model=_one(query, "model"),
            since=_one(query, "since"),
            until=_one(query, "until"),
            limit=query_int(query, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT) or DEFAULT_LIMIT,
            offset=query_int(query, "offset", 0, high=COUNT_MAX) or 0,
        )

    def game_filter(self) -> GameFilter:
        return GameFilter(
            status=self.status,
            game_type=self.type,
            agent=self.agent,
            model=self.model,
            since=parse_when(self.since) if self.since else None,
            until=parse_when(self.until) if self.until else None,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this list (or of a neighbouring page), without defaults."""
        values = {**self.__dict__, **changes}
        defaults = {"limit": DEFAULT_LIMIT, "offset": 0}
        return {k: str(v) for k, v in values.items() if v is not None and defaults.get(k) != v}


@dataclass(frozen=True)
class BoardQuery:
    """`/leaderboard/...?...`: the options of `arenadb agents top` (bt), same names, defaults."""

    min_games: int
    limit: int
    rounds: int
    seed: int
    provisional_games: int | None

    def params(self) -> dict[str, str]:
        """The query string of these options, without the defaults."""
        defaults = BoardQuery.parse({})
        return {k: str(v) for k, v in self.__dict__.items() if getattr(defaults, k) != v}

    @classmethod
    def parse(cls, query: dict[str, str]) -> BoardQuery:
        return cls(
            min_games=query_int(query, "min_games", 1, high=COUNT_MAX) or 0,
            limit=query_int(query, "limit", 20, low=1, high=MAX_LIMIT) or 20,
            rounds=query_int(query, "rounds", 1000, low=1, high=MAX_ROUNDS) or 1000,
            seed=query_int(query, "seed", 17, high=SEED_MAX) or 0,
            provisional_games=query_int(query, "provisional_games", None, high=COUNT_MAX),
        )


@dataclass(frozen=True)
class Cached:
    """A slow read's result and its JSON value, converted once."""

    value: Any
    plain: Any


def _cached(cache: PageCache, key: Hashable, compute: Callable[[], Any]) -> Cached:
    def both() -> Cached:
        value = compute()
        return Cached(value, plain(value))

    result: Cached = cache.get(key, both)
    return result


def boards(cache: PageCache, engine: Engine, game_type: str | None, options: BoardQuery) -> Cached:
    """`arenadb agents top [-g TYPE] --json`'s boards (cached while the data is unchanged)."""
    from arenadb.ratings.board import bradley_terry_boards

    def compute() -> list[Any]:
        return bradley_terry_boards(
            engine,
            game_type=game_type,
            rounds=options.rounds,
            seed=options.seed,
            provisional_games=options.provisional_games,
            min_games=options.min_games,
            limit=options.limit,
        )

    return _cached(cache, ("boards", game_type, options), compute)


def agent(cache: PageCache, engine: Engine, ref: str, system: str, recent: int) -> Cached:
    """`arenadb agent info REF --json` (its trajectory reads every rating event of the agent)."""
    from arenadb.ratings.leaderboard import agent_profile

    return _cached(
        cache,
        ("agent", ref, system, recent),
        lambda: agent_profile(engine, ref, system=system, recent=recent),
    )


def models(cache: PageCache, engine: Engine) -> tuple[Cached, Cached]:
    """`arenadb models stats --json`'s rows, and the usage per day the charts draw."""
    from arenadb.inspection.daily import daily_usage
    from arenadb.inspection.usage import models_stats

    stats = _cached(cache, ("models",), lambda: models_stats(engine))
    days = _cached(cache, ("daily",), lambda: daily_usage(engine))
    return stats, days
