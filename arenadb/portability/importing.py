"""Import an export file (see `arenadb.portability.export` for the format) by game UUID.

    from arenadb.portability.importing import import_games

    result = import_games(engine, "games.jsonl.gz")   # twice: the second adds nothing
    print(result.imported, result.skipped, [str(p) for p in result.problems])

Import validates each line against the schema first (`arenadb.portability.decoding`: types,
required keys, finite numbers, references between seats, turns and actions); a game that fails
is reported as `FILE:LINE: problem` and nothing of it is written, the import carries on with the
next game, and the result lists every problem. Games already present (same UUID) are skipped, so
an import can be run again. Catalog rows are found by natural key, or created from the file.
Valid games are written a chunk per transaction; if the database rejects a chunk, its games are
retried one transaction each, so that only the offending game is left out.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.db.bulk import insert_rows, text_json_table
from arenadb.db.engine import write_transaction
from arenadb.db.rollups import add_calls
from arenadb.db.statistics import refresh_statistics
from arenadb.errors import ConflictError, InvalidArgumentError, InvalidDataError
from arenadb.models import Agent, AgentKind, GameType, LLMModel, Prompt
from arenadb.models.catalog import config_hash
from arenadb.portability.decoding import (
    AgentKey,
    CatalogDefinitions,
    InvalidRecord,
    PendingGame,
    decode_game,
)
from arenadb.portability.export import (
    CATALOG_TYPES,
    CHILDREN,
    CHUNK_GAMES,
    FORMAT,
    FORMAT_VERSION,
    GAMES,
    _table,
)
from arenadb.progress import Progress


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
        kind, model, prompt, sha, digest = key
        row = dict(self.definitions.agents.get(key) or {"alias": None, "config": None})
        ids = {
            "kind_id": self.kind_id(kind),
            "model_id": self.model_id(model),
            "prompt_id": self.prompt_id(prompt, sha),
            "config_hash": digest or row.get("config_hash") or config_hash(row.get("config")),
        }
        table = _table(Agent)
        found = self.conn.execute(
            sa.select(table.c.id).where(*(table.c[k] == v for k, v in ids.items()))
        ).scalar()
        if found is not None:
            return self._remember(("agent", key), int(found), False)
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
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {path}: {exc.strerror}") from None
    try:
        try:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
        except OSError as exc:  # /proc/self/mem, a device that refuses reads
            raise InvalidArgumentError(f"cannot read {path}: {exc.strerror}") from None
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
    try:
        is_dir, is_file = Path(path).is_dir(), Path(path).is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL
        raise InvalidArgumentError(f"cannot read {name}: {getattr(exc, 'strerror', exc)}") from None
    if is_dir:
        raise InvalidArgumentError(f"{name} is a directory: name an export file")
    if not is_file:
        what = "is not a regular file" if os.path.lexists(path) else "does not exist"
        raise InvalidArgumentError(f"{name} {what}: name an export file")
    size = Path(path).stat().st_size
    _require_schema(engine)
    definitions = CatalogDefinitions()
    resolver = CatalogResolver(definitions)
    pending: list[PendingGame] = []
    ending = _Ending()
    with _input(path) as (text, raw):
        header_seen = False
        number = 0
        for number, line in enumerate(_lines(text), 1):
            if isinstance(line, _Damage):
                # Truncated or corrupt: the complete records before it are imported.
                if not header_seen:
                    raise InvalidDataError(f"{name}:{number}: {line.reason}")
                result.problems.append(ImportProblem(name, number, line.reason))
                ending.damaged = True
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                record = None
                problem = f"not valid JSON: {exc.msg} at column {exc.colno}"
            if not header_seen:
                _check_header(record, name, number)
                ending.expected = record.get("end_record") is True
                header_seen = True
                continue
            if record is None:
                ending.damaged = True  # a cut line: already the problem that says so
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
            wrong_ending = ending.problem(record)
            if wrong_ending is not None:
                result.problems.append(ImportProblem(name, number, wrong_ending))
                continue
            if record.get("type") == "end":
                continue
            try:
                kind = record.get("type")
                if kind == "game":
                    game = decode_game(record)
                    game.line = number
                    pending.append(game)
                elif kind in CATALOG_TYPES:
                    definitions.add(record)
                else:
                    raise InvalidRecord(f"unknown record type {kind!r}")
            except InvalidRecord as exc:
                result.problems.append(ImportProblem(name, number, str(exc)))
                result.rejected += 1
            if len(pending) >= chunk_games:
                _write_chunk(engine, pending, resolver, result)
                pending = []
                if progress is not None:
                    progress("bytes", raw.tell(), size)
        if not header_seen:
            raise InvalidDataError(f"{name}: empty file, not an arenadb export")
        if ending.missing:
            result.problems.append(
                ImportProblem(
                    name,
                    number + 1,
                    "the file ends before its end record: it is truncated (the complete games "
                    "before this line are imported)",
                )
            )
    if pending:
        _write_chunk(engine, pending, resolver, result)
    if result.imported:
        refresh_statistics(engine)
    if progress is not None:
        progress("bytes", size, size)
    result.created = dict(resolver.created)
    result.problems.sort(key=lambda p: p.line)
    result.seconds = time.perf_counter() - started
    return result


def _require_schema(engine: Engine) -> None:
    """One clear error for a database without arenadb's tables (instead of one per game)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(GAMES.name):
            raise ConflictError(
                f"database {engine.url.render_as_string(hide_password=True)} has no arenadb "
                "schema: run `arenadb migrate up` first"
            )


