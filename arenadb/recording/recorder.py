"""Record games while they are played: the hot path of an arena runner.

A `GameRecorder` keeps the rows of the current batch (turns, player actions, LLM calls,
snapshots) in memory as plain tuples already in the driver's format, and writes a batch in one
write transaction with the driver's bulk path: `executemany` on SQLite, `COPY` on PostgreSQL.
No ORM object is built per row and no generated id is read back: turns are keyed by the
recorder's own running number (game_id, seq), which child rows reference.

Batches are atomic: a process killed mid-game leaves the game at its last committed batch. The
buffer is written when the next turn starts and it already holds `batch_turns` turns (default
1000) or the last write is older than `flush_seconds` (default 1 s): a game played at LLM speed
writes every turn as the next one begins, a game replayed at full speed writes up to 1000 turns
(or a second's worth) per transaction: what may be lost is bounded by time, memory by size.
Each transaction costs round trips and, on PostgreSQL, a COPY per table; a 120-turn game replayed
at full speed is one transaction with its finish (benchmarks/record.py: 0.90 -> 1.0x the raw
driver). A turn and the LLM calls / actions
recorded with it always share a batch. `flush()` writes at once; `finish()` / `abort()` /
`fail()` write the rest and close the game in the same transaction.

Snapshots: `snapshot.turn` is the number of turns the state includes, so the turns after a
snapshot are exactly those with `seq >= snapshot.turn`. A periodic snapshot is taken when a turn
is recorded with `state=` and the turn count reaches a multiple of `snapshot_every`. The stored
hash is the full sha256 of the state's canonical JSON (`canonical_json`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from arenadb.db.bulk import copy_rows, pg_type_name
from arenadb.db.checkpoint import (
    DEFAULT_AUTOCHECKPOINT_PAGES,
    WalCheckpointer,
)
from arenadb.db.engine import SQLITE_BEGIN
from arenadb.db.json import canonical_json, compact_json, json_text, state_hash
from arenadb.errors import (
    ArenaDBError,
    ConflictError,
    DatabaseUnavailableError,
    IntegrityCheckError,
    InvalidDataError,
    NotFoundError,
)
from arenadb.models import (
    FINISHED_STATUSES,
    GAME_OUTCOMES,
    LLM_CALL_STATUSES,
    SNAPSHOT_KINDS,
    Agent,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    LLMModel,
)

if TYPE_CHECKING:
    from arenadb.arena import Arena

log = logging.getLogger("arenadb.recording")

JSONValue = Any
StateArg = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

# ---------------------------------------------------------------------------------------------
# Per-backend writers: SQL text and value conversion for the driver's bulk path

_TURN_COLUMNS = (
    "game_id, seq, turn_number, phase, seat, observation, action, valid, state_hash, "
    "latency_ms, created_at"
)
_ACTION_COLUMNS = "game_id, turn_seq, idx, seat, action_type, payload, result, valid"
_LLM_COLUMNS = (
    "game_id, turn_seq, seat, model_id, attempt, provider, request_model, response_model, "
    "started_at, first_token_at, finished_at, latency_ms, input_tokens, output_tokens, "
    "reasoning_tokens, cache_read_tokens, cache_write_tokens, cost, finish_reason, status, "
    "error, request, response, reasoning"
)
_SNAPSHOT_COLUMNS = "game_id, turn, kind, state, sha256, size_bytes, created_at"
_GAME_COLUMNS = (
    "uuid, game_type_id, status, seed, created_at, started_at, environment_crashed, rated, info"
)
_PLAYER_COLUMNS = "game_id, seat, agent_id, side, role, invalid_moves, info"

_UTC = timezone.utc


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


# SQLite timestamps are text: the exact text SQLAlchemy's SQLite DateTime writes (UTC, naive,
# "YYYY-MM-DD HH:MM:SS.ffffff"). A recorded turn formats two or three of them, and
# `datetime.isoformat` on an aware value costs more than the rest of the turn's Python work, so
# the text up to the minute (or second, for "now") is cached and only the tail is formatted.
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_minute_prefixes: dict[int, str] = {}
_now_prefix: tuple[int, str] = (-1, "")


def _sqlite_timestamp(value: datetime) -> str:
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


def _sqlite_now() -> str:
    """The current UTC time as SQLite timestamp text (see `_sqlite_timestamp`)."""
    global _now_prefix
    second, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    cached = _now_prefix  # one read: another thread may replace it (never half-way)
    if cached[0] != second:
        text = datetime.fromtimestamp(second, _UTC).isoformat(" ", "seconds")[:19] + "."
        cached = _now_prefix = (second, text)
    return f"{cached[1]}{nanoseconds // 1000:06d}"


def _placeholders(columns: str, mark: str) -> str:
    return ", ".join([mark] * (columns.count(",") + 1))


class _Writer:
    """SQL and value conversion for one backend; `write_batch` runs on a raw DBAPI connection."""

    name = ""
    # Put before the JSON text of a JSON column in a batch row (see _PostgresWriter).
    jsonb_prefix = ""

    def timestamp(self, value: datetime | None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def now(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def uuid(self, value: uuid_module.UUID) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def insert_game(self, raw: Any, game_row: tuple, player_rows: list[tuple]) -> int:
        raise NotImplementedError  # pragma: no cover

    def write_batch(self, raw: Any, batch: _Batch) -> None:
        raise NotImplementedError  # pragma: no cover


class _SQLiteWriter(_Writer):
    name = "sqlite"

    def __init__(self) -> None:
        q = "?"
        self.sql_game = (
            f"INSERT INTO games ({_GAME_COLUMNS}) VALUES ({_placeholders(_GAME_COLUMNS, q)})"
        )
        self.sql_player = (
            f"INSERT INTO game_players ({_PLAYER_COLUMNS}) "
            f"VALUES ({_placeholders(_PLAYER_COLUMNS, q)})"
        )
        self.sql_turn = (
            f"INSERT INTO game_turns ({_TURN_COLUMNS}) VALUES ({_placeholders(_TURN_COLUMNS, q)})"
        )
        self.sql_action = (
            f"INSERT INTO player_actions ({_ACTION_COLUMNS}) "
            f"VALUES ({_placeholders(_ACTION_COLUMNS, q)})"
        )
        self.sql_llm = (
            f"INSERT INTO llm_calls ({_LLM_COLUMNS}) VALUES ({_placeholders(_LLM_COLUMNS, q)})"
        )
        self.sql_snapshot = (
            f"INSERT INTO game_snapshots ({_SNAPSHOT_COLUMNS}) "
            f"VALUES ({_placeholders(_SNAPSHOT_COLUMNS, q)})"
        )

    def timestamp(self, value: datetime | None) -> str | None:
        return None if value is None else _sqlite_timestamp(value)

    def now(self) -> str:
        return _sqlite_now()

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

    def write_batch(self, raw: Any, batch: _Batch) -> None:
        cur = raw.cursor()
        try:
            if batch.turns:
                cur.executemany(self.sql_turn, batch.turns)
            if batch.actions:
                cur.executemany(self.sql_action, batch.actions)
            if batch.llm_calls:
                cur.executemany(self.sql_llm, batch.llm_calls)
            if batch.snapshots:
                cur.executemany(self.sql_snapshot, batch.snapshots)
        finally:
            cur.close()


class _PostgresWriter(_Writer):
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
            f"INSERT INTO games ({_GAME_COLUMNS}) VALUES ({_placeholders(_GAME_COLUMNS, q)}) "
            "RETURNING id"
        )
        self.sql_player = (
            f"INSERT INTO game_players ({_PLAYER_COLUMNS}) "
            f"VALUES ({_placeholders(_PLAYER_COLUMNS, q)})"
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

    def write_batch(self, raw: Any, batch: _Batch) -> None:
        with raw.cursor() as cur:
            for copy_spec, rows in zip(
                self.copies,
                (batch.turns, batch.actions, batch.llm_calls, batch.snapshots),
                strict=True,
            ):
                if not rows:
                    continue
                try:
                    copy_rows(cur, copy_spec.sql, copy_spec.oids, rows)
                except (TypeError, ValueError, OverflowError) as exc:
                    # A Python value the column's binary dumper cannot take (text COPY would
                    # have sent its str() and let the server refuse or accept it).
                    raise copy_spec.bad_value(rows, exc) from None


# PostgreSQL column type (`pg_type_name`) -> the Python values its binary dumper takes, and
# what to call them in an error.
_ACCEPTS: dict[str, tuple[tuple[type, ...], str]] = {
    "integer": ((int,), "an integer"),
    "bigint": ((int,), "an integer"),
    "smallint": ((int,), "an integer"),
    "boolean": ((bool,), "a bool"),
    "text": ((str,), "a string"),
    "varchar": ((str,), "a string"),
    "double precision": ((float, int), "a number"),
    "timestamp with time zone": ((datetime,), "a datetime"),
    "uuid": ((uuid_module.UUID,), "a UUID"),
    "jsonb": ((str,), "JSON"),
}
# Sent with the text dumper: the same binary form (for jsonb, rows carry jsonb_prefix + JSON).
_SENT_AS_TEXT = ("jsonb", "varchar")


@dataclass(frozen=True)
class _BinaryCopy:
    table: str
    columns: tuple[str, ...]
    sql: str
    oids: tuple[int, ...]
    accepts: tuple[tuple[tuple[type, ...], str], ...]

    def bad_value(self, rows: Sequence[tuple], exc: BaseException) -> InvalidDataError:
        """The error for the first value of `rows` that its column's type does not take."""
        for row in rows:
            for column, value, (types, label) in zip(self.columns, row, self.accepts, strict=True):
                if value is not None and not isinstance(value, types):
                    return InvalidDataError(
                        f"{self.table}.{column} must be {label}, not {type(value).__name__} "
                        f"({_short_repr(value)})"
                    )
        return InvalidDataError(f"cannot write a row of {self.table}: {exc}")


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _binary_copy(table: str, columns: str) -> _BinaryCopy:
    """The binary COPY of `columns` into `table`, with each column's type from the models."""
    from psycopg.postgres import types as pg_types
    from sqlalchemy.dialects import postgresql

    from arenadb.models import metadata

    dialect = postgresql.dialect()
    names = tuple(columns.split(", "))
    kinds = [pg_type_name(metadata.tables[table].c[name].type, dialect) for name in names]
    return _BinaryCopy(
        table=table,
        columns=names,
        sql=f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)",
        oids=tuple(pg_types["text" if k in _SENT_AS_TEXT else k].oid for k in kinds),
        accepts=tuple(_ACCEPTS[k] for k in kinds),
    )


