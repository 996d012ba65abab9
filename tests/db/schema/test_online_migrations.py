"""Migrations on a live database: lock_timeout with retries instead of queueing behind a busy
application, and an index built CONCURRENTLY while a writer keeps inserting."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from arenadb.config import load_settings
from arenadb.db import create_database, create_engine
from arenadb.errors import MigrationFailedError
from arenadb.schema import migrations
from arenadb.schema.migrations import current_revisions, script_directory, upgrade

REPO = Path(__file__).resolve().parents[3]


def test_lock_timeout_is_a_setting_with_its_origin(tmp_path):
    default = load_settings("sqlite:///x.db", environ={}, cwd=tmp_path)
    assert default.lock_timeout_ms == 5000 and default.origins["lock_timeout_ms"] == "default"
    set_ = load_settings("sqlite:///x.db", environ={"DB_LOCK_TIMEOUT_MS": "250"}, cwd=tmp_path)
    assert set_.lock_timeout_ms == 250 and "environment" in set_.origins["lock_timeout_ms"]
    assert ("lock_timeout_ms", 250, set_.origins["lock_timeout_ms"]) in set_.describe()
    assert set_.with_url("sqlite:///y.db").lock_timeout_ms == 250


def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("lock_timeout and CONCURRENTLY are PostgreSQL's (SQLite has busy_timeout)")


def waiting_on(settings, table: str) -> int:
    """Sessions waiting for a lock on `table`."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "select count(*) from pg_locks where not granted "
                    "and relation = cast(:t as regclass)"
                ),
                {"t": table},
            ).scalar_one()
    finally:
        engine.dispose()


class BusyTable:
    """An application transaction holding a write lock on `table` (as an open INSERT does)."""

    def __init__(self, settings, table: str) -> None:
        self.engine = create_engine(settings, pooled=False)
        self.conn = self.engine.connect()
        self.conn.exec_driver_sql(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def at_0004(fresh_settings, monkeypatch):
    monkeypatch.setattr(migrations, "LOCK_RETRY_WAIT_S", 0.05)
    create_database(fresh_settings)
    upgrade(fresh_settings, "0004")
    return dataclasses.replace(fresh_settings, lock_timeout_ms=200)


def test_a_migration_behind_a_busy_table_fails_clearly(backend, fresh_settings, monkeypatch):
    postgresql_only(backend)
    settings = at_0004(fresh_settings, monkeypatch)
    busy = BusyTable(settings, "prompts")  # 0005 puts a trigger on prompts
    try:
        with pytest.raises(MigrationFailedError) as failed:
            upgrade(settings)
    finally:
        busy.release()
    message = str(failed.value)
    assert "revision 0005" in message and "lock_timeout (200 ms)" in message
    assert f"{migrations.LOCK_ATTEMPTS} times" in message and "left at 0004" in message
    assert current_revisions(settings) == ["0004"]


def test_a_migration_retries_when_the_lock_frees_up(backend, fresh_settings, monkeypatch):
    postgresql_only(backend)
    settings = at_0004(fresh_settings, monkeypatch)
    busy = BusyTable(settings, "prompts")
    seen_waiting = threading.Event()

    def release_after_first_timeout() -> None:
        # Free the table once the first attempt has queued and given up: the retry succeeds.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not waiting_on(settings, "prompts"):
            time.sleep(0.01)
        seen_waiting.set()
        while time.monotonic() < deadline and waiting_on(settings, "prompts"):
            time.sleep(0.01)
        busy.release()

    releaser = threading.Thread(target=release_after_first_timeout)
    releaser.start()
    try:
        result = upgrade(settings, "0005")
    finally:
        releaser.join(timeout=90)
    assert seen_waiting.is_set()
    assert result.applied == ["0005"] and current_revisions(settings) == ["0005"]


def with_index_revision(tmp_path, monkeypatch) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(REPO / "migrations", copy)
    head = script_directory().get_heads()[0]
    (copy / "versions" / "9100_index.py").write_text(
        '"""Index agent_kinds.description without blocking writers."""\n'
        "from arenadb.schema.online import create_index_concurrently, drop_index_concurrently\n\n"
        f'revision = "9100"\ndown_revision = "{head}"\nbranch_labels = None\n'
        "depends_on = None\n\n\n"
        "def upgrade():\n"
        '    create_index_concurrently("ix_agent_kinds_description", "agent_kinds", '
        '["description"])\n\n\n'
        "def downgrade():\n"
        '    drop_index_concurrently("ix_agent_kinds_description", "agent_kinds")\n'
    )
    monkeypatch.setattr(migrations, "migrations_dir", lambda: copy)


def index_state(settings) -> str | None:
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("agent_kinds")}
            if "ix_agent_kinds_description" not in indexes:
                return None
            if conn.dialect.name != "postgresql":
                return "valid"
            valid = conn.execute(
                sa.text(
                    "select indisvalid from pg_index "
                    "where indexrelid = 'ix_agent_kinds_description'::regclass"
                )
            ).scalar_one()
            return "valid" if valid else "invalid"
    finally:
        engine.dispose()


def test_the_concurrent_index_helper_on_both_backends(tmp_path, monkeypatch, db_settings):
    with_index_revision(tmp_path, monkeypatch)
    assert upgrade(db_settings).applied == ["9100"]
    assert index_state(db_settings) == "valid"
    migrations.downgrade(db_settings, "-1")
    assert index_state(db_settings) is None
    sql = migrations.offline_sql(db_settings, "0005:9100")
    if db_settings.backend == "postgresql":
        assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_agent_kinds_description" in sql
        assert "COMMIT" in sql


def test_an_index_is_built_while_a_writer_keeps_inserting(
    backend, tmp_path, monkeypatch, db_settings
):
    postgresql_only(backend)
    with_index_revision(tmp_path, monkeypatch)
    engine = create_engine(db_settings, pooled=False)
    with engine.begin() as conn:  # enough rows for the build to take a while
        conn.exec_driver_sql(
            "insert into agent_kinds (name, description) "
            "select 'seed-' || n, md5(n::text) from generate_series(1, 200000) n"
        )
    stop = threading.Event()
    written: list[float] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with engine.connect() as conn:
                n = 0
                while not stop.is_set():
                    n += 1
                    conn.exec_driver_sql(
                        f"insert into agent_kinds (name, description) values "
                        f"('live-{n}', 'written during the build')"
                    )
                    conn.commit()
                    written.append(time.monotonic())
        except BaseException as exc:
            errors.append(exc)

    building: list[int] = []  # rows written so far, sampled while the build runs

    def monitor() -> None:
        with engine.connect() as conn:
            while not stop.is_set():
                active = conn.exec_driver_sql(
                    "select count(*) from pg_stat_activity where state = 'active' "
                    "and starts_with(query, 'CREATE INDEX')"
                ).scalar_one()
                conn.rollback()
                if active:
                    building.append(len(written))
                time.sleep(0.005)

    threads = [threading.Thread(target=writer), threading.Thread(target=monitor)]
    for thread in threads:
        thread.start()
    try:
        while not written:
            time.sleep(0.01)
        result = upgrade(db_settings)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert result.applied == ["9100"]
    assert index_state(db_settings) == "valid"
    assert len(building) >= 2, "the build was never seen running"
    assert building[-1] > building[0], "the writer was blocked while the index was built"
    with engine.connect() as conn:
        # Rows written during the build are found through the index.
        conn.exec_driver_sql("set enable_seqscan = off")
        found = conn.exec_driver_sql(
            "select count(*) from agent_kinds where description = 'written during the build'"
        ).scalar_one()
    engine.dispose()
    assert found == len(written)
