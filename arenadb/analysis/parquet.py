"""`arenadb export --format parquet DIR`: a Hive-partitioned Parquet dataset with a manifest.

    DIR/manifest.json
    DIR/games/game_type=SecretMafia-v0/day=2026-11-30/part-000000-0.parquet
    DIR/players/..., DIR/turns/..., DIR/actions/..., DIR/llm_calls/..., DIR/rating_events/...
    DIR/ratings/game_type=.../day=.../...

Every table of `arenadb.analysis.tables` is partitioned by `game_type` and `day`, so a reader
that filters on them (DuckDB, pandas, polars, Spark, a warehouse) reads only those folders. The
manifest lists every file with its row count, size and sha256, and each table's total; after
writing, the dataset is read back and checked against it (and the games against a count in the
database) before it is moved into place: a mismatch is an error and leaves no dataset, never an
empty or partial one. `verify_dataset(DIR)` runs the same check later.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.analysis.deps import require
from arenadb.analysis.tables import (
    CHILDREN,
    GAMES,
    PARTITION_COLUMNS,
    RATINGS,
    TABLES,
    AnalysisTable,
    child_rows,
    game_chunks,
    rating_rows,
)
from arenadb.errors import IntegrityCheckError
from arenadb.inspection.filters import GameFilter, count_games
from arenadb.progress import Progress

MANIFEST = "manifest.json"
FORMAT = "arenadb-parquet"
FORMAT_VERSION = 1
_ENTRY_KEYS = frozenset({"path", "bytes", "sha256", "rows"})


@dataclass
class ParquetExportResult:
    path: str
    games: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0


def arrow_schema(spec: AnalysisTable) -> Any:
    """The Arrow schema of an analysis table, from the models' column types."""
    pa = require("pyarrow")
    fields = []
    for column in spec.table.c:
        kind = column.type
        if isinstance(kind, sa.types.TypeDecorator):
            kind = kind.impl_instance
        if isinstance(kind, sa.Boolean):
            arrow = pa.bool_()
        elif isinstance(kind, sa.Integer):
            arrow = pa.int64()
        elif isinstance(kind, sa.Float | sa.Numeric):
            arrow = pa.float64()
        elif isinstance(kind, sa.DateTime):
            arrow = pa.timestamp("us", tz="UTC")
        else:  # text, JSON text, UUID text
            arrow = pa.string()
        fields.append(pa.field(column.name, arrow, nullable=column.nullable or column.primary_key))
    fields += [pa.field(name, pa.string(), nullable=False) for name in PARTITION_COLUMNS]
    return pa.schema(fields)