_WRITERS: dict[str, _Writer] = {}


def writer_for(engine: Engine) -> _Writer:
    """The bulk writer for the engine's backend (cached: SQL text is built once)."""
    name = engine.dialect.name
    writer = _WRITERS.get(name)
    if writer is None:
        if name == "sqlite":
            writer = _SQLiteWriter()
        elif name == "postgresql":
            writer = _PostgresWriter()
        else:  # pragma: no cover - config.py only accepts these two
            raise DatabaseUnavailableError(f"recording is not supported on {name}")
        _WRITERS[name] = writer
    return writer


def _driver_error(exc: BaseException, what: str) -> ArenaDBError | None:
    """A one-line arenadb error for a raw driver error raised on the bulk path."""
    module = type(exc).__module__
    if not (module.startswith("sqlite3") or module.startswith("psycopg")):
        return None
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if "Integrity" in type(exc).__name__ or type(exc).__name__.endswith("Violation"):
        return ConflictError(f"{what}: {detail}")
    return DatabaseUnavailableError(f"{what}: {detail}")


def driver_connection(conn: sa.Connection) -> Any:
    """The DBAPI connection (sqlite3 / psycopg) under a SQLAlchemy connection, same transaction."""
    return conn.connection.driver_connection


class BatchConnection:
    """The one connection an Arena keeps for writing batches (thread-safe, one batch at a time).

    Holding it saves a pool checkout (and PostgreSQL's pre-ping round trip) per batch. With
    `durable=False`, PostgreSQL batches commit with `synchronous_commit = off`: a commit returns
    before its WAL reaches the disk, so a crash of the database server (never of the runner) can
    lose the last few hundred milliseconds of batches, always whole ones and in order, which is
    what SQLite's `synchronous=NORMAL` does on power loss. It pays when batches are small and
    frequent; `finish()` commits durably whatever this says.

    On a SQLite file, the WAL is checkpointed by a background thread (`WalCheckpointer`) instead
    of inside the commits of this connection, and kept under its bound (`WAL_LIMIT_BYTES` plus
    one transaction) by a checkpoint of this connection's own when it grows past it.
    """

    def __init__(self, engine: Engine, *, durable: bool = True) -> None:
        self.engine = engine
        self.durable = durable
        self.writer = writer_for(engine)
        self.checkpointer: WalCheckpointer | None = None
        self._conn: sa.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sa.Connection:
        conn = self.engine.connect()
        if self.writer.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            raw = driver_connection(conn)
            path = self.engine.url.database
            if path and raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                # No automatic checkpoint inside this connection's commits: after_commit decides.
                raw.execute("PRAGMA wal_autocheckpoint=0")
                if self.checkpointer is None:
                    self.checkpointer = WalCheckpointer(path)
        elif not self.durable:
            conn.exec_driver_sql("SET synchronous_commit TO off")
            conn.commit()
        self._conn = conn
        return conn

    def run(self, work: Callable[[Any], Any], *, durable: bool = False) -> Any:
        """Run `work(dbapi_connection)` in one write transaction; returns its result.

        The hot path: the transaction is driven on the DBAPI connection itself (BEGIN IMMEDIATE
        on SQLite, as `write_transaction` would; psycopg begins implicitly), which saves
        SQLAlchemy's per-transaction bookkeeping on every batch.
        `durable`: the commit waits for the disk even where batches do not (PostgreSQL).
        """
        with self._lock:
            conn = self._conn or self._open()
            raw = driver_connection(conn)
            try:
                if self.writer.name == "sqlite":
                    raw.execute("BEGIN IMMEDIATE")
                elif durable and not self.durable:
                    raw.execute("SET LOCAL synchronous_commit TO on")
                result = work(raw)
                raw.commit()
            except BaseException:
                # On a broken connection the rollback fails too: the first error is what matters.
                with contextlib.suppress(Exception):
                    raw.rollback()
                self._release()
                raise
            if self.checkpointer is not None:
                self.checkpointer.after_commit(raw)
            return result

    def run_session(self, work: Callable[[Session], Any], *, durable: bool = True) -> Any:
        """Run `work(session)` in one write transaction, with an ORM session on this connection.

        `durable`: the commit waits for the disk even where batches do not (PostgreSQL).
        """
        with self._lock:
            conn = self._conn or self._open()
            try:
                with conn.begin():
                    if durable and self.writer.name == "postgresql" and not self.durable:
                        conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
                    session = Session(bind=conn, expire_on_commit=False)
                    try:
                        result = work(session)
                        session.flush()
                    finally:
                        session.close()
            except BaseException:
                self._release()
                raise
            if self.checkpointer is not None:
                self.checkpointer.after_commit(driver_connection(conn))
            return result

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # The connection goes back to the pool: other users get the defaults.
            if self.checkpointer is not None:
                driver_connection(conn).execute(
                    f"PRAGMA wal_autocheckpoint={DEFAULT_AUTOCHECKPOINT_PAGES}"
                )
            elif self.writer.name == "postgresql" and not self.durable:
                conn.exec_driver_sql("RESET synchronous_commit")
                conn.commit()
            conn.close()
        except Exception:
            conn.invalidate()
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._release()
            if self.checkpointer is not None:
                self.checkpointer.close()
                self.checkpointer = None


