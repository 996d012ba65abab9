"""Export games to JSON Lines, to be imported into any arena database by game UUID.

    from arenadb.portability.export import GameFilter, export_games
    from arenadb.portability.importing import import_games

    export_games(engine, "games.jsonl.gz", GameFilter(status="completed"))
    result = import_games(other_engine, "games.jsonl.gz")   # twice: the second adds nothing
    print(result.imported, result.skipped, [str(p) for p in result.problems])

The format (version 1), one JSON object per line, gzip when the file name ends in `.gz`:
- line 1, `{"type": "header", "format": "arenadb-export", "version": 1, "arenadb": ...,
  "exported_at": ..., "filters": {...}, "end_record": true}`;
- catalog records, each written once, before the first game that needs it:
  `game_type` (by `env_id`), `model` (by `name`), `agent_kind` (by `name`), `prompt` (by `name` +
  `sha256`, with its `content` and the natural key of the prompt it was `forked_from`), `agent`
  (by `kind` + `model` + `prompt` + `prompt_sha256`, with its alias, class and config);
- one `game` record per game: the game's columns, its `game_type` env id, and its `players`
  (each with the agent's natural key), `turns`, `actions`, `llm_calls` (with the model's name) and
  `snapshots`. Database ids are not exported: the game's UUID is its identity, and a game gets a
  new id in the database it is imported into. Ratings are not exported (they are derived: run
  `arenadb ratings rebuild` after an import);
- last, `{"type": "end", "games": N}`: a file whose header says `end_record` and that lacks it
  is truncated (files written before the end record existed have neither).

Export streams in constant memory: games are read by keyset pagination on the id, a chunk at a
time, with one query per child table per chunk.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.inspection.filters import GameFilter, count_games
from arenadb.inspection.filters import matching_game_ids as _filtered
from arenadb.models import (
    Agent,
    AgentKind,
    Game,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    GameType,
    LLMCall,
    LLMModel,
    PlayerAction,
    Prompt,
)
from arenadb.portability.outputs import safe_output, sqlite_files
from arenadb.progress import Progress

FORMAT = "arenadb-export"
FORMAT_VERSION = 1
CHUNK_GAMES = 200


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


GAMES = _table(Game)
PLAYERS = _table(GamePlayer)
TURNS = _table(GameTurn)
ACTIONS = _table(PlayerAction)
CALLS = _table(LLMCall)
SNAPSHOTS = _table(GameSnapshot)

# Columns a record leaves out: ids, and foreign keys it replaces by natural keys.
GAME_SKIP = frozenset({"id", "game_type_id"})
# key in the game record -> (table, skipped columns, ORDER BY within a game)
CHILDREN: dict[str, tuple[sa.Table, frozenset[str], tuple[str, ...]]] = {
    "players": (PLAYERS, frozenset({"game_id", "agent_id"}), ("seat",)),
    "turns": (TURNS, frozenset({"game_id"}), ("seq",)),
    "actions": (ACTIONS, frozenset({"id", "game_id"}), ("turn_seq", "idx")),
    "llm_calls": (CALLS, frozenset({"id", "game_id", "model_id"}), ("id",)),
    "snapshots": (SNAPSHOTS, frozenset({"id", "game_id"}), ("id",)),
}
CATALOG_TYPES = ("game_type", "model", "agent_kind", "prompt", "agent")


# --------------------------------------------------------------------------- encoding


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _encode(table: sa.Table, row: Mapping[Any, Any], skip: frozenset[str]) -> dict[str, Any]:
    return {c.name: _plain(row[c.name]) for c in table.c if c.name not in skip}


# --------------------------------------------------------------------------- export


@dataclass
class ExportResult:
    path: str
    games: int = 0
    rows: int = 0  # games and their child rows
    catalog: int = 0  # catalog records written
    seconds: float = 0.0


@contextmanager
def _read_snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction: the whole export sees one state of the database."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with conn.begin():
            yield conn


class _CatalogEmitter:
    """Yields each catalog record once, just before the first game that refers to it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.seen: dict[str, set[int]] = {t: set() for t in CATALOG_TYPES}
        self.names: dict[str, dict[int, Any]] = {t: {} for t in CATALOG_TYPES}

    def _rows(self, table: sa.Table, ids: set[int]) -> list[Any]:
        if not ids:
            return []
        query = sa.select(table).where(table.c.id.in_(sorted(ids))).order_by(table.c.id)
        return list(self.conn.execute(query).mappings())

    def records(
        self, type_ids: set[int], agent_ids: set[int], model_ids: set[int]
    ) -> Iterator[dict[str, Any]]:
        yield from self._game_types(type_ids - self.seen["game_type"])
        agents = self._rows(_table(Agent), agent_ids - self.seen["agent"])
        yield from self._models(model_ids | {a["model_id"] for a in agents})
        kinds = {a["kind_id"] for a in agents} - self.seen["agent_kind"]
        for row in self._rows(_table(AgentKind), kinds):
            self.seen["agent_kind"].add(row["id"])
            self.names["agent_kind"][row["id"]] = row["name"]
            yield {"type": "agent_kind", **_encode(_table(AgentKind), row, frozenset({"id"}))}
        yield from self._prompts({a["prompt_id"] for a in agents})
        for row in agents:
            self.seen["agent"].add(row["id"])
            key = self.agent_key(row)
            self.names["agent"][row["id"]] = key
            skip = frozenset({"id", "kind_id", "model_id", "prompt_id"})
            yield {"type": "agent", **key, **_encode(_table(Agent), row, skip)}

    def agent_key(self, row: Mapping[str, Any]) -> dict[str, Any]:
        prompt = self.names["prompt"][row["prompt_id"]]
        return {
            "kind": self.names["agent_kind"][row["kind_id"]],
            "model": self.names["model"][row["model_id"]],
            "prompt": prompt["name"],
            "prompt_sha256": prompt["sha256"],
            "config_hash": row["config_hash"],
        }

    def _game_types(self, ids: set[int]) -> Iterator[dict[str, Any]]:
        for row in self._rows(_table(GameType), ids):
            self.seen["game_type"].add(row["id"])
            self.names["game_type"][row["id"]] = row["env_id"]
            yield {"type": "game_type", **_encode(_table(GameType), row, frozenset({"id"}))}

    def _models(self, ids: set[int]) -> Iterator[dict[str, Any]]:
        for row in self._rows(_table(LLMModel), ids - self.seen["model"]):
            self.seen["model"].add(row["id"])
            self.names["model"][row["id"]] = row["name"]
            yield {"type": "model", **_encode(_table(LLMModel), row, frozenset({"id"}))}

    def _prompts(self, ids: set[int]) -> Iterator[dict[str, Any]]:
        todo = ids - self.seen["prompt"]
        if not todo:
            return
        rows = self._rows(_table(Prompt), todo)
        # A fork's parent goes first, so that an import can link them.
        yield from self._prompts({r["forked_from_id"] for r in rows if r["forked_from_id"]})
        for row in rows:
            if row["id"] in self.seen["prompt"]:
                continue
            self.seen["prompt"].add(row["id"])
            self.names["prompt"][row["id"]] = {"name": row["name"], "sha256": row["sha256"]}
            parent = row["forked_from_id"]
            record = {"type": "prompt", **_encode(_table(Prompt), row, frozenset({"id"}))}
            record["forked_from"] = self.names["prompt"].get(parent) if parent else None
            del record["forked_from_id"]
            yield record