def _arrow_table(spec: AnalysisTable, schema: Any, rows: Sequence[tuple[Any, ...]]) -> Any:
    pa = require("pyarrow")
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for values, arrow_field in zip(columns, schema, strict=True):
        if pa.types.is_timestamp(arrow_field.type):
            values = [_utc(v) for v in values]
        arrays.append(pa.array(list(values), type=arrow_field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _utc(value: Any) -> Any:
    if isinstance(value, str):  # SQLite text that skipped the type's processing
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class _DatasetWriter:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.chunks: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.schemas = {name: arrow_schema(spec) for name, spec in TABLES.items()}

    def write(self, spec: AnalysisTable, rows: Sequence[tuple[Any, ...]]) -> None:
        pq = require("pyarrow.parquet")
        self.rows[spec.name] = self.rows.get(spec.name, 0) + len(rows)
        if not rows:
            return
        chunk = self.chunks.get(spec.name, 0)
        self.chunks[spec.name] = chunk + 1
        pq.write_to_dataset(
            _arrow_table(spec, self.schemas[spec.name], rows),
            root_path=str(self.root / spec.name),
            partition_cols=list(PARTITION_COLUMNS),
            basename_template=f"part-{chunk:06d}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )

    def write_empty(self) -> None:
        """Tables with no rows get one empty file, so that readers still see their columns."""
        pq = require("pyarrow.parquet")
        for name, spec in TABLES.items():
            if self.rows.get(name, 0) == 0:
                folder = self.root / name
                folder.mkdir(parents=True, exist_ok=True)
                schema = self.schemas[name]
                empty = _arrow_table(spec, schema, [])
                pq.write_table(empty, folder / "empty.parquet")


def export_parquet(
    engine: Engine,
    directory: str | Path,
    filters: GameFilter | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> ParquetExportResult:
    """Write the games that match (and what hangs off them, and the current ratings) as a
    Parquet dataset in `directory` (new, or with `force` an earlier dataset replaced)."""
    from arenadb.portability.outputs import safe_output_dir

    require("pyarrow.parquet")
    started = time.perf_counter()
    filters = filters or GameFilter()
    total = count_games(engine, filters)  # resolves references first: an unknown agent fails
    result = ParquetExportResult(path=str(directory))
    with safe_output_dir(directory, force=force, marker=MANIFEST) as root:
        writer = _DatasetWriter(root)
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for games in game_chunks(conn, filters):
                writer.write(GAMES, games)
                for spec in CHILDREN:
                    writer.write(spec, child_rows(conn, spec, games))
                result.games += len(games)
                if progress is not None:
                    progress("games", result.games, total)
            type_id = None
            if filters.game_type is not None:
                from arenadb.catalog.refs import resolve_game_type_id

                type_id = resolve_game_type_id(conn, filters.game_type)
            writer.write(RATINGS, rating_rows(conn, type_id))
        writer.write_empty()
        if result.games != total:
            raise IntegrityCheckError(
                f"exported {result.games} games but {total} match: the database changed or "
                "the export is incomplete; nothing was written"
            )
        manifest = _manifest(root, writer.rows, filters)
        (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        checked = verify_dataset(root)
        result.rows = {name: table["rows"] for name, table in checked["tables"].items()}
        result.files = sum(len(t["files"]) for t in checked["tables"].values())
        result.bytes = sum(f["bytes"] for t in checked["tables"].values() for f in t["files"])
    result.seconds = time.perf_counter() - started
    return result


def _files(root: Path, name: str) -> list[Path]:
    """Every file of a table's folder, Parquet or not: a stranger among them is a difference."""
    return sorted(path for path in (root / name).rglob("*") if not path.is_dir())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_entry(root: Path, path: Path) -> dict[str, Any]:
    pq = require("pyarrow.parquet")
    relative = path.relative_to(root).as_posix()
    entry: dict[str, Any] = {"path": relative, "bytes": path.stat().st_size}
    entry["sha256"] = _sha256(path)
    try:
        entry["rows"] = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # pyarrow's errors for a damaged file have no common base
        raise IntegrityCheckError(
            f"{root}: {relative} is not a readable Parquet file ({exc})"
        ) from None
    return entry


def _manifest(root: Path, rows: dict[str, int], filters: GameFilter) -> dict[str, Any]:
    from arenadb import __version__

    tables: dict[str, Any] = {}
    for name in TABLES:
        files = [_file_entry(root, path) for path in _files(root, name)]
        tables[name] = {"rows": rows.get(name, 0), "files": files}
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "arenadb": __version__,
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "filters": filters.describe(),
        "partitioning": {"flavor": "hive", "columns": list(PARTITION_COLUMNS)},
        "tables": tables,
    }


def verify_dataset(directory: str | Path) -> dict[str, Any]:
    """Check a dataset against its manifest: every file present with its row count and sha256,
    no file the manifest does not list, each table's files adding up to its row count. Returns
    the manifest; raises IntegrityCheckError naming the first difference."""
    root = Path(directory)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IntegrityCheckError(f"{root}: no readable {MANIFEST} ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IntegrityCheckError(f"{root}: not an arenadb Parquet dataset")
    tables = _listed_tables(root, manifest)
    for name, table in tables.items():
        listed = {entry["path"]: entry for entry in table["files"]}
        found = {path.relative_to(root).as_posix(): path for path in _files(root, name)}
        _same_files(root, name, listed, found)
        for relative, entry in listed.items():
            path = found[relative]
            actual = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
            if actual == {"bytes": entry["bytes"], "sha256": entry["sha256"]}:
                actual["rows"] = _file_entry(root, path)["rows"]
            for key in ("bytes", "sha256", "rows"):
                if actual[key] != entry[key]:
                    raise IntegrityCheckError(
                        f"{root}: {relative} has {key} {actual[key]}, the manifest says "
                        f"{entry[key]}"
                    )
        if sum(entry["rows"] for entry in listed.values()) != table["rows"]:
            raise IntegrityCheckError(
                f"{root}: the files of {name} hold "
                f"{sum(e['rows'] for e in listed.values())} rows, the manifest says "
                f"{table['rows']}"
            )
    return dict(manifest)


def _listed_tables(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's tables, checked to be every table of a dataset, each with well-formed
    file entries, and the only folders in `root`: a manifest that drops a table (and its folder)
    or lists none at all describes a dataset that lost data, not a smaller valid one."""
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or set(tables) != set(TABLES):
        listed = sorted(tables) if isinstance(tables, dict) else []
        missing = sorted(set(TABLES) - set(listed)) or sorted(set(listed) - set(TABLES))
        raise IntegrityCheckError(
            f"{root}: the manifest does not list the dataset's tables ({', '.join(missing)})"
        )
    for name, table in tables.items():
        files = table.get("files") if isinstance(table, dict) else None
        if not (
            isinstance(files, list)
            and isinstance(table.get("rows"), int)
            and all(isinstance(f, dict) and f.keys() >= _ENTRY_KEYS for f in files)
        ):
            raise IntegrityCheckError(f"{root}: the manifest's entry for {name} is malformed")
    strangers = sorted(
        p.name for p in root.iterdir() if p.name != MANIFEST and p.name not in TABLES
    )
    if strangers:
        raise IntegrityCheckError(f"{root}: {strangers[0]} is not part of the dataset")
    return tables


def _same_files(root: Path, name: str, listed: Iterable[str], found: Iterable[str]) -> None:
    missing = sorted(set(listed) - set(found))
    extra = sorted(set(found) - set(listed))
    if missing:
        raise IntegrityCheckError(f"{root}: {name} file {missing[0]} is missing")
    if extra:
        raise IntegrityCheckError(f"{root}: {name} file {extra[0]} is not in the manifest")