# ---------------------------------------------------------------------------------------------
# Inputs and results


@dataclass(frozen=True)
class Seat:
    """Who sits in a seat: an agent (object or id), and optionally its side/team and role."""

    agent: Agent | int
    side: str | None = None
    role: str | None = None
    info: Mapping[str, Any] | None = None

    @property
    def agent_id(self) -> int:
        return self.agent if isinstance(self.agent, int) else self.agent.id


@dataclass(frozen=True)
class SeatResult:
    """A seat's result at the end of a game. Fields left None keep what is stored."""

    reward: float | None = None
    rank: int | None = None
    eliminated_turn: int | None = None
    invalid_moves: int | None = None
    side: str | None = None
    role: str | None = None
    info: Mapping[str, Any] | None = None


@dataclass
class _Batch:
    turns: list[tuple] = field(default_factory=list)
    actions: list[tuple] = field(default_factory=list)
    llm_calls: list[tuple] = field(default_factory=list)
    snapshots: list[tuple] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.turns or self.actions or self.llm_calls or self.snapshots)

    @property
    def rows(self) -> int:
        return len(self.turns) + len(self.actions) + len(self.llm_calls) + len(self.snapshots)


@dataclass
class RecorderStats:
    """What a recorder has written so far."""

    batches: int = 0
    rows: int = 0
    turns: int = 0
    snapshots: int = 0


@dataclass
class ResumePoint:
    """Where to restart a running game: its last verified snapshot and the turns after it.

    `state` is None (and `snapshot_turn` 0) when no snapshot verifies: replay every turn.
    `warnings` lists each snapshot that failed verification (also logged as a warning).
    """

    game_id: int
    uuid: uuid_module.UUID
    status: str
    snapshot_turn: int
    snapshot_kind: str | None
    snapshot_id: int | None
    state: dict[str, Any] | None
    state_sha256: str | None
    turns: list[GameTurn]
    next_seq: int
    warnings: list[str] = field(default_factory=list)
    recorder: GameRecorder | None = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------
# The recorder


def _seat_list(seats: Sequence[Seat | Agent | int] | Mapping[int, Seat | Agent | int]) -> list:
    items = seats.items() if isinstance(seats, Mapping) else enumerate(seats)
    out: list[tuple[int, Seat]] = []
    for seat, spec in items:
        if not isinstance(seat, int) or seat < 0:
            raise InvalidDataError(f"seat {seat!r} must be a non-negative integer")
        out.append((seat, spec if isinstance(spec, Seat) else Seat(spec)))
    if not out:
        raise InvalidDataError("a game needs at least one seat")
    return out


