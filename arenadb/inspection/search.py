"""Search across the record: the turns, conversation messages, LLM responses and knowledge chunks
that contain some words, best first, each with its matching snippet and the game / turn it
belongs to (`arenadb search`).

Every word must occur (the text is words, never query syntax: see `arenadb.db.fulltext`). The
index is PostgreSQL's full-text search (GIN, ranked by ts_rank, snippets by ts_headline) or
SQLite's FTS5 (ranked by bm25, snippets by snippet()); a score is comparable within one backend
only. Games are narrowed by THE game filter (`arenadb.inspection.filters`) and one game is named
through THE resolver (`arenadb.catalog.refs`).

    from arenadb.inspection.search import search
    hits = search(engine, "eliminated", within=["turns"], filters=GameFilter(since=since))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.catalog.refs import GameRef, resolve_game_id
from arenadb.db.fulltext import CONFIG, MARK, SNIPPET_WORDS, SOURCES, Source, fts5_query, pg_query
from arenadb.errors import InvalidArgumentError
from arenadb.inspection.filters import GameFilter, game_conditions
from arenadb.limits import DEFAULT_LIMIT, check_page
from arenadb.models import Conversation, Game, GameTurn, KnowledgeChunk, LLMCall, Message

SEARCH_SOURCES = tuple(SOURCES)  # turns, messages, llm, knowledge
# What each source's hits are called, in the order ties are broken.
KINDS = {"turns": "turn", "messages": "message", "llm": "llm", "knowledge": "knowledge"}


@dataclass
class SearchHit:
    """One row that contains the words: a turn, a message, an LLM call or a knowledge chunk.

    `id` is the message's, LLM call's or chunk's id (a turn is `game_id` + `seq`); `game_id`
    and `turn` (the turn number) say where it happened, when it belongs to a game.
    """

    kind: str
    score: float
    game_id: int | None
    turn: int | None
    seq: int | None
    seat: int | None
    id: int | None
    snippet: str


def search(
    engine: Engine,
    text: str,
    *,
    within: Sequence[str] | None = None,
    filters: GameFilter | None = None,
    game: GameRef | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[SearchHit]:
    """The best `limit` hits after `offset`, from the sources in `within` (default: all).

    With a game filter or a game, only rows of matching games are searched, and knowledge
    chunks (which belong to no game) are left out; asking for them alone is then an error.
    """
    check_page(limit, offset)
    sources = _sources(within)
    narrowed = game is not None or (filters is not None and _filters_set(filters))
    if narrowed:
        if sources == ["knowledge"]:
            raise InvalidArgumentError(
                "knowledge chunks belong to no game: search them without a game filter"
            )
        sources = [s for s in sources if s != "knowledge"]
    hits: list[SearchHit] = []
    with engine.connect() as conn:
        conditions = _game_conditions(conn, filters, game) if narrowed else None
        for name in sources:
            statement = _statement(conn, SOURCES[name], text, conditions, limit + offset)
            hits += [_hit(name, row) for row in conn.execute(statement).mappings()]
    hits.sort(key=_order)
    return hits[offset : offset + limit]


def _sources(within: Sequence[str] | None) -> list[str]:
    if not within:
        return list(SEARCH_SOURCES)
    for name in within:
        if name not in SOURCES:
            raise InvalidArgumentError(
                f"cannot search {name!r}: one of {', '.join(SEARCH_SOURCES)}"
            )
    return [name for name in SEARCH_SOURCES if name in within]


def _filters_set(filters: GameFilter) -> bool:
    return any(value is not None for key, value in vars(filters).items() if key != "limit")


def _game_conditions(
    conn: Connection, filters: GameFilter | None, game: GameRef | None
) -> list[sa.ColumnElement[bool]]:
    conditions = game_conditions(conn, filters) if filters is not None else []
    if game is not None:
        conditions.append(Game.__table__.c.id == resolve_game_id(conn, game))
    return conditions


def _order(hit: SearchHit) -> tuple[Any, ...]:
    kinds = list(KINDS.values())
    return (-hit.score, kinds.index(hit.kind), hit.game_id or 0, hit.seq or 0, hit.id or 0)


def _hit(name: str, row: Any) -> SearchHit:
    return SearchHit(
        kind=KINDS[name],
        score=round(float(row["score"]), 6),
        game_id=row["game_id"],
        turn=row["turn"],
        seq=row["seq"],
        seat=row["seat"],
        id=row["id"],
        snippet=" ".join((row["snippet"] or "").split()),  # one line, whatever the text's
    )


Joins = list[tuple[sa.FromClause, sa.ColumnElement[bool], bool]]  # (table, on, outer)


def _columns(source: Source) -> tuple[sa.FromClause, Joins, list[Any], list[Any]]:
    """The source's table, its joins to what says where a row belongs, the hit's columns, and
    the key its ties are broken by."""
    null = sa.null()
    if source.name == "turns":
        t = GameTurn.__table__
        cols = [t.c.game_id, t.c.turn_number.label("turn"), t.c.seq, t.c.seat, null.label("id")]
        return t, [], cols, [t.c.game_id, t.c.seq]
    if source.name == "llm":
        c, t = LLMCall.__table__, GameTurn.__table__
        on = sa.and_(t.c.game_id == c.c.game_id, t.c.seq == c.c.turn_seq)
        cols = [c.c.game_id, t.c.turn_number.label("turn"), c.c.turn_seq.label("seq")]
        return c, [(t, on, True)], [*cols, c.c.seat, c.c.id], [c.c.id]
    if source.name == "messages":
        m, conv = Message.__table__, Conversation.__table__
        cols = [conv.c.game_id, null.label("turn"), null.label("seq"), null.label("seat")]
        return m, [(conv, conv.c.id == m.c.conversation_id, False)], [*cols, m.c.id], [m.c.id]
    k = KnowledgeChunk.__table__
    cols = [null.label(name) for name in ("game_id", "turn", "seq", "seat")]
    return k, [], [*cols, k.c.id], [k.c.id]


def _game_column(source: Source) -> sa.ColumnElement[Any]:
    if source.name == "messages":
        return Conversation.__table__.c.game_id
    return sa.literal_column(f"{source.table}.game_id")


def _statement(
    conn: Connection,
    source: Source,
    text: str,
    conditions: list[sa.ColumnElement[bool]] | None,
    limit: int,
) -> sa.Select[Any]:
    table, joins, cols, key = _columns(source)
    score: Any
    snippet: Any
    match: Any
    narrowed: list[sa.ColumnElement[bool]] = []
    if conditions is not None:
        # The matching row's game is looked up by its key, once per match, in a correlated
        # subquery that PostgreSQL cannot turn into a join: as a join, the planner scans every
        # game of the filter to hash them (a cost that grows with the arena, not the matches).
        games = Game.__table__
        game = sa.select(games.c.id).where(games.c.id == _game_column(source), *conditions)
        narrowed.append(game.scalar_subquery().is_not(None))
    if conn.dialect.name == "postgresql":
        query = pg_query(text)
        vector = source.vector(source.table)
        score = sa.func.ts_rank(vector, query)
        # ts_headline is costly: PostgreSQL computes it after the sort, for the page only.
        snippet = sa.func.ts_headline(
            sa.literal_column(CONFIG),
            source.text(source.table),
            query,
            f"StartSel={MARK}, StopSel={MARK}, MaxWords={SNIPPET_WORDS + 8}, "
            f"MinWords={SNIPPET_WORDS // 2}, MaxFragments=1, FragmentDelimiter=' … '",
        )
        match = vector.op("@@")(query)
        joined: sa.FromClause = table
    else:
        # The FTS5 table first: its rowid is then visible to the joins.
        fts = sa.table(source.fts, sa.column("rowid"))
        on = sa.literal_column(f"{source.table}.{source.fts_key}") == fts.c.rowid
        joined = fts.join(table, on)
        score = -sa.func.bm25(sa.literal_column(source.fts))
        snippet = sa.func.snippet(
            sa.literal_column(source.fts), -1, MARK, MARK, " … ", SNIPPET_WORDS
        )
        match = sa.text(f"{source.fts} MATCH :fts_query").bindparams(fts_query=fts5_query(text))
    for other, on, outer in joins:
        joined = joined.join(other, on, isouter=outer)
    return (
        sa.select(*cols, score.label("score"), snippet.label("snippet"))
        .select_from(joined)
        .where(match, *narrowed)
        .order_by(sa.desc("score"), *key)
        .limit(limit)
    )
