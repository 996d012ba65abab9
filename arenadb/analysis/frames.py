"""The analysis tables as pandas data frames, straight from the database, read in chunks.

    import arenadb.analysis as aa
    games = aa.games_df("sqlite:///arena.db", status="completed")
    calls = aa.llm_calls_df(arena, game_type="SecretMafia-v0", since="30d")

Like Inspect AI's `evals_df` for its logs: one row per record, the columns of
`arenadb.analysis.tables` (JSON as text: `pd.json_normalize` or `json.loads` it). The filters
are the ones of `games list` / `export` (status, game_type, agent, model, since, until, limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Engine

from arenadb.analysis.deps import require
from arenadb.analysis.tables import (
    CHILDREN,
    GAMES,
    RATINGS,
    TABLES,
    AnalysisTable,
    child_rows,
    game_chunks,
    rating_rows,
)
from arenadb.inspection.filters import GameFilter, parse_when

Source = Any  # an Arena, an Engine, Settings, or a database URL


def _engine(source: Source) -> tuple[Engine, bool]:
    """(engine, whether this call made it and must dispose of it)."""
    if isinstance(source, Engine):
        return source, False
    engine = getattr(source, "engine", None)
    if isinstance(engine, Engine):
        return engine, False
    from arenadb.config import Settings, load_settings
    from arenadb.db import create_engine

    settings = source if isinstance(source, Settings) else load_settings(source)
    return create_engine(settings, pooled=False), True


def _filters(filters: GameFilter | None, options: dict[str, Any]) -> GameFilter:
    if filters is not None and options:
        raise TypeError("pass either a GameFilter or filter keywords, not both")
    if filters is not None:
        return filters
    for key in ("since", "until"):
        if isinstance(options.get(key), str):
            options[key] = parse_when(options[key])
    return GameFilter(**options)


def iter_chunks(
    name: str,
    source: Source,
    filters: GameFilter | None = None,
    *,
    chunk_games: int = 500,
    **options: Any,
) -> Iterator[Any]:
    """One data frame per chunk of games for table `name` (see `arenadb.analysis.tables`)."""
    pd = require("pandas")
    spec = TABLES[name]
    chosen = _filters(filters, options)
    engine, owned = _engine(source)
    try:
        with engine.connect() as conn:
            if spec is RATINGS:
                yield pd.DataFrame(rating_rows(conn, _type_id(conn, chosen)), columns=spec.columns)
                return
            for games in game_chunks(conn, chosen, chunk_games=chunk_games):
                rows = games if spec is GAMES else child_rows(conn, spec, games)
                yield pd.DataFrame(rows, columns=list(spec.columns))
    finally:
        if owned:
            engine.dispose()


def _type_id(conn: Any, filters: GameFilter) -> int | None:
    if filters.game_type is None:
        return None
    from arenadb.catalog.refs import resolve_game_type_id

    return resolve_game_type_id(conn, filters.game_type)


def frame(name: str, source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    """The whole table `name` as one data frame (read in chunks, then concatenated)."""
    pd = require("pandas")
    chunks = list(iter_chunks(name, source, filters, **options))
    spec: AnalysisTable = TABLES[name]
    if not chunks:
        return pd.DataFrame(columns=list(spec.columns))
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def games_df(source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    """Games that match, one row each."""
    return frame("games", source, filters, **options)


def players_df(source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    """The seats of the games that match: agent, side, role, reward, rank, invalid moves."""
    return frame("players", source, filters, **options)


def turns_df(source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    return frame("turns", source, filters, **options)


def actions_df(source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    return frame("actions", source, filters, **options)


def llm_calls_df(source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    """The LLM calls of the games that match: tokens of each kind, cost, latency, status."""
    return frame("llm_calls", source, filters, **options)


def rating_events_df(source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    return frame("rating_events", source, filters, **options)


def ratings_df(source: Source, filters: GameFilter | None = None, **options: Any) -> Any:
    """The current ratings (of the filter's game type, or all)."""
    return frame("ratings", source, filters, **options)


__all__ = [
    "CHILDREN",
    "actions_df",
    "frame",
    "games_df",
    "iter_chunks",
    "llm_calls_df",
    "players_df",
    "rating_events_df",
    "ratings_df",
    "turns_df",
]