class GameRecorder:
    """Records one game. Not thread-safe: one recorder per game, used by one thread at a time.

    Create it with `Arena.start_game(...)` (or `Arena.resume(...).recorder`); then call
    `record_turn` (with its LLM calls and actions), optionally `snapshot`, and finally `finish`
    or `abort`. Used as a context manager, an exception inside the block marks the game failed;
    leaving the block without finishing flushes and leaves the game running (resumable).
    """

    def __init__(
        self,
        arena: Arena,
        *,
        game_id: int,
        uuid: uuid_module.UUID,
        seats: Mapping[int, str | None],
        next_seq: int = 0,
        batch_turns: int | None = None,
        flush_seconds: float | None = None,
        snapshot_every: int | None = None,
        last_turn_seat: int | None = None,
        action_counts: Mapping[int, int] | None = None,
        rated: bool | None = None,
    ) -> None:
        self.arena = arena
        self.game_id = game_id
        # None: not known here (a resumed game); finishing then asks the database.
        self.rated = rated
        self.uuid = uuid
        self.seat_sides = dict(seats)
        every = arena.settings.snapshot_every if snapshot_every is None else snapshot_every
        self.snapshot_every = int(every)
        self.batch_turns = max(1, int(batch_turns or arena.batch_turns))
        self.flush_seconds = float(arena.flush_seconds if flush_seconds is None else flush_seconds)
        self._last_flush = time.monotonic()
        self.stats = RecorderStats()
        self.closed = False
        self._writer = writer_for(arena.engine)
        self._ts = self._writer.timestamp
        self._now = self._writer.now
        self._jsonb_prefix = self._writer.jsonb_prefix
        self._batch = _Batch()
        self._next_seq = next_seq
        self._last_seq: int | None = next_seq - 1 if next_seq else None
        self._last_seat = last_turn_seat
        self._action_counts: dict[int, int] = dict(action_counts or {})
        self._snapshot_turns: set[tuple[int, str]] = set()
        # model argument -> (model id, input price, output price) per million tokens
        self._models: dict[Any, tuple[int, float | None, float | None]] = {}

    # -- properties -------------------------------------------------------------------------

    @property
    def next_seq(self) -> int:
        """The seq the next recorded turn will get (= the number of turns recorded)."""
        return self._next_seq

    @property
    def last_seq(self) -> int | None:
        return self._last_seq

    @property
    def pending_rows(self) -> int:
        return self._batch.rows

    def __repr__(self) -> str:
        return f"<GameRecorder game={self.game_id} next_seq={self._next_seq}>"

    # -- recording --------------------------------------------------------------------------

    def record_turn(
        self,
        *,
        seat: int | None = None,
        action: str | None = None,
        observation: str | None = None,
        turn_number: int | None = None,
        phase: str | None = None,
        valid: bool | None = None,
        latency_ms: int | None = None,
        state_hash: str | None = None,
        state: StateArg | None = None,
        llm_calls: Iterable[Mapping[str, Any]] = (),
        actions: Iterable[Mapping[str, Any]] = (),
    ) -> int:
        """Append one turn (and its LLM calls and actions); returns its seq.

        `seat` None is an environment step. `turn_number` defaults to the seq. `state` (a dict,
        or a function returning one, called only when needed) is snapshotted when the turn
        count reaches a multiple of `snapshot_every`.
        """
        if self.closed:
            raise ConflictError(f"game {self.game_id} is closed: cannot record more turns")
        if seat is not None and seat not in self.seat_sides:
            raise InvalidDataError(f"game {self.game_id} has no seat {seat}")
        pending = len(self._batch.turns)
        if pending and (
            pending >= self.batch_turns or time.monotonic() - self._last_flush >= self.flush_seconds
        ):
            self.flush()
        seq = self._next_seq
        batch = self._batch
        undo = (len(batch.actions), len(batch.llm_calls), self._last_seq, self._last_seat)
        batch.turns.append(
            (
                self.game_id,
                seq,
                seq if turn_number is None else turn_number,
                phase,
                seat,
                observation,
                action,
                valid,
                state_hash,
                latency_ms,
                self._now(),
            )
        )
        self._next_seq = seq + 1
        self._last_seq = seq
        self._last_seat = seat
        try:
            for call in llm_calls:
                self.record_llm_call(**call)
            for act in actions:
                self.record_action(**act)
            every = self.snapshot_every
            if state is not None and every and self._next_seq % every == 0:
                self.snapshot(state() if callable(state) else state)
        except BaseException:
            # A turn is recorded whole or not at all: drop what this call appended.
            batch.turns.pop()
            del batch.actions[undo[0] :], batch.llm_calls[undo[1] :]
            self._next_seq, self._last_seq, self._last_seat = seq, undo[2], undo[3]
            self._action_counts.pop(seq, None)
            raise
        return seq

    def record_action(
        self,
        action_type: str,
        *,
        payload: JSONValue = None,
        result: JSONValue = None,
        valid: bool | None = None,
        seat: int | None = None,
        turn_seq: int | None = None,
        idx: int | None = None,
    ) -> int:
        """Append one player action to a turn (default: the last recorded); returns its idx."""
        turn_seq, seat = self._turn_and_seat(turn_seq, seat, "an action")
        if idx is None:
            idx = self._action_counts.get(turn_seq, 0)
        self._action_counts[turn_seq] = max(idx + 1, self._action_counts.get(turn_seq, 0))
        self._batch.actions.append(
            (
                self.game_id,
                turn_seq,
                idx,
                seat,
                action_type,
                json_text(payload, "action payload", self._jsonb_prefix),
                json_text(result, "action result", self._jsonb_prefix),
                valid,
            )
        )
        return idx

    def record_llm_call(
        self,
        *,
        request: JSONValue = None,
        response: JSONValue = None,
        model: Any = None,
        request_model: str | None = None,
        response_model: str | None = None,
        provider: str | None = None,
        started_at: datetime | None = None,
        first_token_at: datetime | None = None,
        finished_at: datetime | None = None,
        latency_ms: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        cost: float | None = None,
        finish_reason: str | None = None,
        status: str = "ok",
        error: str | None = None,
        reasoning: str | None = None,
        attempt: int = 1,
        seat: int | None = None,
        turn_seq: int | None = -1,
    ) -> None:
        """Append one LLM call attempt. It belongs to the last recorded turn unless `turn_seq`
        says otherwise (None: a call outside any turn, e.g. during setup).

        `model` is an LLMModel, its id or its registered name. When `cost` is None and the
        model has prices and the provider reported tokens, the cost is computed.
        Token counts are stored as reported (None when unknown, 0 is a real count).
        """
        if turn_seq == -1 and self._last_seq is not None:  # the common case, kept cheap
            turn_seq = self._last_seq
            seat_value = self._last_seat if seat is None else seat
        elif turn_seq is None:
            seat_value = seat
        else:
            turn_seq, seat_value = self._turn_and_seat(
                None if turn_seq == -1 else turn_seq, seat, "an LLM call"
            )
        if status != "ok" and status not in LLM_CALL_STATUSES:
            raise InvalidDataError(f"LLM call status must be one of {LLM_CALL_STATUSES}")
        if model is None:
            model_id = None
        else:
            key = model.id if isinstance(model, LLMModel) else model
            pricing = self._models.get(key)
            if pricing is None:
                model_id = self.arena.model_id(model)
                pricing = self._models[key] = (model_id, *self.arena.model_prices(model_id))
            model_id, input_price, output_price = pricing
            if cost is None and (input_tokens is not None or output_tokens is not None):
                # Unknown when tokens were reported but the model has no price for them.
                if (input_tokens and input_price is None) or (
                    output_tokens and output_price is None
                ):
                    cost = None
                else:
                    cost = ((input_tokens or 0) * (input_price or 0.0)) / 1_000_000 + (
                        (output_tokens or 0) * (output_price or 0.0)
                    ) / 1_000_000
        if latency_ms is None and started_at is not None and finished_at is not None:
            latency_ms = max(0, round((finished_at - started_at).total_seconds() * 1000))
        ts = self._ts
        try:
            prefix = self._jsonb_prefix
            request_text = None if request is None else prefix + compact_json(request)
            response_text = None if response is None else prefix + compact_json(response)
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(f"LLM request or response is not JSON: {exc}") from None
        self._batch.llm_calls.append(
            (
                self.game_id,
                turn_seq,
                seat_value,
                model_id,
                attempt,
                provider,
                request_model,
                response_model,
                None if started_at is None else ts(started_at),
                None if first_token_at is None else ts(first_token_at),
                None if finished_at is None else ts(finished_at),
                latency_ms,
                input_tokens,
                output_tokens,
                reasoning_tokens,
                cache_read_tokens,
                cache_write_tokens,
                cost,
                finish_reason,
                status,
                error,
                request_text,
                response_text,
                reasoning,
            )
        )

    def _turn_and_seat(self, turn_seq: int | None, seat: int | None, what: str) -> tuple:
        if turn_seq is None:
            if self._last_seq is None:
                raise ConflictError(f"record a turn before {what} (game {self.game_id})")
            return self._last_seq, self._last_seat if seat is None else seat
        if not 0 <= turn_seq < self._next_seq:
            raise InvalidDataError(f"game {self.game_id} has no turn {turn_seq}")
        return turn_seq, seat

    def snapshot(self, state: Mapping[str, Any], *, kind: str = "periodic") -> str:
        """Store the full state after the turns recorded so far; returns its sha256.

        Written with the current batch, so a snapshot is never committed without its turns.
        """
        if kind not in SNAPSHOT_KINDS:
            raise InvalidDataError(f"snapshot kind must be one of {SNAPSHOT_KINDS}")
        key = (self._next_seq, kind)
        if key in self._snapshot_turns:
            raise ConflictError(
                f"game {self.game_id} already has a {kind} snapshot after {key[0]} turns"
            )
        text = canonical_json(state)
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        self._batch.snapshots.append(
            (
                self.game_id,
                self._next_seq,
                kind,
                self._jsonb_prefix + text,
                digest,
                len(data),
                self._now(),
            )
        )
        self._snapshot_turns.add(key)
        # The turn the state follows carries its hash, when that turn is still in the buffer.
        turns = self._batch.turns
        if turns and turns[-1][1] == self._next_seq - 1 and turns[-1][8] is None:
            turns[-1] = (*turns[-1][:8], digest, *turns[-1][9:])
        return digest

    # -- writing ----------------------------------------------------------------------------

    def flush(self) -> int:
        """Write the buffered rows in one transaction; returns how many rows were written."""
        batch = self._batch
        if not batch:
            return 0
        try:
            self.arena.batch_connection.run(lambda raw: self._writer.write_batch(raw, batch))
        except Exception as exc:
            raise self._translate(exc, "cannot write a batch") from exc
        return self._batch_committed()

    def _batch_committed(self) -> int:
        batch = self._batch
        stats = self.stats
        stats.batches += 1
        stats.rows += batch.rows
        stats.turns += len(batch.turns)
        stats.snapshots += len(batch.snapshots)
        self._batch = _Batch()
        self._last_flush = time.monotonic()
        return batch.rows

    def _translate(self, exc: BaseException, what: str) -> BaseException:
        if isinstance(exc, ArenaDBError):
            return exc
        from arenadb.db.engine import translate_error

        label = f"{what} of game {self.game_id}"
        error = translate_error(exc, self.arena.settings) or _driver_error(exc, label)
        if error is None:
            return exc
        if not str(error).startswith(label):
            error = type(error)(f"{label}: {self.arena.settings.mask(str(error))}")
        return error

    def finish(
        self,
        *,
        status: str | None = None,
        outcome: str | None = None,
        winning_side: str | None = None,
        results: Mapping[int, SeatResult | Mapping[str, Any]]
        | Sequence[SeatResult | Mapping[str, Any]]
        | None = None,
        end_reason: str | None = None,
        environment_crashed: bool = False,
        error: str | None = None,
        info: Mapping[str, Any] | None = None,
        final_state: Mapping[str, Any] | None = None,
    ) -> None:
        """Write what is buffered and close the game, in ONE transaction.

        `status` defaults to "completed" ("failed" when `environment_crashed`). `results` maps a
        seat to its reward / rank / ... (a SeatResult or a dict). `final_state` is stored as a
        "final" snapshot.
        """
        if self.closed:
            raise ConflictError(f"game {self.game_id} is already closed")
        status = status or ("failed" if environment_crashed else "completed")
        if status not in FINISHED_STATUSES:
            raise InvalidDataError(f"a finished game's status must be one of {FINISHED_STATUSES}")
        if outcome is not None and outcome not in GAME_OUTCOMES:
            raise InvalidDataError(f"outcome must be one of {GAME_OUTCOMES}")
        sides = set(self.seat_sides.values())
        if winning_side is not None and None not in sides and winning_side not in sides:
            raise InvalidDataError(
                f"winning side {winning_side!r} is not a side of game {self.game_id} "
                f"({', '.join(sorted(s for s in sides if s))})"
            )
        seat_results = self._seat_results(results)
        if final_state is not None:
            self.snapshot(final_state, kind="final")
        values = _FinishValues(
            status=status,
            outcome=outcome,
            winning_side=winning_side,
            end_reason=end_reason,
            environment_crashed=environment_crashed,
            error=error,
            info=json_text(dict(info), "game info") if info is not None else None,
            seat_results=seat_results,
        )
        connection = self.arena.batch_connection
        try:
            if self.rated is False:
                # Nothing to rate: no ORM session is needed, only the rows (the hot path of
                # runs that record without rating, e.g. evaluations and replays).
                connection.run(lambda raw: _finish_rows(raw, self, values), durable=True)
            else:
                connection.run_session(
                    lambda session: _finish_in_transaction(session, self, values), durable=True
                )
        except Exception as exc:
            raise self._translate(exc, "cannot finish") from exc
        self._batch_committed()
        self.closed = True

    def abort(self, reason: str, *, keep_buffered: bool = True) -> None:
        """Close the game as "aborted" (e.g. cancelled by the operator), keeping what was recorded.

        With `keep_buffered=False` the rows not yet written are dropped instead.
        """
        if not keep_buffered:
            self._batch = _Batch()
        self.finish(status="aborted", end_reason=reason, outcome="no_contest")

    def fail(self, error: str, *, environment_crashed: bool = False) -> None:
        """Close the game as "failed" with an error text (the runner or the environment broke)."""
        self.finish(
            status="failed",
            error=error,
            outcome="no_contest",
            environment_crashed=environment_crashed,
        )

    def _seat_results(self, results: Any) -> list[tuple]:
        if results is None:
            return []
        items = results.items() if isinstance(results, Mapping) else enumerate(results)
        rows = []
        for seat, value in items:
            if seat not in self.seat_sides:
                raise InvalidDataError(f"game {self.game_id} has no seat {seat}")
            res = value if isinstance(value, SeatResult) else SeatResult(**value)
            if res.rank is not None and res.rank < 1:
                raise InvalidDataError(f"rank of seat {seat} must be 1 or more")
            rows.append(
                (
                    res.reward,
                    res.rank,
                    res.eliminated_turn,
                    res.invalid_moves,
                    res.side,
                    res.role,
                    json_text(dict(res.info), "seat info") if res.info is not None else None,
                    self.game_id,
                    seat,
                )
            )
        return rows

    def __enter__(self) -> GameRecorder:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> None:
        if self.closed:
            return
        if exc is None or not isinstance(exc, Exception):
            # Normal exit without finish(), or KeyboardInterrupt/SystemExit: keep the game
            # running so that it can be resumed; just make what was recorded durable.
            self.flush()
            return
        try:
            self.fail(f"{type(exc).__name__}: {exc}")
        except Exception:  # never hide the runner's own exception behind ours
            log.exception("could not mark game %s failed", self.game_id)


