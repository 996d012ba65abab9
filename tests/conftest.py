"""Fixtures: real databases on both backends, created and dropped by arenadb's own code.

PostgreSQL comes from ARENADB_TEST_POSTGRES_URL (a server URL; its database part is only used to
connect). Every PostgreSQL database a test uses is created here under a random `arenadb_test_`
name and dropped afterwards; the database named in the URL is never touched.

Fixtures:
- `backend`: "sqlite" / "postgresql" (parametrize over it with the `any_backend` fixtures).
- `fresh_settings`: Settings for a database that does not exist yet (dropped after the test).
- `db_settings`: Settings for a database migrated to head (copied from a per-session template,
  so it costs milliseconds, not a migration run).
- `engine`: an engine on `db_settings`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from arenadb.config import Settings, load_settings
from arenadb.urls import parse_url

PG_ENV = "ARENADB_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


def pg_server_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _skip_without_pg() -> None:
    if pg_server_url() is None:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests need a server (see README)")


def settings_for(url: str) -> Settings:
    """Settings for `url` that ignore the developer's own environment and .env file."""
    return load_settings(url, environ={}, cwd=Path("/nonexistent-arenadb-cwd"))


def pg_settings(dbname: str) -> Settings:
    _skip_without_pg()
    server = parse_url(pg_server_url() or "")
    return settings_for(server.with_database(dbname).render())


def unique_pg_name(prefix: str = "arenadb_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def pytest_configure(config: pytest.Config) -> None:
    # The terminal the suite runs in must not change what the CLI prints: an explicit COLUMNS
    # narrows every table (the CLI honours it on purpose), and pytest-xdist's workers set
    # COLUMNS=80. Tests that need a width set it themselves.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests parametrized on the postgresql backend get the marker, so `-m postgresql` selects
    # them and `-m "not postgresql"` runs without a server.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.postgresql)


@pytest.fixture
def pg_server() -> Settings:
    """Settings naming the PostgreSQL server's own database (connect to it, never change it)."""
    _skip_without_pg()
    return settings_for(pg_server_url() or "")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        _skip_without_pg()
    return request.param


@pytest.fixture
def fresh_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """A database of `backend` that does not exist yet; whatever the test creates is dropped."""
    from arenadb.db import drop_database

    if backend == "sqlite":
        yield settings_for(f"sqlite:///{tmp_path / 'arena.db'}")
        return
    settings = pg_settings(unique_pg_name())
    try:
        yield settings
    finally:
        # Ours under a random name, whatever the test put in it (another application's tables).
        drop_database(settings, missing_ok=True, any_database=True)


class _Templates:
    """One migrated database per backend per session, copied for each test that needs one."""

    def __init__(self, tmp_root: Path) -> None:
        self.tmp_root = tmp_root
        self.sqlite_path: Path | None = None
        self.pg_name: str | None = None

    def _migrate(self, settings: Settings) -> None:
        from arenadb.db import create_database
        from arenadb.schema.migrations import upgrade

        create_database(settings, if_not_exists=True)
        upgrade(settings, "head")

    def sqlite(self, target: Path) -> Settings:
        if self.sqlite_path is None:
            path = self.tmp_root / "template.db"
            self._migrate(settings_for(f"sqlite:///{path}"))
            self.sqlite_path = path
        shutil.copyfile(self.sqlite_path, target)
        return settings_for(f"sqlite:///{target}")

    def postgresql(self) -> Settings:
        from arenadb.db.admin import maintenance_connection

        if self.pg_name is None:
            name = unique_pg_name("arenadb_tpl")
            self._migrate(pg_settings(name))
            self.pg_name = name
        settings = pg_settings(unique_pg_name())
        with maintenance_connection(settings) as conn:
            prep = conn.dialect.identifier_preparer
            conn.exec_driver_sql(
                f"CREATE DATABASE {prep.quote_identifier(settings.url.database or '')} "
                f"TEMPLATE {prep.quote_identifier(self.pg_name)}"
            )
        return settings

    def close(self) -> None:
        if self.pg_name is not None:
            from arenadb.db import drop_database

            drop_database(pg_settings(self.pg_name), missing_ok=True)


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture
def db_settings(backend: str, tmp_path: Path, _templates: _Templates) -> Iterator[Settings]:
    """A database of `backend` migrated to head, private to this test."""
    from arenadb.db import drop_database

    if backend == "sqlite":
        yield _templates.sqlite(tmp_path / "arena.db")
        return
    settings = _templates.postgresql()
    try:
        yield settings
    finally:
        drop_database(settings, missing_ok=True, any_database=True)  # ours, whatever is in it


@pytest.fixture
def engine(db_settings: Settings):
    from arenadb.db import create_engine

    eng = create_engine(db_settings)
    yield eng
    eng.dispose()


@pytest.fixture
def cli_env(db_settings: Settings) -> dict[str, str]:
    """Environment for CliRunner so that `arenadb ...` targets the test database."""
    return {"ARENADB_DATABASE_URL": db_settings.database_url}
