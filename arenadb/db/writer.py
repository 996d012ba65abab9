"""The recorder's backend writers: SQL text and value conversion for the driver's bulk path.

Rows arrive as plain tuples already in the driver's format (see `Batch`), and a batch is written
on the raw DBAPI connection: `executemany` on SQLite, binary `COPY` on PostgreSQL. No ORM object
is built per row and no generated id is read back.
"""

from __future__ import annotations

import time
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.engine import Connection, Engine

from arenadb.db.bulk import BinaryCopy, binary_copy
from arenadb.db.rollups import UsageDeltas, write_deltas
from arenadb.errors import DatabaseUnavailableError

_TURN_COLUMNS = (
    "game_id, seq, turn_number, phase, seat, observation, action, valid, state_hash, "
    "latency_ms, created_at, visibility, recipients, invalid_reason"
)
_ACTION_COLUMNS = "game_id, turn_seq, idx, seat, action_type, payload, result, valid"
_LLM_COLUMNS = (
    "game_id, turn_seq, seat, model_id, attempt, provider, request_model, response_model, "
    "started_at, first_token_at, finished_at, latency_ms, input_tokens, output_tokens, "
    "reasoning_tokens, cache_read_tokens, cache_write_tokens, cost, finish_reason, status, "
    "error, request, response, reasoning, response_id"
)
# By name: the recorder builds its llm_calls rows in this order (`arenadb.recording.llm_calls`).
LLM_CALL_COLUMNS = tuple(_LLM_COLUMNS.split(", "))
_SNAPSHOT_COLUMNS = "game_id, turn, kind, state, sha256, size_bytes, created_at"
_GAME_COLUMNS = (
    "uuid, game_type_id, status, seed, created_at, started_at, environment_crashed, rated, info"
)
_PLAYER_COLUMNS = "game_id, seat, agent_id, side, role, invalid_moves, info"

_UTC = timezone.utc

# JSON travels as text; PostgreSQL needs to be told it is jsonb.
MARKS = {"sqlite": {"q": "?", "j": "?"}, "postgresql": {"q": "%s", "j": "%s::jsonb"}}


@dataclass
class Batch:
    """Rows waiting to be written, one list per table, each row a tuple in column order."""

    turns: list[tuple] = field(default_factory=list)
    actions: list[tuple] = field(default_factory=list)
    llm_calls: list[tuple] = field(default_factory=list)
    snapshots: list[tuple] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.turns or self.actions or self.llm_calls or self.snapshots)

    @property
    def rows(self) -> int:
        return len(self.turns) + len(self.actions) + len(self.llm_calls) + len(self.snapshots)


# SQLite timestamps are text: the exact text SQLAlchemy's SQLite DateTime writes (UTC, naive,
# "YYYY-MM-DD HH:MM:SS.ffffff"). A recorded turn formats two or three of them, and
# `datetime.isoformat` on an aware value costs more than the rest of the turn's Python work, so
# the text up to the minute (or second, for "now") is cached and only the tail is formatted.
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_minute_prefixes: dict[int, str] = {}
_now_prefix: tuple[int, str] = (-1, "")


def sqlite_timestamp(value: datetime) -> str:
    """`value` (aware, or naive meaning UTC) as SQLite timestamp text; equal to
    `value.astimezone(UTC).isoformat(" ", "microseconds")[:26]`, about twice as fast."""
    if value.tzinfo is not _UTC:
        value = value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
    since = value - _EPOCH
    seconds = since.seconds
    minute = since.days * 1440 + seconds // 60
    prefix = _minute_prefixes.get(minute)
    if prefix is None:
        if len(_minute_prefixes) >= 4096:
            _minute_prefixes.clear()
        prefix = _minute_prefixes[minute] = value.isoformat(" ", "minutes")[:16] + ":"
    return f"{prefix}{seconds % 60:02d}.{value.microsecond:06d}"


def sqlite_now() -> str:
    """The current UTC time as SQLite timestamp text (see `sqlite_timestamp`)."""
    global _now_prefix
    second, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    cached = _now_prefix  # one read: another thread may replace it (never half-way)
    if cached[0] != second:
        text = datetime.fromtimestamp(second, _UTC).isoformat(" ", "seconds")[:19] + "."
        cached = _now_prefix = (second, text)
    return f"{cached[1]}{nanoseconds // 1000:06d}"


def placeholders(columns: str, mark: str) -> str:
    return ", ".join([mark] * (columns.count(",") + 1))