@dataclass
class _FinishValues:
    status: str
    outcome: str | None
    winning_side: str | None
    end_reason: str | None
    environment_crashed: bool
    error: str | None
    info: str | None
    seat_results: list[tuple]


_UPDATE_GAME = (
    "UPDATE games SET status = {q}, finished_at = {q}, outcome = {q}, winning_side = {q}, "
    "end_reason = {q}, environment_crashed = {q}, error = {q}, info = COALESCE({j}, info) "
    "WHERE id = {q} AND status = 'running'"
)
_UPDATE_PLAYER = (
    "UPDATE game_players SET reward = {q}, rank = {q}, "
    "eliminated_turn = COALESCE({q}, eliminated_turn), "
    "invalid_moves = COALESCE({q}, invalid_moves), side = COALESCE({q}, side), "
    "role = COALESCE({q}, role), info = COALESCE({j}, info) "
    "WHERE game_id = {q} AND seat = {q}"
)
# JSON travels as text; PostgreSQL needs to be told it is jsonb.
_MARKS = {"sqlite": {"q": "?", "j": "?"}, "postgresql": {"q": "%s", "j": "%s::jsonb"}}


def _finish_in_transaction(session: Session, recorder: GameRecorder, values: _FinishValues) -> None:
    """Everything that closes a game, inside the caller's single write transaction:
    the last buffered rows, the game's status and outcome, each seat's result, its ratings."""
    _finish_rows(driver_connection(session.connection()), recorder, values)
    # Same transaction, same connection: the ratings see this game's result, take the rating
    # writer lock, and commit (or roll back) together with it.
    from arenadb.ratings.book import rate_game

    rate_game(session, recorder.game_id)


