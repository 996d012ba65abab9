"""`arenadb export` / `arenadb import`: JSON Lines by game UUID, validated, idempotent."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_engine, drop_database
from arenadb.errors import InvalidDataError
from arenadb.models import Agent, Game, GameTurn, Prompt
from arenadb.portability.export import GameFilter, export_games, export_records
from arenadb.portability.importing import import_games
from tests.support.synthetic import build_arena

runner = CliRunner()


@pytest.fixture
def other_settings(backend: str, tmp_path: Path, _templates) -> Iterator[Settings]:
    """A second migrated database of the same backend, to import into."""
    if backend == "sqlite":
        yield _templates.sqlite(tmp_path / "other.db")
        return
    settings = _templates.postgresql()
    yield settings
    drop_database(settings, missing_ok=True)


@pytest.fixture
def other_engine(other_settings: Settings) -> Iterator[Engine]:
    engine = create_engine(other_settings)
    yield engine
    engine.dispose()


def _records(engine: Engine, **filters: Any) -> list[dict[str, Any]]:
    """The export minus its header (the header holds the export time)."""
    records = list(export_records(engine, GameFilter(**filters), chunk_games=7))
    assert records[0]["type"] == "header"
    return records[1:]


def _catalog(records: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in records if r["type"] != "game")


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_export_then_import_reproduces_every_game(
    engine: Engine, other_engine: Engine, tmp_path: Path
) -> None:
    arena = build_arena(engine, games=40)
    path = tmp_path / "games.jsonl.gz"
    exported = export_games(engine, path, chunk_games=7)
    assert exported.games == 40
    assert exported.rows == sum(
        (arena.games, arena.players, arena.turns, arena.actions, arena.llm_calls, arena.snapshots)
    )
    with gzip.open(path, "rt") as lines:
        header = json.loads(next(lines))
    assert header["format"] == "arenadb-export" and header["version"] == 1

    result = import_games(other_engine, path, chunk_games=9)

    assert (result.imported, result.skipped, result.rejected, result.problems) == (40, 0, 0, [])
    assert result.rows == exported.rows
    assert result.created == {"game_type": 3, "model": 5, "agent_kind": 2, "prompt": 2, "agent": 20}
    # Same games, seats, turns, actions, calls and snapshots, same natural keys, same order;
    # the same catalog (created in the order games needed it, so compared as a set).
    imported, original = _records(other_engine), _records(engine)
    assert [r for r in imported if r["type"] == "game"] == [
        r for r in original if r["type"] == "game"
    ]
    assert _catalog(imported) == _catalog(original)


def test_importing_twice_adds_nothing(engine: Engine, other_engine: Engine, tmp_path: Path) -> None:
    build_arena(engine, games=12)
    path = tmp_path / "games.jsonl"
    export_games(engine, path)
    import_games(other_engine, path)
    turns = _count(other_engine, GameTurn.__table__)

    again = import_games(other_engine, path)

    assert (again.imported, again.skipped, again.rows, again.created) == (0, 12, 0, {})
    assert _count(other_engine, GameTurn.__table__) == turns
    assert _count(other_engine, Agent.__table__) == 20


def test_export_filters_like_games_list(engine: Engine, tmp_path: Path) -> None:
    build_arena(engine, games=30)
    completed = [r for r in _records(engine, status="completed") if r["type"] == "game"]
    assert completed and all(r["status"] == "completed" for r in completed)
    blotto = [r for r in _records(engine, game_type="ColonelBlotto-v0") if r["type"] == "game"]
    assert blotto and all(r["game_type"] == "ColonelBlotto-v0" for r in blotto)
    first = [r for r in _records(engine, limit=5) if r["type"] == "game"]
    assert len(first) == 5
    # Only the catalog that the exported games need.
    catalog = [r for r in _records(engine, game_type="ColonelBlotto-v0") if r["type"] != "game"]
    assert {r["env_id"] for r in catalog if r["type"] == "game_type"} == {"ColonelBlotto-v0"}


def _rewrite(path: Path, change: dict[int, Any]) -> None:
    """Replace game records (by their index among games) through a function."""
    lines = path.read_text().splitlines()
    games = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "game"]
    for index, edit in change.items():
        record = json.loads(lines[games[index]])
        edit(record)
        lines[games[index]] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


def _game_line(path: Path, index: int) -> tuple[int, str]:
    lines = path.read_text().splitlines()
    games = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "game"]
    return games[index] + 1, json.loads(lines[games[index]])["uuid"]


def _has_game(engine: Engine, game_uuid: str) -> bool:
    import uuid

    with engine.connect() as conn:
        found = conn.execute(sa.select(Game.id).where(Game.uuid == uuid.UUID(game_uuid))).first()
    return found is not None


def test_a_bad_record_is_reported_by_line_and_nothing_of_it_is_written(
    engine: Engine, other_engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=10)
    path = tmp_path / "games.jsonl"
    export_games(engine, path)

    def bad_seat(record: dict[str, Any]) -> None:
        record["turns"][-1]["seat"] = 99

    def refused_by_database(record: dict[str, Any]) -> None:
        # Valid JSON and types; only the database's CHECK constraint catches it.
        record["started_at"] = "2026-01-01T10:00:00+00:00"
        record["finished_at"] = "2026-01-01T09:00:00+00:00"

    def wrong_type(record: dict[str, Any]) -> None:
        record["llm_calls"][0]["input_tokens"] = "many"

    _rewrite(path, {1: bad_seat, 3: refused_by_database, 6: wrong_type})
    bad = [_game_line(path, i) for i in (1, 3, 6)]

    result = import_games(other_engine, path, chunk_games=4)

    assert result.imported == 7 and result.rejected == 3
    assert [p.line for p in result.problems] == [line for line, _ in bad]
    messages = [str(p) for p in result.problems]
    assert messages[0].startswith(f"{path}:{bad[0][0]}: turns[")
    assert "seat 99 is not a seat" in messages[0]
    assert "refused" in messages[1]
    assert "input_tokens: expected an integer" in messages[2]
    for _line, game_uuid in bad:
        assert not _has_game(other_engine, game_uuid)
    # Nothing of the bad games: all the turns there are belong to the 7 good ones.
    good_turns = sum(
        len(r["turns"])
        for i, r in enumerate(r for r in _records(engine) if r["type"] == "game")
        if i not in (1, 3, 6)
    )
    assert _count(other_engine, GameTurn.__table__) == good_turns


def test_nan_or_infinity_in_a_json_field_is_refused_naming_the_field(
    engine: Engine, other_engine: Engine, tmp_path: Path
) -> None:
    # NaN and Infinity are not JSON: SQLite used to store them as invalid JSON text, PostgreSQL
    # refused the whole chunk. Both now refuse the game, say which field, and store none of it.
    build_arena(engine, games=6)
    path = tmp_path / "games.jsonl"
    export_games(engine, path)

    def nan_in_request(record: dict[str, Any]) -> None:
        record["llm_calls"][0]["request"] = {"temperature": float("nan")}

    def infinity_in_info(record: dict[str, Any]) -> None:
        record["info"] = {"score": float("-inf")}

    def nan_reward(record: dict[str, Any]) -> None:
        record["players"][0]["reward"] = float("nan")

    _rewrite(path, {0: nan_in_request, 2: infinity_in_info, 4: nan_reward})
    assert "NaN" in path.read_text() and "-Infinity" in path.read_text()
    bad = [_game_line(path, i) for i in (0, 2, 4)]

    result = import_games(other_engine, path, chunk_games=4)

    assert (result.imported, result.rejected) == (3, 3)
    messages = [p.message for p in result.problems]
    assert messages[0].startswith("llm_calls[0].request is not JSON"), messages[0]
    assert "NaN and Infinity" in messages[0]
    assert messages[1].startswith("game.info is not JSON: NaN and Infinity")
    assert messages[2] == "players[0].reward: nan is not a finite number"
    for _line, game_uuid in bad:
        assert not _has_game(other_engine, game_uuid)
    with other_engine.connect() as conn:
        infos = conn.execute(sa.select(sa.cast(Game.info, sa.Text))).scalars().all()
    assert len(infos) == 3 and not any("NaN" in i or "Infinity" in i for i in infos if i)


def test_a_child_row_the_database_refuses_rejects_only_its_game(
    engine: Engine, other_engine: Engine, tmp_path: Path
) -> None:
    # Issue 15: a CHECK violation in a COPY on PostgreSQL escaped the chunk retry as a raw driver
    # error, and nothing was imported; SQLite imported the good games. Now both do.
    build_arena(engine, games=8)
    path = tmp_path / "games.jsonl"
    export_games(engine, path)

    def negative_seat(record: dict[str, Any]) -> None:
        record["players"][0]["invalid_moves"] = -1  # CHECK invalid_moves >= 0

    _rewrite(path, {5: negative_seat})
    line, game_uuid = _game_line(path, 5)

    result = import_games(other_engine, path, chunk_games=4)

    assert (result.imported, result.rejected) == (7, 1)
    assert [p.line for p in result.problems] == [line]
    assert "refused" in result.problems[0].message
    assert "invalid_moves" in result.problems[0].message
    assert not _has_game(other_engine, game_uuid)


def test_a_truncated_gzip_imports_the_records_before_the_damage_and_names_the_line(
    engine: Engine, other_engine: Engine, tmp_path: Path
) -> None:
    # Issue 15: a truncated or corrupt gzip was an internal error and imported nothing.
    build_arena(engine, games=30)
    whole = tmp_path / "games.jsonl.gz"
    export_games(engine, whole)
    cut = tmp_path / "cut.jsonl.gz"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])

    result = import_games(other_engine, cut, chunk_games=4)

    assert 0 < result.imported < 30
    damage = result.problems[-1]
    assert "damaged" in damage.message and "gzip" in damage.message
    with gzip.open(whole, "rt") as lines:
        records = [json.loads(line) for line in lines]
    # Every game read before the damaged line is in, whole; none after it.
    before = [r for r in records[1 : damage.line - 1] if r["type"] == "game"]
    assert result.imported == len(before)
    for record in before:
        assert _has_game(other_engine, record["uuid"])
    expected_turns = sum(len(r["turns"]) for r in before)
    assert _count(other_engine, GameTurn.__table__) == expected_turns


def test_an_export_cut_at_a_line_boundary_is_reported_as_truncated(
    engine: Engine, other_engine: Engine, tmp_path: Path
) -> None:
    """Whole lines gone (a full disk, a partial download, `head -n`) used to import as a
    complete export of fewer games, exit 0: the end record counts the games and closes the file."""
    build_arena(engine, games=12)
    whole = tmp_path / "games.jsonl"
    export_games(engine, whole)
    lines = whole.read_text().splitlines(keepends=True)
    assert json.loads(lines[0])["end_record"] is True
    assert json.loads(lines[-1]) == {"type": "end", "games": 12}
    games = [n for n, line in enumerate(lines) if json.loads(line)["type"] == "game"]

    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: games[6]]))  # ends with the sixth game, no end record
    result = import_games(other_engine, cut)
    assert result.imported == 6
    assert [p.line for p in result.problems] == [games[6] + 1]
    assert "truncated" in result.problems[0].message

    holed = tmp_path / "holed.jsonl"
    holed.write_text("".join(line for n, line in enumerate(lines) if n != games[8]))
    result = import_games(other_engine, holed)
    assert result.imported == 5 and result.rejected == 0  # the 6 of `cut` are already there
    assert ["records are missing" in p.message for p in result.problems] == [True]

    after = tmp_path / "after.jsonl"
    after.write_text("".join(lines) + lines[games[0]])
    result = import_games(other_engine, after)
    assert result.imported == 1 and "after the end record" in result.problems[0].message

    # A file written before the end record existed has neither the promise nor the record.
    header = json.loads(lines[0])
    del header["end_record"]
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps(header) + "\n" + "".join(lines[1 : games[2]]))
    result = import_games(other_engine, old)
    assert result.problems == [] and result.skipped == 2


def test_import_into_an_unmigrated_database_is_one_clear_error(
    engine: Engine, backend: str, tmp_path: Path
) -> None:
    # Issue 15: one "refused" line per game (159 on the demo) instead of one line.
    from arenadb.db import create_database
    from arenadb.errors import ConflictError
    from tests.conftest import pg_settings, settings_for, unique_pg_name

    build_arena(engine, games=5)
    path = tmp_path / "games.jsonl"
    export_games(engine, path)
    if backend == "sqlite":
        unmigrated = settings_for(f"sqlite:///{tmp_path / 'unmigrated.db'}")
    else:
        unmigrated = pg_settings(unique_pg_name())
    create_database(unmigrated)  # exists, never migrated
    empty = create_engine(unmigrated)
    try:
        with pytest.raises(ConflictError, match="has no arenadb schema"):
            import_games(empty, path)
        with empty.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
    finally:
        empty.dispose()
        drop_database(unmigrated, missing_ok=True)


def test_a_prompt_missing_from_file_and_database_rejects_its_games(
    engine: Engine, other_engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=6)
    path = tmp_path / "games.jsonl"
    export_games(engine, path)
    lines = [line for line in path.read_text().splitlines() if '"type":"prompt"' not in line]
    path.write_text("\n".join(lines) + "\n")

    result = import_games(other_engine, path)

    assert result.imported == 0 and result.rejected == 6
    assert "is neither in the database nor in the file" in result.problems[0].message
    assert _count(other_engine, Prompt.__table__) == 0


def test_import_refuses_a_file_that_is_not_an_export(other_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(InvalidDataError, match=r"x.jsonl:1: not an arenadb export"):
        import_games(other_engine, path)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_export_memory_stays_flat_as_games_grow(engine: Engine, tmp_path: Path) -> None:
    build_arena(engine, games=240)

    def peak(games: int) -> int:
        tracemalloc.start()
        try:
            export_games(
                engine, tmp_path / f"{games}.jsonl", GameFilter(limit=games), chunk_games=30
            )
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(60), peak(240)
    # Four times the games: the peak is a chunk's worth either way, not four times higher.
    assert large < small * 1.5, (small, large)


def test_cli_export_import_round_trip(
    db_settings: Settings, engine: Engine, other_settings: Settings, tmp_path: Path
) -> None:
    build_arena(engine, games=8)
    path = tmp_path / "completed.jsonl.gz"
    exported = runner.invoke(
        app,
        [
            "--database-url",
            db_settings.database_url,
            "export",
            "--status",
            "completed",
            "-o",
            str(path),
            "--json",
        ],
    )
    assert exported.exit_code == 0, exported.output
    games = json.loads(exported.stdout)["games"]
    assert games > 0

    imported = runner.invoke(
        app, ["--database-url", other_settings.database_url, "import", str(path)]
    )
    assert imported.exit_code == 0, imported.output
    assert f"{games} games imported" in imported.stderr

    with gzip.open(path, "rt") as text:
        lines = text.read().splitlines()[:-1]  # cut before the end record
    lines[-1] = lines[-1][:40]  # and in the middle of the last game
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    failed = runner.invoke(
        app, ["--database-url", other_settings.database_url, "import", str(broken)]
    )
    assert failed.exit_code == 1
    assert f"{broken}:{len(lines)}: not valid JSON" in failed.stderr
    assert "1 records rejected" in failed.stderr


def test_cli_export_to_stdout(db_settings: Settings, engine: Engine) -> None:
    build_arena(engine, games=3)
    result = runner.invoke(app, ["--database-url", db_settings.database_url, "export"])
    assert result.exit_code == 0, result.output
    types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert types[0] == "header" and types.count("game") == 3
    assert "exported 3 games" in result.stderr
