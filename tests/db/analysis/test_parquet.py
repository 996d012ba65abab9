"""`arenadb export --format parquet` and `arenadb.analysis`: the same tables, both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from arenadb.analysis import export_parquet, games_df, llm_calls_df, ratings_df, verify_dataset
from arenadb.analysis.tables import TABLES
from arenadb.cli import app
from arenadb.config import Settings
from arenadb.errors import IntegrityCheckError, RefusedError
from arenadb.inspection.filters import GameFilter
from arenadb.models import Game, GamePlayer, GameTurn, LLMCall, Rating
from tests.support.synthetic import build_arena

duckdb = pytest.importorskip("duckdb", reason="the analysis extra (pip install arenadb[analysis])")
runner = CliRunner()


def _count(engine: Engine, model: type, *where: sa.ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(model.__table__)  # type: ignore[attr-defined]
        return int(conn.execute(query.where(*where)).scalar_one())


def _one(sql: str) -> tuple:
    return tuple(duckdb.sql(sql).fetchall()[0])


def _scan(root: Path, table: str) -> str:
    return f"read_parquet('{root}/{table}/**/*.parquet', hive_partitioning=true)"


def test_the_dataset_holds_every_row_partitioned_by_game_type_and_day(
    engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=40)
    root = tmp_path / "dataset"

    result = export_parquet(engine, root)

    assert result.games == 40
    counts = {"games": Game, "players": GamePlayer, "turns": GameTurn, "llm_calls": LLMCall}
    for table, model in counts.items():
        (rows,) = _one(f"SELECT count(*) FROM {_scan(root, table)}")
        assert rows == _count(engine, model) == result.rows[table], table
    # Hive folders: game_type=<env id>/day=<UTC date>; a reader filters on them.
    games = duckdb.sql(
        f"SELECT game_type, count(*) FROM {_scan(root, 'games')} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    with engine.connect() as conn:
        expected = conn.execute(
            sa.text(
                "SELECT t.env_id, count(*) FROM games g JOIN game_types t ON t.id = g.game_type_id "
                "GROUP BY 1 ORDER BY 1"
            )
        ).all()
    assert games == [tuple(row) for row in expected]
    assert all(p.parent.name.startswith("day=") for p in (root / "turns").rglob("*.parquet"))
    # Tokens and costs survive exactly.
    (tokens,) = _one(f"SELECT sum(input_tokens) FROM {_scan(root, 'llm_calls')}")
    with engine.connect() as conn:
        assert tokens == conn.execute(sa.text("SELECT sum(input_tokens) FROM llm_calls")).scalar()
    # JSON is its text; the manifest lists every file and checks out.
    manifest = verify_dataset(root)
    assert manifest["tables"]["turns"]["rows"] == _count(engine, GameTurn)
    assert set(manifest["tables"]) == set(TABLES)


def test_a_filter_exports_only_its_games_and_a_damaged_dataset_fails_verification(
    engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=30)
    root = tmp_path / "blotto"
    export_parquet(engine, root, GameFilter(game_type="ColonelBlotto-v0"))
    kinds = duckdb.sql(f"SELECT DISTINCT game_type FROM {_scan(root, 'games')}").fetchall()
    assert kinds == [("ColonelBlotto-v0",)]

    victim = next((root / "turns").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:-20])
    with pytest.raises(IntegrityCheckError, match="turns"):
        verify_dataset(root)
    victim.unlink()
    with pytest.raises(IntegrityCheckError, match="missing"):
        verify_dataset(root)


def _rewrite_manifest(root: Path, change) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps(change(manifest)))


def test_a_dataset_that_lost_a_table_or_gained_a_stranger_fails_verification(
    engine: Engine, tmp_path: Path
) -> None:
    """The manifest is checked against the tables a dataset has, not only against itself: a
    table dropped from both the manifest and the folder, or a manifest listing no table at all,
    is a dataset that lost data."""
    import shutil

    build_arena(engine, games=5)
    original = tmp_path / "original"
    export_parquet(engine, original)

    def damaged(name: str) -> Path:
        root = tmp_path / name
        shutil.copytree(original, root)
        return root

    root = damaged("lost-a-table")
    _rewrite_manifest(
        root, lambda m: {**m, "tables": {k: v for k, v in m["tables"].items() if k != "turns"}}
    )
    shutil.rmtree(root / "turns")
    with pytest.raises(IntegrityCheckError, match="turns"):
        verify_dataset(root)

    root = damaged("lost-everything")
    _rewrite_manifest(root, lambda m: {**m, "tables": {}})
    for table in TABLES:
        shutil.rmtree(root / table)
    with pytest.raises(IntegrityCheckError, match="tables"):
        verify_dataset(root)

    for label, change in (
        ("no-tables", lambda m: {k: v for k, v in m.items() if k != "tables"}),
        ("a-list", lambda m: []),
        ("bad-files", lambda m: {**m, "tables": {**m["tables"], "turns": {"files": "x"}}}),
    ):
        root = damaged(label)
        _rewrite_manifest(root, change)
        with pytest.raises(IntegrityCheckError):
            verify_dataset(root)

    root = damaged("stranger-file")
    (root / "turns" / "notes.txt").write_text("x")
    with pytest.raises(IntegrityCheckError, match="notes"):
        verify_dataset(root)
    root = damaged("stranger-folder")
    shutil.copytree(root / "turns", root / "turns-old")
    with pytest.raises(IntegrityCheckError, match="turns-old"):
        verify_dataset(root)
    assert verify_dataset(original)["format"] == "arenadb-parquet"


def test_an_export_with_no_matching_games_still_has_every_table_and_its_columns(
    engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=3)
    root = tmp_path / "none"
    result = export_parquet(
        engine, root, GameFilter(since=datetime(2100, 1, 1, tzinfo=timezone.utc))
    )
    assert result.games == 0
    for table in ("games", "turns", "llm_calls"):
        scan = f"read_parquet('{root}/{table}/**/*.parquet')"
        assert _one(f"SELECT count(*) FROM {scan}") == (0,)
        assert "game_id" in duckdb.sql(f"SELECT * FROM {scan}").columns or table == "games"


def test_an_existing_folder_is_replaced_only_with_force_and_only_if_it_is_a_dataset(
    engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=3)
    root = tmp_path / "dataset"
    export_parquet(engine, root)
    with pytest.raises(RefusedError, match="already exists"):
        export_parquet(engine, root)
    export_parquet(engine, root, force=True)
    verify_dataset(root)

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(RefusedError, match="not a dataset"):
        export_parquet(engine, precious, force=True)
    assert (precious / "thesis.tex").read_text() == "years of work"
    leftovers = [p.name for p in tmp_path.iterdir() if "partial" in p.name or "old" in p.name]
    assert leftovers == []  # no temporaries


def test_frames_equal_the_database(engine: Engine) -> None:
    build_arena(engine, games=25)
    games = games_df(engine)
    assert len(games) == _count(engine, Game)
    assert {"game_type", "day", "status", "uuid"} <= set(games.columns)
    calls = llm_calls_df(engine, game_type="ColonelBlotto-v0", chunk_games=4)
    with engine.connect() as conn:
        blotto = conn.execute(
            sa.text(
                "SELECT count(*) FROM llm_calls c JOIN games g ON g.id = c.game_id "
                "JOIN game_types t ON t.id = g.game_type_id WHERE t.env_id = 'ColonelBlotto-v0'"
            )
        ).scalar_one()
    assert len(calls) == blotto and set(calls["game_type"]) <= {"ColonelBlotto-v0"}
    assert len(ratings_df(engine)) == _count(engine, Rating)


def test_the_cli_writes_a_dataset_and_refuses_without_a_folder(
    cli_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=5)
    root = tmp_path / "cli"
    done = runner.invoke(
        app, ["export", "--format", "parquet", "-o", str(root), "--json"], env=cli_env
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["games"] == 5
    verify_dataset(root)
    refused = runner.invoke(app, ["export", "--format", "parquet"], env=cli_env)
    assert refused.exit_code == 2 and "needs -o FOLDER" in refused.stderr


def test_without_the_extra_the_error_says_what_to_install(
    db_settings: Settings, tmp_path: Path
) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None\n"
        "from arenadb.cli import main\n"
        f"sys.argv = ['arenadb', '--database-url', {db_settings.database_url!r}, 'export',"
        f" '--format', 'parquet', '-o', {str(tmp_path / 'ds')!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: pyarrow is not installed: pip install 'arenadb[analysis]' (pyarrow, pandas, duckdb)"
    ]
    assert not (tmp_path / "ds").exists()