def _finish_rows(raw: Any, recorder: GameRecorder, values: _FinishValues) -> None:
    """The last buffered rows, the game's status and outcome, and each seat's result, on the
    DBAPI connection `raw` inside the caller's transaction."""
    writer = recorder._writer
    if recorder._batch:
        writer.write_batch(raw, recorder._batch)
    marks = _MARKS[writer.name]
    cur = raw.cursor()
    try:
        cur.execute(
            _UPDATE_GAME.format(**marks),
            (
                values.status,
                writer.timestamp(datetime.now(_UTC)),
                values.outcome,
                values.winning_side,
                values.end_reason,
                values.environment_crashed,
                values.error,
                values.info,
                recorder.game_id,
            ),
        )
        if cur.rowcount != 1:
            cur.execute(
                "SELECT status FROM games WHERE id = {q}".format(**marks), (recorder.game_id,)
            )
            found = cur.fetchone()
            if found is None:
                raise NotFoundError(f"game {recorder.game_id} not found")
            raise ConflictError(
                f"game {recorder.game_id} is {found[0]}, not running: cannot finish it"
            )
        if values.seat_results:
            cur.executemany(_UPDATE_PLAYER.format(**marks), values.seat_results)
    finally:
        cur.close()


# ---------------------------------------------------------------------------------------------
# Starting and resuming games


