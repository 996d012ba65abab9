"""Issue 15, class 6 in the library: only create_database creates; everything else says so."""

from __future__ import annotations

import pytest

import arenadb
from arenadb.config import Settings
from arenadb.db import create_engine, database_exists
from arenadb.errors import DatabaseMissingError


def test_the_library_never_creates_a_database(backend, fresh_settings: Settings):
    arena = arenadb.connect(settings=fresh_settings)
    try:
        with pytest.raises(DatabaseMissingError, match="does not exist"):
            arena.register_model("x")
    finally:
        arena.close()
    engine = create_engine(fresh_settings)
    try:
        with pytest.raises(DatabaseMissingError, match="does not exist"):
            engine.connect()
    finally:
        engine.dispose()
    assert not database_exists(fresh_settings)
    path = fresh_settings.url.sqlite_path
    assert path is None or not path.exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_empty_file_stays_empty(fresh_settings: Settings):
    path = fresh_settings.url.sqlite_path
    assert path is not None
    path.touch()
    engine = create_engine(fresh_settings)
    try:
        with pytest.raises(DatabaseMissingError):
            engine.connect()
    finally:
        engine.dispose()
    assert path.stat().st_size == 0