class Writer:
    """SQL and value conversion for one backend; `write_batch` runs on a raw DBAPI connection."""

    name = ""
    # Put before the JSON text of a JSON column in a batch row (see PostgresWriter).
    jsonb_prefix = ""

    def timestamp(self, value: datetime | None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def now(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def uuid(self, value: uuid_module.UUID) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def insert_game(self, raw: Any, game_row: tuple, player_rows: list[tuple]) -> int:
        raise NotImplementedError  # pragma: no cover

    def write_batch(self, raw: Any, batch: Batch) -> None:
        raise NotImplementedError  # pragma: no cover


class SQLiteWriter(Writer):
    name = "sqlite"

    def __init__(self) -> None:
        q = "?"
        self.sql_game = (
            f"INSERT INTO games ({_GAME_COLUMNS}) VALUES ({placeholders(_GAME_COLUMNS, q)})"
        )
        self.sql_player = (
            f"INSERT INTO game_players ({_PLAYER_COLUMNS}) "
            f"VALUES ({placeholders(_PLAYER_COLUMNS, q)})"
        )
        self.sql_turn = (
            f"INSERT INTO game_turns ({_TURN_COLUMNS}) VALUES ({placeholders(_TURN_COLUMNS, q)})"
        )
        self.sql_action = (
            f"INSERT INTO player_actions ({_ACTION_COLUMNS}) "
            f"VALUES ({placeholders(_ACTION_COLUMNS, q)})"
        )
        self.sql_llm = (
            f"INSERT INTO llm_calls ({_LLM_COLUMNS}) VALUES ({placeholders(_LLM_COLUMNS, q)})"
        )
        self.sql_snapshot = (
            f"INSERT INTO game_snapshots ({_SNAPSHOT_COLUMNS}) "
            f"VALUES ({placeholders(_SNAPSHOT_COLUMNS, q)})"
        )

    def timestamp(self, value: datetime | None) -> str | None:
        return None if value is None else sqlite_timestamp(value)

    def now(self) -> str:
        return sqlite_now()

    def uuid(self, value: uuid_module.UUID) -> str:
        return value.hex  # sa.Uuid on SQLite is CHAR(32) hex

    def insert_game(self, raw: Any, game_row: tuple, player_rows: list[tuple]) -> int:
        cur = raw.cursor()
        try:
            cur.execute(self.sql_game, game_row)
            game_id = int(cur.lastrowid)
            cur.executemany(self.sql_player, [(game_id, *row) for row in player_rows])
        finally:
            cur.close()
        return game_id

    def write_batch(self, raw: Any, batch: Batch) -> None:
        cur = raw.cursor()
        try:
            if batch.turns:
                cur.executemany(self.sql_turn, batch.turns)
            if batch.actions:
                cur.executemany(self.sql_action, batch.actions)
            if batch.llm_calls:
                cur.executemany(self.sql_llm, batch.llm_calls)
                _count_calls(cur, self.name, batch.llm_calls)
            if batch.snapshots:
                cur.executemany(self.sql_snapshot, batch.snapshots)
        finally:
            cur.close()


class PostgresWriter(Writer):
    """COPY in binary format: the server reads integers, timestamps and booleans as they are
    instead of parsing their text (about 12% less server CPU than text COPY for a recorded
    game). Binary COPY needs each column's exact type, derived here from the models.

    A jsonb column's binary form is a version byte (1) and the JSON text, so batch rows carry
    JSON as "\\x01" + text (`jsonb_prefix`), sent with the text dumper: what psycopg's own
    jsonb dumper would send, without encoding the JSON a second time."""

    name = "postgresql"
    jsonb_prefix = "\x01"

    def __init__(self) -> None:
        q = "%s"
        self.sql_game = (
            f"INSERT INTO games ({_GAME_COLUMNS}) VALUES ({placeholders(_GAME_COLUMNS, q)}) "
            "RETURNING id"
        )
        self.sql_player = (
            f"INSERT INTO game_players ({_PLAYER_COLUMNS}) "
            f"VALUES ({placeholders(_PLAYER_COLUMNS, q)})"
        )
        self.copies = [
            _binary_copy("game_turns", _TURN_COLUMNS),
            _binary_copy("player_actions", _ACTION_COLUMNS),
            _binary_copy("llm_calls", _LLM_COLUMNS),
            _binary_copy("game_snapshots", _SNAPSHOT_COLUMNS),
        ]

    def timestamp(self, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=_UTC)

    def now(self) -> datetime:
        return datetime.now(_UTC)

    def uuid(self, value: uuid_module.UUID) -> uuid_module.UUID:
        return value

    def insert_game(self, raw: Any, game_row: tuple, player_rows: list[tuple]) -> int:
        with raw.cursor() as cur:
            cur.execute(self.sql_game, game_row)
            game_id = int(cur.fetchone()[0])
            cur.executemany(self.sql_player, [(game_id, *row) for row in player_rows])
        return game_id

    def write_batch(self, raw: Any, batch: Batch) -> None:
        with raw.cursor() as cur:
            for copy_spec, rows in zip(
                self.copies,
                (batch.turns, batch.actions, batch.llm_calls, batch.snapshots),
                strict=True,
            ):
                if rows:
                    copy_spec.send(cur, rows)
            if batch.llm_calls:
                _count_calls(cur, self.name, batch.llm_calls)


def _count_calls(cursor: Any, backend: str, rows: list[tuple]) -> None:
    """The batch's calls added to the usage rollup, in the batch's transaction."""
    deltas = UsageDeltas()
    deltas.add_rows(LLM_CALL_COLUMNS, rows)
    write_deltas(cursor, backend, deltas)


def _binary_copy(table: str, columns: str) -> BinaryCopy:
    from arenadb.models import metadata

    return binary_copy(metadata.tables[table], columns.split(", "))


_WRITERS: dict[str, Writer] = {}


def writer_for(bind: Engine | Connection) -> Writer:
    """The bulk writer for an engine's or connection's backend (cached: SQL is built once)."""
    name = bind.dialect.name
    writer = _WRITERS.get(name)
    if writer is None:
        if name == "sqlite":
            writer = SQLiteWriter()
        elif name == "postgresql":
            writer = PostgresWriter()
        else:  # pragma: no cover - config.py only accepts these two
            raise DatabaseUnavailableError(f"recording is not supported on {name}")
        _WRITERS[name] = writer
    return writer