def start_game(
    arena: Arena,
    game_type_id: int,
    seats: Sequence[Seat | Agent | int] | Mapping[int, Seat | Agent | int],
    *,
    seed: int | None = None,
    info: Mapping[str, Any] | None = None,
    rated: bool = True,
    game_uuid: uuid_module.UUID | None = None,
    batch_turns: int | None = None,
    flush_seconds: float | None = None,
    snapshot_every: int | None = None,
    initial_state: Mapping[str, Any] | None = None,
) -> GameRecorder:
    """Insert a running game and its seats in one transaction; returns its recorder.

    `initial_state`, if given, is stored at once as the snapshot after 0 turns.
    """
    seat_list = _seat_list(seats)
    writer = writer_for(arena.engine)
    now = datetime.now(_UTC)
    game_uuid = game_uuid or uuid_module.uuid4()
    game_row = (
        writer.uuid(game_uuid),
        game_type_id,
        "running",
        seed,
        writer.timestamp(now),
        writer.timestamp(now),
        False,
        rated,
        json_text(dict(info), "game info") if info is not None else None,
    )
    player_rows = [
        (
            seat,
            spec.agent_id,
            spec.side,
            spec.role,
            0,
            json_text(dict(spec.info), "seat info") if spec.info is not None else None,
        )
        for seat, spec in seat_list
    ]
    recorder_seats = {seat: spec.side for seat, spec in seat_list}
    recorder: GameRecorder | None = None

    def insert(raw: Any) -> None:
        nonlocal recorder
        game_id = writer.insert_game(raw, game_row, player_rows)
        recorder = GameRecorder(
            arena,
            game_id=game_id,
            uuid=game_uuid,
            seats=recorder_seats,
            batch_turns=batch_turns,
            flush_seconds=flush_seconds,
            snapshot_every=snapshot_every,
            rated=rated,
        )
        if initial_state is not None:
            recorder.snapshot(initial_state, kind="periodic")
            writer.write_batch(raw, recorder._batch)

    try:
        arena.batch_connection.run(insert)
    except Exception as exc:
        if isinstance(exc, ArenaDBError):
            raise
        from arenadb.db.engine import translate_error

        error = translate_error(exc, arena.settings) or _driver_error(exc, "cannot start a game")
        raise (error or exc) from exc
    assert recorder is not None
    if recorder._batch:
        recorder._batch_committed()
    return recorder


def load_resume_point(session: Session, game: int | str | uuid_module.UUID) -> ResumePoint:
    """The last snapshot of a running game whose hash verifies, and every turn after it.

    A snapshot whose stored state does not hash to its recorded sha256 is reported (in
    `warnings` and as a logged warning) and the one before it is tried; with none left, the
    resume point is the start of the game (state None, every turn).
    """
    from arenadb.inspection.rows import game_by_ref

    row = game_by_ref(session, game, with_relations=False)
    if row.status != "running":
        raise ConflictError(f"game {row.id} is {row.status}: only a running game can be resumed")
    warnings: list[str] = []
    chosen: GameSnapshot | None = None
    # Newest first, one state at a time: a long game may hold many large snapshots.
    candidates = session.execute(
        sa.select(GameSnapshot.id, GameSnapshot.turn)
        .where(GameSnapshot.game_id == row.id, GameSnapshot.kind != "final")
        .order_by(GameSnapshot.turn.desc(), GameSnapshot.id.desc())
    ).all()
    for snapshot_id, _turn in candidates:
        snap = session.get(GameSnapshot, snapshot_id)
        assert snap is not None
        try:
            actual = state_hash(snap.state)
        except InvalidDataError as exc:
            actual = f"unreadable ({exc})"
        if actual == snap.sha256:
            chosen = snap
            break
        message = (
            f"game {row.id}: snapshot {snap.id} (after {snap.turn} turns) is corrupted: "
            f"stored sha256 {snap.sha256}, state hashes to {actual}"
        )
        log.warning(message)
        warnings.append(message)
        session.expunge(snap)
    start = chosen.turn if chosen else 0
    if chosen is None and warnings:
        message = f"game {row.id}: no snapshot verifies; resuming from the start of the game"
        log.warning(message)
        warnings.append(message)
    turns = list(
        session.scalars(
            sa.select(GameTurn)
            .where(GameTurn.game_id == row.id, GameTurn.seq >= start)
            .order_by(GameTurn.seq)
        )
    )
    last = session.execute(
        sa.select(sa.func.max(GameTurn.seq)).where(GameTurn.game_id == row.id)
    ).scalar()
    next_seq = 0 if last is None else int(last) + 1
    if chosen is not None and chosen.turn > next_seq:
        raise IntegrityCheckError(
            f"game {row.id}: snapshot {chosen.id} claims {chosen.turn} turns "
            f"but only {next_seq} are recorded"
        )
    return ResumePoint(
        game_id=row.id,
        uuid=row.uuid,
        status=row.status,
        snapshot_turn=start,
        snapshot_kind=chosen.kind if chosen else None,
        snapshot_id=chosen.id if chosen else None,
        state=chosen.state if chosen else None,
        state_sha256=chosen.sha256 if chosen else None,
        turns=turns,
        next_seq=next_seq,
        warnings=warnings,
    )


def recorder_for_running_game(
    arena: Arena,
    session: Session,
    point: ResumePoint,
    *,
    batch_turns: int | None = None,
    flush_seconds: float | None = None,
    snapshot_every: int | None = None,
) -> GameRecorder:
    """A recorder that continues a running game after its last recorded turn."""
    seats = dict(
        session.execute(
            sa.select(GamePlayer.seat, GamePlayer.side).where(GamePlayer.game_id == point.game_id)
        ).all()
    )
    last_seat = None
    action_counts: dict[int, int] = {}
    if point.next_seq:
        last_seq = point.next_seq - 1
        last_seat = session.execute(
            sa.select(GameTurn.seat).where(
                GameTurn.game_id == point.game_id, GameTurn.seq == last_seq
            )
        ).scalar()
        from arenadb.models import PlayerAction

        top = session.execute(
            sa.select(sa.func.max(PlayerAction.idx)).where(
                PlayerAction.game_id == point.game_id, PlayerAction.turn_seq == last_seq
            )
        ).scalar()
        if top is not None:
            action_counts[last_seq] = int(top) + 1
    recorder = GameRecorder(
        arena,
        game_id=point.game_id,
        uuid=point.uuid,
        seats=seats,
        next_seq=point.next_seq,
        batch_turns=batch_turns,
        flush_seconds=flush_seconds,
        snapshot_every=snapshot_every,
        last_turn_seat=last_seat,
        action_counts=action_counts,
    )
    existing = session.execute(
        sa.select(GameSnapshot.turn, GameSnapshot.kind).where(
            GameSnapshot.game_id == point.game_id, GameSnapshot.turn >= point.snapshot_turn
        )
    ).all()
    recorder._snapshot_turns.update((int(t), str(k)) for t, k in existing)
    return recorder


# ---------------------------------------------------------------------------------------------
# Whole games at once (seeding, imports): same bulk path, inside the caller's transaction


@dataclass
class LLMCallRecord:
    """One LLM call attempt of a complete game (ids resolved; times tz-aware)."""

    model_id: int | None = None
    attempt: int = 1
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    started_at: datetime | None = None
    first_token_at: datetime | None = None
    finished_at: datetime | None = None
    latency_ms: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost: float | None = None
    finish_reason: str | None = None
    status: str = "ok"
    error: str | None = None
    request: JSONValue = None
    response: JSONValue = None
    reasoning: str | None = None


