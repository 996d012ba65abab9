"""THE full-text index: which text of which table is searchable, and how a user's words become a
query that cannot fail.

The index itself is built by migration 0006 (see its docstring for why 'simple' on PostgreSQL and
external-content FTS5 tables on SQLite) and maintained by the writes: on PostgreSQL by GIN
expression indexes, on SQLite by triggers. The expressions below are the migration's: PostgreSQL
uses an expression index only for the very expression it was built on.

A user's text is words, never query syntax: on PostgreSQL it goes through `plainto_tsquery`
(every word must occur; `"`, `*`, `-`, `OR`, `NEAR`, `:` are not operators), on SQLite each word
is quoted as an FTS5 string, so the two find the same rows and neither raises a syntax error.

    from arenadb.db.fulltext import SOURCES, match_condition
    sa.select(KnowledgeChunk.id).where(match_condition("postgresql", SOURCES["knowledge"], "vote"))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from arenadb.errors import InvalidArgumentError

MAX_CHARS = 100_000  # each text is searchable in its first MAX_CHARS characters (PostgreSQL)
CONFIG = "'simple'::regconfig"
MARK = "**"  # around each matched word in a snippet
SNIPPET_WORDS = 16
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Source:
    """One searched table: its FTS5 table (SQLite), GIN index (PostgreSQL) and texts."""

    name: str
    table: str
    fts: str
    fts_key: str  # the content table's column the FTS5 rowid is
    pg_index: str
    pg_vector: str  # tsvector of a row `{t}`, exactly as indexed
    pg_text: str  # the same text as one string (for ts_headline)

    def vector(self, alias: str) -> sa.ColumnElement[object]:
        return sa.literal_column(self.pg_vector.format(t=alias))

    def text(self, alias: str) -> sa.ColumnElement[str]:
        return sa.literal_column(self.pg_text.format(t=alias))


def _vector(text: str) -> str:
    return f"to_tsvector({CONFIG}, left({text}, {MAX_CHARS}))"


_TURN_TEXT = "coalesce({t}.observation, '') || ' ' || coalesce({t}.action, '')"
_KNOWLEDGE_TEXT = "coalesce({t}.title, '') || ' ' || {t}.content"
_RESPONSE_STRINGS = (
    "(SELECT string_agg(v #>> '{{}}', ' ') FROM jsonb_path_query({t}.response, 'strict $.**') v "
    "WHERE jsonb_typeof(v) = 'string')"
)

SOURCES: dict[str, Source] = {
    "turns": Source(
        "turns",
        "game_turns",
        "search_turns",
        "rowid",
        "ix_game_turns_search",
        _vector(_TURN_TEXT),
        f"left({_TURN_TEXT}, {MAX_CHARS})",
    ),
    "messages": Source(
        "messages",
        "messages",
        "search_messages",
        "id",
        "ix_messages_search",
        _vector("{t}.content"),
        f"left({{t}}.content, {MAX_CHARS})",
    ),
    "llm": Source(
        "llm",
        "llm_calls",
        "search_llm_calls",
        "id",
        "ix_llm_calls_search",
        "("
        + _vector("coalesce({t}.reasoning, '')")
        + f" || jsonb_to_tsvector({CONFIG}, "
        + "coalesce({t}.response, 'null'::jsonb), '[\"string\"]'::jsonb))",
        f"left(coalesce({{t}}.reasoning, ''), {MAX_CHARS}) || ' ' "
        f"|| coalesce({_RESPONSE_STRINGS}, '')",
    ),
    "knowledge": Source(
        "knowledge",
        "knowledge_chunks",
        "search_knowledge",
        "id",
        "ix_knowledge_chunks_search",
        _vector(_KNOWLEDGE_TEXT),
        f"left({_KNOWLEDGE_TEXT}, {MAX_CHARS})",
    ),
}

# SQLite: the view the LLM calls' FTS5 table reads its text from (migration 0010): the response
# JSON's strings as one text. The other FTS5 tables read their own table.
LLM_TEXT_VIEW = "search_llm_calls_text"
# What the schema compare expects besides the models (arenadb.schema.compare).
SQLITE_VIEWS = frozenset({LLM_TEXT_VIEW})
FTS5_TABLES = frozenset(source.fts for source in SOURCES.values())
FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_docsize", "_config", "_content")
SQLITE_TRIGGERS = frozenset(
    (source.table, f"{source.fts}_{event}")
    for source in SOURCES.values()
    for event in ("insert", "delete", "update")
)
PG_INDEXES = frozenset((source.table, source.pg_index) for source in SOURCES.values())


def is_fts5_table(name: str) -> bool:
    """An FTS5 table of the index, or one of the shadow tables FTS5 keeps for it."""
    if name in FTS5_TABLES:
        return True
    return any(name == fts + suffix for fts in FTS5_TABLES for suffix in FTS5_SHADOW_SUFFIXES)


def search_words(text: str) -> str:
    """The user's text, checked: it must hold a letter or a digit; NUL characters are spaces."""
    cleaned = text.replace("\x00", " ")
    if not _WORD.search(cleaned):
        raise InvalidArgumentError(
            f"nothing to search for in {text[:50]!r}: give at least one word (letters or digits)"
        )
    return cleaned


def fts5_query(text: str) -> str:
    """An FTS5 query finding rows with every word of `text`: each word an FTS5 string."""
    words = dict.fromkeys(_WORD.findall(search_words(text)))  # once each, in order
    return " ".join(f'"{word}"' for word in words)


def pg_query(text: str) -> sa.ColumnElement[object]:
    """The PostgreSQL tsquery finding rows with every word of `text`."""
    return sa.func.plainto_tsquery(sa.literal_column(CONFIG), search_words(text))


def match_condition(
    dialect: str, source: Source, text: str, alias: str | None = None
) -> sa.ColumnElement[bool]:
    """The condition on `source.table` (or its alias) that keeps the rows containing `text`."""
    alias = alias or source.table
    if dialect == "postgresql":
        return source.vector(alias).op("@@")(pg_query(text))
    fts = sa.table(source.fts, sa.column("rowid"))
    matching = sa.select(fts.c.rowid).where(
        sa.text(f"{source.fts} MATCH :fts_query").bindparams(fts_query=fts5_query(text))
    )
    return sa.literal_column(f"{alias}.{source.fts_key}").in_(matching)