def export_records(
    engine: Engine, filters: GameFilter | None = None, *, chunk_games: int = CHUNK_GAMES
) -> Iterator[dict[str, Any]]:
    """The export as records: the header, then catalog and game records, oldest game first."""
    from arenadb import __version__

    filters = filters or GameFilter()
    yield {
        "type": "header",
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "arenadb": __version__,
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "filters": filters.describe(),
        "end_record": True,
    }
    games = 0
    for record in _body_records(engine, filters, chunk_games):
        games += record["type"] == "game"
        yield record
    # Without it, a file cut at a line boundary (a full disk, a partial download, `head`) would
    # read as a complete export of fewer games.
    yield {"type": "end", "games": games}


def _body_records(
    engine: Engine, filters: GameFilter, chunk_games: int
) -> Iterator[dict[str, Any]]:
    with _read_snapshot(engine) as conn:
        matching = _filtered(conn, filters)
        catalog = _CatalogEmitter(conn)
        last_id, left = 0, filters.limit
        while left is None or left > 0:
            size = chunk_games if left is None else min(chunk_games, left)
            page = matching.where(GAMES.c.id > last_id).order_by(GAMES.c.id).limit(size)
            games = list(
                conn.execute(sa.select(GAMES).where(GAMES.c.id.in_(page)).order_by(GAMES.c.id))
                .mappings()
                .all()
            )
            if not games:
                return
            ids = [g["id"] for g in games]
            children = {key: _children(conn, spec, ids) for key, spec in CHILDREN.items()}
            agent_ids = {p["agent_id"] for rows in children["players"].values() for p in rows}
            model_ids = {
                c["model_id"]
                for rows in children["llm_calls"].values()
                for c in rows
                if c["model_id"] is not None
            }
            yield from catalog.records({g["game_type_id"] for g in games}, agent_ids, model_ids)
            for game in games:
                yield _game_record(game, children, catalog)
            last_id = ids[-1]
            if left is not None:
                left -= len(games)


