"""Import an export file (see `arenadb.portability.export` for the format) by game UUID.

    from arenadb.portability.importing import import_games

    result = import_games(engine, "games.jsonl.gz")   # twice: the second adds nothing
    print(result.imported, result.skipped, [str(p) for p in result.problems])

Import validates each line against the schema (types, required keys, finite numbers, references
between seats, turns and actions); a game that fails is reported as `FILE:LINE: problem` and
nothing of it is written, the import carries on with the next game, and the result lists every
problem. Games already present (same UUID) are skipped, so an import can be run again. Catalog
rows are found by natural key, or created from the file. Valid games are written a chunk per
transaction; if the database rejects a chunk, its games are retried one transaction each, so
that only the offending game is left out.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.db.bulk import insert_rows, text_json_table
from arenadb.db.engine import write_transaction
from arenadb.db.json import json_text
from arenadb.errors import InvalidArgumentError, InvalidDataError
from arenadb.models import (
    FINISHED_STATUSES,
    GAME_OUTCOMES,
    GAME_STATUSES,
    LLM_CALL_STATUSES,
    SNAPSHOT_KINDS,
    Agent,
    AgentKind,
    GameType,
    LLMModel,
    Prompt,
)
from arenadb.models.base import UTCDateTime
from arenadb.portability.export import (
    CATALOG_TYPES,
    CHILDREN,
    CHUNK_GAMES,
    FORMAT,
    FORMAT_VERSION,
    GAME_SKIP,
    GAMES,
    Progress,
    _table,
)


class _Invalid(Exception):
    """A record does not fit the schema; the message says where and why."""


_MISSING = object()


def _decode_value(column: sa.Column[Any], value: Any, where: str) -> Any:
    """Check one JSON value against a column's type; return what the database takes."""
    kind = column.type
    if value is None:
        if not column.nullable:
            raise _Invalid(f"{where}: must not be null")
        return None
    if isinstance(kind, sa.JSON):
        try:
            return json_text(value, where)
        except InvalidDataError as exc:  # NaN or Infinity: not JSON, refused on both backends
            raise _Invalid(str(exc)) from None
    if isinstance(kind, sa.Boolean):
        if not isinstance(value, bool):
            raise _Invalid(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(kind, sa.Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"{where}: expected an integer, got {value!r}")
        return value
    if isinstance(kind, sa.Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):  # json.loads reads NaN, Infinity (and 1e400) as floats
            raise _Invalid(f"{where}: {value!r} is not a finite number")
        return float(value)
    if isinstance(kind, UTCDateTime):
        if not isinstance(value, str):
            raise _Invalid(f"{where}: expected an ISO 8601 time, got {value!r}")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(f"{where}: not an ISO 8601 time: {value!r}") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    if isinstance(kind, sa.Uuid):
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise _Invalid(f"{where}: not a UUID: {value!r}") from None
    if isinstance(kind, sa.String):
        if not isinstance(value, str):
            raise _Invalid(f"{where}: expected a string, got {value!r}")
        if kind.length is not None and len(value) > kind.length:
            raise _Invalid(f"{where}: longer than {kind.length} characters")
        return value
    raise _Invalid(f"{where}: unsupported column type {kind}")  # pragma: no cover


def _default(column: sa.Column[Any]) -> Any:
    default = column.default
    if default is None:
        return _MISSING
    arg = getattr(default, "arg", None)
    if getattr(default, "is_scalar", False):
        return arg
    if callable(arg):
        return arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
    return _MISSING


def _decode(
    table: sa.Table,
    data: Any,
    skip: frozenset[str],
    where: str,
    extra: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A record's columns as a row for `table`; missing nullable columns are NULL."""
    if not isinstance(data, dict):
        raise _Invalid(f"{where}: expected an object")
    known = {c.name for c in table.c} - skip
    unknown = sorted(set(data) - known - extra)
    if unknown:
        raise _Invalid(f"{where}: unknown key {unknown[0]!r}")
    row: dict[str, Any] = {}
    for column in table.c:
        if column.name in skip:
            continue
        value = data.get(column.name, _MISSING)
        if value is _MISSING:
            value = None if column.nullable else _default(column)
            if value is _MISSING:
                raise _Invalid(f"{where}: missing required key {column.name!r}")
            if isinstance(column.type, sa.JSON):
                value = json_text(value)
            row[column.name] = value
            continue
        row[column.name] = _decode_value(column, value, f"{where}.{column.name}")
    return row


def _string(data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _Invalid(f"{where}: {key!r} must be a non-empty string")
    return value


@dataclass
class ImportProblem:
    """A rejected record: where it is and what is wrong with it."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ImportResult:
    path: str
    imported: int = 0  # games written
    skipped: int = 0  # games already in the database (same UUID)
    rejected: int = 0  # games not written because of a problem
    rows: int = 0  # rows written for the imported games
    created: dict[str, int] = field(default_factory=dict)  # catalog rows created, by type
    problems: list[ImportProblem] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _PendingGame:
    line: int
    uuid: uuid.UUID
    game_type: str
    row: dict[str, Any]
    agents: list[tuple[str, str, str, str]]  # per player, the agent's natural key
    models: list[str | None]  # per LLM call
    children: dict[str, list[dict[str, Any]]]

    @property
    def rows(self) -> int:
        return 1 + sum(len(rows) for rows in self.children.values())


AgentKey = tuple[str, str, str, str]  # kind, model, prompt name, prompt sha256


def _agent_key(data: Any, where: str) -> AgentKey:
    if not isinstance(data, dict):
        raise _Invalid(f"{where}: expected the agent's natural key (kind, model, prompt, ...)")
    return (
        _string(data, "kind", where),
        _string(data, "model", where),
        _string(data, "prompt", where),
        _string(data, "prompt_sha256", where),
    )


def _decode_game(record: dict[str, Any]) -> _PendingGame:
    """Validate a game record completely, before anything touches the database."""
    row = _decode(
        GAMES, record, GAME_SKIP, "game", extra=frozenset({"type", *CHILDREN, "game_type"})
    )
    if row["status"] not in GAME_STATUSES:
        raise _Invalid(f"game.status: {row['status']!r} is not one of {', '.join(GAME_STATUSES)}")
    if row["outcome"] is not None and row["outcome"] not in GAME_OUTCOMES:
        raise _Invalid(f"game.outcome: {row['outcome']!r} is not one of {', '.join(GAME_OUTCOMES)}")
    if row["outcome"] is not None and row["status"] not in FINISHED_STATUSES:
        raise _Invalid(f"game.outcome: a {row['status']} game has no outcome")
    if record.get("uuid") is None:
        raise _Invalid("game.uuid: missing required key 'uuid'")
    game_type = _string(record, "game_type", "game")
    children: dict[str, list[dict[str, Any]]] = {}
    agents: list[AgentKey] = []
    models: list[str | None] = []
    for key, (table, skip, _order) in CHILDREN.items():
        items = record.get(key, [])
        if not isinstance(items, list):
            raise _Invalid(f"game.{key}: expected a list")
        extra = frozenset(
            {"agent"} if key == "players" else {"model"} if key == "llm_calls" else ()
        )
        rows = []
        for index, item in enumerate(items):
            where = f"{key}[{index}]"
            rows.append(_decode(table, item, skip, where, extra))
            if key == "players":
                agents.append(_agent_key(item.get("agent"), f"{where}.agent"))
            elif key == "llm_calls":
                models.append(_string(item, "model", where, optional=True))
        children[key] = rows
    _check_references(children)
    return _PendingGame(0, row["uuid"], game_type, row, agents, models, children)


def _check_references(children: dict[str, list[dict[str, Any]]]) -> None:
    """What the foreign keys and unique constraints would refuse, said with record positions."""
    seats: set[int] = set()
    for i, player in enumerate(children["players"]):
        if player["seat"] in seats:
            raise _Invalid(f"players[{i}].seat: seat {player['seat']} appears twice")
        seats.add(player["seat"])
    seqs: set[int] = set()
    for i, turn in enumerate(children["turns"]):
        if turn["seq"] in seqs:
            raise _Invalid(f"turns[{i}].seq: seq {turn['seq']} appears twice")
        seqs.add(turn["seq"])
        if turn["seat"] is not None and turn["seat"] not in seats:
            raise _Invalid(f"turns[{i}].seat: seat {turn['seat']} is not a seat of this game")
    indexes: set[tuple[int, int]] = set()
    for i, action in enumerate(children["actions"]):
        if action["turn_seq"] not in seqs:
            raise _Invalid(f"actions[{i}].turn_seq: no turn with seq {action['turn_seq']}")
        if (action["turn_seq"], action["idx"]) in indexes:
            raise _Invalid(f"actions[{i}].idx: turn {action['turn_seq']} has idx twice")
        indexes.add((action["turn_seq"], action["idx"]))
    for i, call in enumerate(children["llm_calls"]):
        if call["turn_seq"] is not None and call["turn_seq"] not in seqs:
            raise _Invalid(f"llm_calls[{i}].turn_seq: no turn with seq {call['turn_seq']}")
        if call["status"] not in LLM_CALL_STATUSES:
            raise _Invalid(f"llm_calls[{i}].status: {call['status']!r} is not a call status")
    snapshots: set[tuple[int, str]] = set()
    for i, snapshot in enumerate(children["snapshots"]):
        if snapshot["kind"] not in SNAPSHOT_KINDS:
            raise _Invalid(f"snapshots[{i}].kind: {snapshot['kind']!r} is not a snapshot kind")
        if (snapshot["turn"], snapshot["kind"]) in snapshots:
            raise _Invalid(f"snapshots[{i}]: two {snapshot['kind']} snapshots at one turn")
        snapshots.add((snapshot["turn"], snapshot["kind"]))


@dataclass
class CatalogDefinitions:
    """Catalog records read from an export, by natural key (created in the target on demand)."""

    game_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    prompts: dict[tuple[str, str], tuple[dict[str, Any], tuple[str, str] | None]] = field(
        default_factory=dict
    )
    agents: dict[AgentKey, dict[str, Any]] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        kind = record["type"]
        body = {k: v for k, v in record.items() if k != "type"}
        if kind == "game_type":
            row = _decode(_table(GameType), body, frozenset({"id"}), "game_type")
            self.game_types[row["env_id"]] = row
        elif kind == "model":
            row = _decode(_table(LLMModel), body, frozenset({"id"}), "model")
            self.models[row["name"]] = row
        elif kind == "agent_kind":
            row = _decode(_table(AgentKind), body, frozenset({"id"}), "agent_kind")
            self.kinds[row["name"]] = row
        elif kind == "prompt":
            parent = body.pop("forked_from", None)
            row = _decode(_table(Prompt), body, frozenset({"id", "forked_from_id"}), "prompt")
            parent_key = None
            if parent is not None:
                if not isinstance(parent, dict):
                    raise _Invalid("prompt.forked_from: expected {name, sha256} or null")
                parent_key = (
                    _string(parent, "name", "prompt.forked_from"),
                    _string(parent, "sha256", "prompt.forked_from"),
                )
            self.prompts[(row["name"], row["sha256"])] = (row, parent_key)
        elif kind == "agent":
            key = _agent_key(body, "agent")
            for name in ("kind", "model", "prompt", "prompt_sha256"):
                body.pop(name)
            skip = frozenset({"id", "kind_id", "model_id", "prompt_id"})
            self.agents[key] = _decode(_table(Agent), body, skip, "agent")


class CatalogResolver:
    """Natural key -> id in the target database; get-or-create from the export's definitions.

    Ids found or created inside a transaction that is rolled back are forgotten with it.
    """

    def __init__(self, definitions: CatalogDefinitions) -> None:
        self.definitions = definitions
        self.known: dict[tuple[str, Any], int] = {}
        self.pending: dict[tuple[str, Any], int] = {}
        self.created: dict[str, int] = {}
        self.pending_created: dict[str, int] = {}
        self.conn: Connection | None = None

    def begin(self, conn: Connection) -> None:
        self.conn = conn
        self.pending, self.pending_created = {}, {}

    def commit(self) -> None:
        self.known.update(self.pending)
        for kind, count in self.pending_created.items():
            self.created[kind] = self.created.get(kind, 0) + count
        self.pending, self.pending_created = {}, {}

    def rollback(self) -> None:
        self.pending, self.pending_created = {}, {}

    def _cached(self, key: tuple[str, Any]) -> int | None:
        return self.known.get(key, self.pending.get(key))

    def _remember(self, key: tuple[str, Any], found: int, created: bool) -> int:
        self.pending[key] = found
        if created:
            self.pending_created[key[0]] = self.pending_created.get(key[0], 0) + 1
        return found

    def _find_or_insert(
        self, kind: str, table: sa.Table, where: dict[str, Any], row: dict[str, Any] | None
    ) -> int:
        key = (kind, tuple(where.values()))
        cached = self._cached(key)
        if cached is not None:
            return cached
        assert self.conn is not None
        condition = sa.and_(*(table.c[k] == v for k, v in where.items()))
        found = self.conn.execute(sa.select(table.c.id).where(condition)).scalar()
        if found is not None:
            return self._remember(key, int(found), False)
        if row is None:
            described = " ".join(str(v) for v in where.values())
            raise InvalidDataError(
                f"{kind.replace('_', ' ')} {described} is neither in the database nor in the file"
            )
        twin = text_json_table(table, self.conn.dialect.name)
        new_id = self.conn.execute(sa.insert(twin).returning(twin.c.id), row).scalar_one()
        return self._remember(key, int(new_id), True)

    def game_type_id(self, env_id: str) -> int:
        return self._find_or_insert(
            "game_type",
            _table(GameType),
            {"env_id": env_id},
            self.definitions.game_types.get(env_id),
        )

    def model_id(self, name: str) -> int:
        return self._find_or_insert(
            "model", _table(LLMModel), {"name": name}, self.definitions.models.get(name)
        )

    def kind_id(self, name: str) -> int:
        return self._find_or_insert(
            "agent_kind", _table(AgentKind), {"name": name}, self.definitions.kinds.get(name)
        )

    def prompt_id(self, name: str, sha256: str) -> int:
        key = ("prompt", (name, sha256))
        cached = self._cached(key)
        if cached is not None:
            return cached
        assert self.conn is not None
        table = _table(Prompt)
        found = self.conn.execute(
            sa.select(table.c.id).where(table.c.name == name, table.c.sha256 == sha256)
        ).scalar()
        if found is not None:
            return self._remember(key, int(found), False)
        definition = self.definitions.prompts.get((name, sha256))
        if definition is None:
            raise InvalidDataError(
                f"prompt {name} ({sha256[:12]}) is neither in the database nor in the file"
            )
        row, parent = dict(definition[0]), definition[1]
        row["forked_from_id"] = self.prompt_id(*parent) if parent else None
        # Keep the exported version number if it is free here; otherwise the next one.
        versions = set(
            self.conn.execute(sa.select(table.c.version).where(table.c.name == name)).scalars()
        )
        if row["version"] in versions:
            row["version"] = max(versions) + 1
        new_id = self.conn.execute(sa.insert(table).returning(table.c.id), row).scalar_one()
        return self._remember(key, int(new_id), True)

    def agent_id(self, key: AgentKey) -> int:
        """The agent with this kind, model and prompt (natural key); created if missing."""
        cached = self._cached(("agent", key))
        if cached is not None:
            return cached
        assert self.conn is not None
        kind, model, prompt, sha = key
        ids = {
            "kind_id": self.kind_id(kind),
            "model_id": self.model_id(model),
            "prompt_id": self.prompt_id(prompt, sha),
        }
        table = _table(Agent)
        found = self.conn.execute(
            sa.select(table.c.id).where(*(table.c[k] == v for k, v in ids.items()))
        ).scalar()
        if found is not None:
            return self._remember(("agent", key), int(found), False)
        row = dict(self.definitions.agents.get(key) or {"alias": None, "config": None})
        alias = row.get("alias")
        if alias is not None:
            taken = self.conn.execute(sa.select(table.c.id).where(table.c.alias == alias)).scalar()
            if taken is not None:
                raise InvalidDataError(
                    f"agent alias {alias!r} belongs to another agent (kind, model or prompt "
                    "differ) in the database"
                )
        row.update(ids)
        twin = text_json_table(table, self.conn.dialect.name)
        new_id = self.conn.execute(sa.insert(twin).returning(twin.c.id), row).scalar_one()
        return self._remember(("agent", key), int(new_id), True)


@contextmanager
def _input(path: str | Path) -> Iterator[tuple[IO[str], IO[bytes]]]:
    """The file as text (gunzipped if it is gzip, whatever its name) and the raw file."""
    raw = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        binary: IO[bytes] = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if compressed else raw
        yield io.TextIOWrapper(binary, encoding="utf-8"), raw
    finally:
        raw.close()


def import_games(
    engine: Engine,
    path: str | Path,
    *,
    chunk_games: int = CHUNK_GAMES,
    progress: Progress | None = None,
) -> ImportResult:
    """Import an export file; games whose UUID is already present are skipped."""
    started = time.perf_counter()
    name = str(path)
    result = ImportResult(path=name)
    if not Path(path).is_file():
        raise InvalidArgumentError(f"no such file: {name}")
    size = Path(path).stat().st_size
    definitions = CatalogDefinitions()
    resolver = CatalogResolver(definitions)
    pending: list[_PendingGame] = []
    with _input(path) as (text, raw):
        header_seen = False
        for number, line in enumerate(text, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                record = None
                problem = f"not valid JSON: {exc.msg} at column {exc.colno}"
            if not header_seen:
                _check_header(record, name, number)
                header_seen = True
                continue
            if record is None or not isinstance(record, dict):
                result.problems.append(
                    ImportProblem(
                        name,
                        number,
                        problem if record is None else "a record must be a JSON object",
                    )
                )
                result.rejected += 1
                continue
            try:
                kind = record.get("type")
                if kind == "game":
                    game = _decode_game(record)
                    game.line = number
                    pending.append(game)
                elif kind in CATALOG_TYPES:
                    definitions.add(record)
                else:
                    raise _Invalid(f"unknown record type {kind!r}")
            except _Invalid as exc:
                result.problems.append(ImportProblem(name, number, str(exc)))
                result.rejected += 1
            if len(pending) >= chunk_games:
                _write_chunk(engine, pending, resolver, result)
                pending = []
                if progress is not None:
                    progress(raw.tell(), size)
        if not header_seen:
            raise InvalidDataError(f"{name}: empty file, not an arenadb export")
    if pending:
        _write_chunk(engine, pending, resolver, result)
    if progress is not None:
        progress(size, size)
    result.created = dict(resolver.created)
    result.problems.sort(key=lambda p: p.line)
    result.seconds = time.perf_counter() - started
    return result


def _check_header(record: Any, name: str, number: int) -> None:
    if not isinstance(record, dict) or record.get("type") != "header":
        raise InvalidDataError(f"{name}:{number}: not an arenadb export (no header line)")
    if record.get("format") != FORMAT:
        raise InvalidDataError(f"{name}:{number}: format {record.get('format')!r} is not {FORMAT}")
    if record.get("version") != FORMAT_VERSION:
        raise InvalidDataError(
            f"{name}:{number}: export format version {record.get('version')!r} is not supported "
            f"(this arenadb reads version {FORMAT_VERSION})"
        )


def _write_chunk(
    engine: Engine, games: list[_PendingGame], resolver: CatalogResolver, result: ImportResult
) -> None:
    """Write a chunk of valid games in one transaction; isolate a game the database refuses."""
    try:
        with write_transaction(engine) as conn:
            resolver.begin(conn)
            outcome = _write_games(conn, games, resolver)
    except sa.exc.DBAPIError as exc:
        resolver.rollback()
        if len(games) > 1:
            for game in games:
                _write_chunk(engine, [game], resolver, result)
            return
        detail = " ".join(str(exc.orig).split())
        result.problems.append(ImportProblem(result.path, games[0].line, f"refused: {detail}"))
        result.rejected += 1
        return
    except BaseException:
        resolver.rollback()
        raise
    resolver.commit()
    written, skipped, problems = outcome
    result.imported += len(written)
    result.rows += sum(g.rows for g in written)
    result.skipped += skipped
    result.rejected += len(problems)
    result.problems += [ImportProblem(result.path, line, message) for line, message in problems]


def _write_games(
    conn: Connection, games: Sequence[_PendingGame], resolver: CatalogResolver
) -> tuple[list[_PendingGame], int, list[tuple[int, str]]]:
    uuids = [g.uuid for g in games]
    present = set(conn.execute(sa.select(GAMES.c.uuid).where(GAMES.c.uuid.in_(uuids))).scalars())
    ready: list[tuple[_PendingGame, list[int], list[int | None]]] = []
    skipped = 0
    problems: list[tuple[int, str]] = []
    for game in games:
        if game.uuid in present:
            skipped += 1
            continue
        present.add(game.uuid)  # the same game twice in one file
        try:
            game.row["game_type_id"] = resolver.game_type_id(game.game_type)
            agents = [resolver.agent_id(key) for key in game.agents]
            models = [resolver.model_id(m) if m else None for m in game.models]
        except InvalidDataError as exc:
            problems.append((game.line, str(exc)))
            continue
        ready.append((game, agents, models))
    if not ready:
        return [], skipped, problems
    twin = text_json_table(GAMES, conn.dialect.name)
    new_ids = (
        conn.execute(
            sa.insert(twin).returning(twin.c.id, sort_by_parameter_order=True),
            [game.row for game, _a, _m in ready],
        )
        .scalars()
        .all()
    )
    for key, (table, skip, _order) in CHILDREN.items():
        columns = [c.name for c in table.c if c.name not in skip or c.name == "game_id"]
        extra = "agent_id" if key == "players" else "model_id" if key == "llm_calls" else None
        if extra:
            columns.append(extra)
        rows: list[tuple[Any, ...]] = []
        for (game, agents, models), game_id in zip(ready, new_ids, strict=True):
            links = agents if key == "players" else models
            for index, row in enumerate(game.children[key]):
                values = {**row, "game_id": game_id}
                if extra:
                    values[extra] = links[index]
                rows.append(tuple(values[c] for c in columns))
        if rows:
            insert_rows(conn, table, columns, rows)
    return [game for game, _a, _m in ready], skipped, problems