@dataclass
class TurnRecord:
    turn_number: int
    seat: int | None = None
    phase: str | None = None
    observation: str | None = None
    action: str | None = None
    valid: bool | None = None
    latency_ms: int | None = None
    state_hash: str | None = None
    created_at: datetime | None = None
    llm_calls: list[LLMCallRecord] = field(default_factory=list)
    # {"action_type": ..., "payload": ..., "result": ..., "valid": ...}, in order
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SeatRecord:
    seat: int
    agent_id: int
    side: str | None = None
    role: str | None = None
    reward: float | None = None
    rank: int | None = None
    eliminated_turn: int | None = None
    invalid_moves: int = 0
    info: Mapping[str, Any] | None = None


@dataclass
class GameRecord:
    """A whole game as it is stored; `write_game` writes it in one go."""

    uuid: uuid_module.UUID
    game_type_id: int
    seats: list[SeatRecord]
    turns: list[TurnRecord] = field(default_factory=list)
    # (turns included, kind, state, created_at)
    snapshots: list[tuple[int, str, Mapping[str, Any], datetime | None]] = field(
        default_factory=list
    )
    status: str = "completed"
    seed: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str | None = None
    winning_side: str | None = None
    end_reason: str | None = None
    environment_crashed: bool = False
    error: str | None = None
    rated: bool = True
    info: Mapping[str, Any] | None = None


_FULL_GAME_COLUMNS = (
    "uuid, game_type_id, status, seed, created_at, started_at, finished_at, outcome, "
    "winning_side, end_reason, environment_crashed, error, rated, info"
)
_FULL_PLAYER_COLUMNS = (
    "game_id, seat, agent_id, side, role, reward, rank, eliminated_turn, invalid_moves, info"
)


def write_game(session: Session, game: GameRecord, *, rate: bool = True) -> int:
    """Write a complete game (seats with results, turns, actions, LLM calls, snapshots) inside
    the session's transaction with the recorder's bulk path; rate it if it is finished and
    rated. Returns the new game id. Nothing is committed here: the caller owns the transaction.
    """
    if game.status not in ("queued", "running", *FINISHED_STATUSES):
        raise InvalidDataError(f"game {game.uuid}: unknown status {game.status!r}")
    conn = session.connection()
    raw = driver_connection(conn)
    writer = writer_for(conn)  # type: ignore[arg-type]  # needs only .dialect
    ts = writer.timestamp
    now = datetime.now(_UTC)
    marks = _MARKS[writer.name]
    game_sql = (
        f"INSERT INTO games ({_FULL_GAME_COLUMNS}) "
        f"VALUES ({_placeholders(_FULL_GAME_COLUMNS, marks['q'])})"
        + (" RETURNING id" if writer.name == "postgresql" else "")
    )
    player_sql = (
        f"INSERT INTO game_players ({_FULL_PLAYER_COLUMNS}) "
        f"VALUES ({_placeholders(_FULL_PLAYER_COLUMNS, marks['q'])})"
    )
    game_row = (
        writer.uuid(game.uuid),
        game.game_type_id,
        game.status,
        game.seed,
        ts(game.created_at or game.started_at or now),
        ts(game.started_at),
        ts(game.finished_at),
        game.outcome,
        game.winning_side,
        game.end_reason,
        game.environment_crashed,
        game.error,
        game.rated,
        json_text(dict(game.info), "game info") if game.info is not None else None,
    )
    cur = raw.cursor()
    try:
        cur.execute(game_sql, game_row)
        game_id = int(cur.fetchone()[0]) if writer.name == "postgresql" else int(cur.lastrowid)
        cur.executemany(
            player_sql,
            [
                (
                    game_id,
                    s.seat,
                    s.agent_id,
                    s.side,
                    s.role,
                    s.reward,
                    s.rank,
                    s.eliminated_turn,
                    s.invalid_moves,
                    json_text(dict(s.info), "seat info") if s.info is not None else None,
                )
                for s in game.seats
            ],
        )
    finally:
        cur.close()
    batch = _Batch()
    for seq, turn in enumerate(game.turns):
        at = ts(turn.created_at or now)
        batch.turns.append(
            (
                game_id,
                seq,
                turn.turn_number,
                turn.phase,
                turn.seat,
                turn.observation,
                turn.action,
                turn.valid,
                turn.state_hash,
                turn.latency_ms,
                at,
            )
        )
        for idx, act in enumerate(turn.actions):
            batch.actions.append(
                (
                    game_id,
                    seq,
                    idx,
                    act.get("seat", turn.seat),
                    act["action_type"],
                    json_text(act.get("payload"), "action payload", writer.jsonb_prefix),
                    json_text(act.get("result"), "action result", writer.jsonb_prefix),
                    act.get("valid"),
                )
            )
        for call in turn.llm_calls:
            if call.status not in LLM_CALL_STATUSES:
                raise InvalidDataError(f"LLM call status must be one of {LLM_CALL_STATUSES}")
            batch.llm_calls.append(
                (
                    game_id,
                    seq,
                    turn.seat,
                    call.model_id,
                    call.attempt,
                    call.provider,
                    call.request_model,
                    call.response_model,
                    ts(call.started_at),
                    ts(call.first_token_at),
                    ts(call.finished_at),
                    call.latency_ms,
                    call.input_tokens,
                    call.output_tokens,
                    call.reasoning_tokens,
                    call.cache_read_tokens,
                    call.cache_write_tokens,
                    call.cost,
                    call.finish_reason,
                    call.status,
                    call.error,
                    json_text(call.request, "LLM request", writer.jsonb_prefix),
                    json_text(call.response, "LLM response", writer.jsonb_prefix),
                    call.reasoning,
                )
            )
    for turns_included, kind, state, created_at in game.snapshots:
        text = canonical_json(state)
        data = text.encode("utf-8")
        batch.snapshots.append(
            (
                game_id,
                turns_included,
                kind,
                writer.jsonb_prefix + text,
                hashlib.sha256(data).hexdigest(),
                len(data),
                ts(created_at or now),
            )
        )
    writer.write_batch(raw, batch)
    if rate and game.status == "completed":
        from arenadb.ratings.book import rate_game

        rate_game(session, game_id)
    return game_id
