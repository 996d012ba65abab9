"""`arenadb seed` / `init --seed`: on both backends, deterministic, idempotent, all-or-nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.db import create_engine
from arenadb.errors import InvalidDataError
from arenadb.models import metadata
from arenadb.ratings.book import rebuild_ratings
from arenadb.resources import seeds_dir
from arenadb.seeding.seeder import seed_database

runner = CliRunner()
BOOKKEEPING = {"arenadb_meta"}  # holds applied_at: the one thing allowed to differ


def cli(settings, *args: str):
    return runner.invoke(app, ["--database-url", settings.database_url, *args])


def dump(settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, as plain comparable values."""
    engine = create_engine(settings, pooled=False)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                if table.name in BOOKKEEPING:
                    continue
                order = list(table.primary_key.columns)
                rows = conn.execute(sa.select(table).order_by(*order)).all()
                out[table.name] = [tuple(_plain(v) for v in row) for row in rows]
    finally:
        engine.dispose()
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def counts(settings) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump(settings).items()}


def test_init_seed_test_then_seed_again_changes_nothing(fresh_settings):
    result = cli(fresh_settings, "init", "--seed", "test")
    assert result.exit_code == 0, result.output
    assert "seed test v1: wrote 6 games" in result.stderr
    before = dump(fresh_settings)
    assert len(before["games"]) == 6
    assert {row[3] for row in before["games"]} == {"completed", "running"}
    assert before["ratings"] and before["rating_events"] and before["llm_calls"]
    assert len(before["event_types"]) >= 10

    again = cli(fresh_settings, "seed", "--env", "test", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["changed"] is False and report["games_written"] == 0
    assert report["games_existing"] == 6
    assert dump(fresh_settings) == before

    check = json.loads(cli(fresh_settings, "--json", "db", "check").stdout)
    assert check["seed"]["env"] == "test" and check["seed"]["version"] == 1


def test_two_fresh_databases_seeded_alike_are_identical(backend, tmp_path, fresh_settings):
    from tests.conftest import pg_settings, settings_for, unique_pg_name

    if backend == "sqlite":
        other = settings_for(f"sqlite:///{tmp_path / 'other.db'}")
    else:
        other = pg_settings(unique_pg_name())
    try:
        for settings in (fresh_settings, other):
            assert cli(settings, "init", "--seed", "development").exit_code == 0
        first, second = dump(fresh_settings), dump(other)
        assert first.keys() == second.keys()
        for name in first:
            assert first[name] == second[name], f"table {name} differs"
        assert len(first["games"]) == 17 and len(first["coalitions"]) >= 1
    finally:
        from arenadb.db import drop_database

        drop_database(other, missing_ok=True)


def _ratings(settings) -> dict[tuple, tuple]:
    # (agent, system, game type) -> (mu, sigma, games, wins, draws, losses); ids may change.
    return {row[1:4]: row[4:10] for row in dump(settings)["ratings"]}


def test_seeded_ratings_follow_from_the_games(db_settings):
    seed_database(db_settings, "test")
    before = _ratings(db_settings)
    assert before
    engine = create_engine(db_settings, pooled=False)
    try:
        rebuild_ratings(engine)
    finally:
        engine.dispose()
    assert _ratings(db_settings) == before


def _copy_seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    shutil.copytree(seeds_dir(), root)
    return root


def test_a_failure_mid_seed_leaves_the_database_as_it_was(db_settings, tmp_path):
    seed_database(db_settings, "test")
    before = dump(db_settings)
    root = _copy_seeds(tmp_path)
    # Valid TOML and a valid arena file, but a social section naming an unknown agent: it fails
    # after the catalog and every game have been written in the same transaction.
    arena = root / "test" / "arena.toml"
    arena.write_text(
        arena.read_text()
        .replace("games = 3", "games = 9")
        .replace('name = "model-a"', 'name = "model-a"\nlitellm_name = "changed"')
    )
    (root / "test" / "social.toml").write_text(
        '[[conversations]]\nkey = "x"\ntype = "group"\ntitle = "t"\nparticipants = ["nobody"]\n'
    )
    with pytest.raises(InvalidDataError) as info:
        seed_database(db_settings, "test", seeds_root=root)
    assert str(root / "test" / "social.toml") in str(info.value)
    assert dump(db_settings) == before


def test_broken_seed_file_via_cli_names_file_and_place(db_settings, tmp_path, monkeypatch):
    root = _copy_seeds(tmp_path)
    arena = root / "test" / "arena.toml"
    arena.write_text(arena.read_text().replace('model = "model-a"', 'model = "gpt-9"', 1))
    import arenadb.seeding.files as seedfiles

    monkeypatch.setattr(seedfiles, "seeds_dir", lambda: root)
    before = counts(db_settings)
    result = cli(db_settings, "seed", "--env", "test")
    assert result.exit_code == 1
    assert f"{arena}: agents[0].model: unknown model 'gpt-9'" in result.stderr
    assert counts(db_settings) == before


def test_nan_in_a_seed_value_is_refused_and_writes_nothing(db_settings, tmp_path, monkeypatch):
    root = _copy_seeds(tmp_path)
    arena = root / "test" / "arena.toml"
    arena.write_text(arena.read_text().replace('alias = "a2"', 'alias = "a2"\nconfig = {t=nan}'))
    import arenadb.seeding.files as seedfiles

    monkeypatch.setattr(seedfiles, "seeds_dir", lambda: root)
    before = counts(db_settings)
    with pytest.raises(InvalidDataError, match=r"agents\[1\]\.config\.t: nan is not a finite"):
        seed_database(db_settings, "test")
    assert counts(db_settings) == before


def test_unknown_environment_lists_known_ones(db_settings):
    result = cli(db_settings, "seed", "--env", "staging")
    assert result.exit_code == 2
    assert "unknown seed environment 'staging'" in result.stderr
    assert "demo, development, test" in result.stderr
    result = cli(db_settings, "init", "--seed", "staging")
    assert result.exit_code == 2


def test_reset_requires_confirmation_then_empties_and_reseeds(db_settings):
    assert cli(db_settings, "seed", "--env", "test").exit_code == 0
    seeded = counts(db_settings)
    refused = cli(db_settings, "seed", "--env", "test", "--reset")
    assert refused.exit_code == 1 and "pass --yes" in refused.stderr
    assert counts(db_settings) == seeded
    result = cli(db_settings, "seed", "--env", "test", "--reset", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["games_written"] == 6
    assert counts(db_settings) == seeded
    # Ids restart after a reset: the same rows, the same ids.
    assert dump(db_settings)["games"][0][0] == 1


def test_demo_seed_is_a_believable_arena(db_settings):
    result = seed_database(db_settings, "demo")
    assert result.games_written >= 150
    engine = create_engine(db_settings, pooled=False)
    try:
        with engine.connect() as conn:

            def one(sql: str) -> Any:
                return conn.execute(sa.text(sql)).scalar()

            assert one("select count(*) from llm_models") >= 6
            assert one("select count(distinct provider) from llm_models") >= 4
            assert one("select count(*) from agents") >= 12
            assert one("select count(*) from prompts where forked_from_id is not null") >= 1
            mafia = (
                "select count(*) from games g join game_types t on t.id = g.game_type_id "
                "where t.env_id = 'SecretMafia-v0' and g.status = 'completed'"
            )
            assert one(mafia) >= 100
            assert one("select count(*) from game_players where role = 'Mafia'") >= 200
            assert one("select count(*) from games where environment_crashed") == 1
            assert one("select count(*) from games where status = 'running'") == 1
            assert one("select max(turn) from game_snapshots") >= 100
            assert one("select count(*) from llm_calls where input_tokens is null") >= 1
            assert one("select sum(cost) from llm_calls") > 0
            assert one("select count(*) from rating_events") > 0
            assert one("select count(*) from agents where alias = 'market-maker'") == 1
    finally:
        engine.dispose()


def test_seed_clocks_apply_only_to_rows_the_run_inserted(backend, db_settings):
    # Issue 15: every seed run used to set every timestamp later than its start, in every
    # table, to the seed's clock: a claimed event's lock moved into the past (another engine
    # could take the event over) and other writers' rows got their created_at changed.
    from datetime import datetime, timedelta, timezone

    from arenadb.db import session_scope
    from arenadb.events import claim_next_event, enqueue_event, register_engine
    from arenadb.models import AgentKind, User
    from arenadb.models import Engine as EngineRow
    from arenadb.seeding.files import load_seed

    assert seed_database(db_settings, "test").changed
    engine = create_engine(db_settings)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    try:
        me = register_engine(engine, "actor").id
        with session_scope(engine, write=True) as session:
            event_id = enqueue_event(session, "scenario.started", {})
            # Written by someone else "after" the next run starts (a clock a little ahead).
            session.add(User(name="ahead", created_at=later, updated_at=later))
        claimed = claim_next_event(engine, me, lock_seconds=600)
        assert claimed is not None and claimed.id == event_id
        lock_until = _lock_until(engine, event_id)
        assert lock_until > datetime.now(timezone.utc)

        concurrent: list[datetime] = []

        def insert_meanwhile(what: str, done: int, total: int) -> None:
            # PostgreSQL: another connection writes while the seed's transaction is open
            # (SQLite's writer lock makes it wait until the seed commits, so not there).
            if backend == "postgresql" and what == "games" and not concurrent:
                with session_scope(engine, write=True) as other:
                    user = User(name="meanwhile")
                    other.add(user)
                    other.flush()
                    concurrent.append(user.created_at)

        again = seed_database(db_settings, "test", progress=insert_meanwhile)
        assert not again.changed  # "already applied, nothing changed" still ran the stamping

        assert _lock_until(engine, event_id) == lock_until
        with engine.connect() as conn:
            users = {
                name: (created, updated)
                for name, created, updated in conn.execute(
                    sa.select(User.name, User.created_at, User.updated_at)
                )
            }
        assert users["ahead"] == (later, later)
        if backend == "postgresql":
            assert users["meanwhile"][0] == concurrent[0]
        # What the seed itself inserted still carries the seed's clock.
        start = load_seed("test").seed["start_time"]
        with engine.connect() as conn:
            kinds = conn.execute(sa.select(AgentKind.created_at)).scalars().all()
            engines = conn.execute(sa.select(EngineRow.registered_at)).scalars().all()
        assert kinds and set(kinds) == {start}
        assert engines and start not in engines  # registered by the test, not by the seed
    finally:
        engine.dispose()


def _lock_until(engine, event_id):
    from arenadb.models import Event

    with engine.connect() as conn:
        return conn.execute(sa.select(Event.lock_until).where(Event.id == event_id)).scalar_one()