def _children(
    conn: Connection, spec: tuple[sa.Table, frozenset[str], tuple[str, ...]], ids: list[int]
) -> dict[int, list[Mapping[Any, Any]]]:
    table, _skip, order = spec
    query = (
        sa.select(table)
        .where(table.c.game_id.in_(ids))
        .order_by(table.c.game_id, *(table.c[name] for name in order))
    )
    out: dict[int, list[Mapping[Any, Any]]] = {}
    for row in conn.execute(query).mappings():
        out.setdefault(row["game_id"], []).append(row)
    return out


def _game_record(
    game: Mapping[Any, Any],
    children: dict[str, dict[int, list[Mapping[Any, Any]]]],
    catalog: _CatalogEmitter,
) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "game", **_encode(GAMES, game, GAME_SKIP)}
    record["game_type"] = catalog.names["game_type"][game["game_type_id"]]
    for key, (table, skip, _order) in CHILDREN.items():
        rows = children[key].get(game["id"], [])
        encoded = []
        for row in rows:
            item = _encode(table, row, skip)
            if key == "players":
                item["agent"] = catalog.names["agent"][row["agent_id"]]
            elif key == "llm_calls":
                model_id = row["model_id"]
                item["model"] = catalog.names["model"][model_id] if model_id else None
            encoded.append(item)
        record[key] = encoded
    return record


def export_games(
    engine: Engine,
    destination: str | Path | IO[str],
    filters: GameFilter | None = None,
    *,
    chunk_games: int = CHUNK_GAMES,
    progress: Progress | None = None,
    force: bool = False,
) -> ExportResult:
    """Write matching games as JSON Lines to a file (gzip if it ends in .gz) or a text stream.

    A file is written under a temporary name and renamed at the end: a failed export leaves no
    half-written file behind. An existing file is replaced only with `force`, and never the
    database being read (see `portability/outputs.py`).
    """
    started = time.perf_counter()
    # Counted first even without a progress callback: this resolves the filter's references, so
    # an unknown agent or game type fails before the header is written.
    total = count_games(engine, filters)
    name = destination if isinstance(destination, str | Path) else "<stream>"
    result = ExportResult(path=str(name))
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    with _output(destination, force=force, protected=sqlite_files(database)) as out:
        for record in export_records(engine, filters, chunk_games=chunk_games):
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            kind = record["type"]
            if kind == "game":
                result.games += 1
                result.rows += 1 + sum(len(record[key]) for key in CHILDREN)
                if progress is not None and (result.games % 100 == 0 or result.games == total):
                    progress("games", result.games, total)
            elif kind not in ("header", "end"):
                result.catalog += 1
    if progress is not None:
        progress("games", result.games, max(total, result.games))
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _output(
    destination: str | Path | IO[str], *, force: bool, protected: list[Path]
) -> Iterator[IO[str]]:
    if not isinstance(destination, str | Path):
        yield destination
        return
    path = Path(destination)
    with safe_output(path, force=force, protected=protected) as partial:
        if path.name.endswith(".gz"):
            with gzip.open(partial, "wt", encoding="utf-8", compresslevel=6) as out:
                yield cast(IO[str], out)
        else:
            with open(partial, "w", encoding="utf-8") as out:
                yield out