@dataclass
class _Damage:
    reason: str


def _lines(text: IO[str]) -> Iterator[str | _Damage]:
    """The file's lines, then a `_Damage` in place of the line where the file stops making sense
    (a truncated or corrupt gzip stream, bytes that are not UTF-8)."""
    try:
        yield from text
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield _Damage(f"the file is damaged here (truncated or corrupt gzip: {exc})")
    except UnicodeDecodeError:
        yield _Damage("the file is damaged here (not UTF-8 text)")
    except OSError as exc:
        yield _Damage(f"the file cannot be read past here ({exc.strerror})")


@dataclass
class _Ending:
    """The `end` record a header promises (`end_record`): it must come last, once, and count
    the file's games; a file that stops before it was cut."""

    expected: bool = False
    games: int = 0
    seen: bool = False
    damaged: bool = False  # the file is reported damaged already: no second problem for it

    @property
    def missing(self) -> bool:
        return self.expected and not self.seen and not self.damaged

    def problem(self, record: dict[str, Any]) -> str | None:
        """What is wrong with this record's place in the file, if anything."""
        if self.seen:
            return "a record after the end record"
        if record.get("type") == "game":
            self.games += 1
        elif record.get("type") == "end":
            self.seen = True
            if record.get("games") != self.games:
                return (
                    f"the end record counts {record.get('games')!r} games, the file holds "
                    f"{self.games}: records are missing"
                )
        return None


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
    engine: Engine, games: list[PendingGame], resolver: CatalogResolver, result: ImportResult
) -> None:
    """Write a chunk of valid games in one transaction; isolate a game the database refuses."""
    try:
        with write_transaction(engine) as conn:
            resolver.begin(conn)
            outcome = _write_games(conn, games, resolver)
    except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
        # The database refused a value (a CHECK, a key, a range): find the game and go on.
        # Any other error (a lost connection, a missing table) is not one game's and stops here.
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
    conn: Connection, games: Sequence[PendingGame], resolver: CatalogResolver
) -> tuple[list[PendingGame], int, list[tuple[int, str]]]:
    uuids = [g.uuid for g in games]
    present = set(conn.execute(sa.select(GAMES.c.uuid).where(GAMES.c.uuid.in_(uuids))).scalars())
    ready: list[tuple[PendingGame, list[int], list[int | None]]] = []
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
            if key == "llm_calls":
                add_calls(conn, columns, rows)
    return [game for game, _a, _m in ready], skipped, problems
