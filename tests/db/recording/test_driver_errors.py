"""One translation of database errors (arenadb.db.errors): the same rule for a driver's own error
(raised on the DBAPI connection, as the recorder's batches are) and for SQLAlchemy's wrapper."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db.errors import translate_error
from arenadb.errors import ConflictError, DatabaseUnavailableError
from tests.conftest import settings_for

DUPLICATE = "insert into llm_models (name) values ('twice')"


def _raised(run, sql: str) -> BaseException:
    with pytest.raises(Exception) as caught:
        run(sql)
    return caught.value


def test_driver_and_sqlalchemy_errors_translate_alike(
    engine: sa.Engine, db_settings: Settings
) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql(DUPLICATE)
        conn.commit()
    with engine.connect() as conn:
        wrapped = _raised(conn.exec_driver_sql, DUPLICATE)
        conn.rollback()
        raw_connection = conn.connection.driver_connection
        raw = _raised(raw_connection.execute, DUPLICATE)
        raw_connection.rollback()
        bad_sql = _raised(raw_connection.execute, "select * from no_such_table")
        raw_connection.rollback()
    assert type(raw).__module__.split(".")[0] in ("sqlite3", "psycopg")
    assert type(wrapped).__module__.startswith("sqlalchemy")

    for error in (raw, wrapped):
        translated = translate_error(error, db_settings)
        assert isinstance(translated, ConflictError)
        assert str(translated).startswith(f"integrity error on {db_settings.masked_url}: ")
        assert "\n" not in str(translated)
        doing = translate_error(error, db_settings, doing="cannot write a batch of game 7")
        assert isinstance(doing, ConflictError)
        assert str(doing).startswith(
            f"cannot write a batch of game 7 on {db_settings.masked_url}: "
        )
    # The detail is the driver's own message either way.
    assert (
        str(translate_error(raw)).split(": ", 1)[1]
        == str(translate_error(wrapped)).split(": ", 1)[1]
    )

    translated = translate_error(bad_sql, db_settings)
    assert isinstance(translated, DatabaseUnavailableError)
    assert "no_such_table" in str(translated)


def test_a_translated_message_never_carries_the_password() -> None:
    secret = "Sup3r-S3cret"
    settings = settings_for(f"postgresql://arena:{secret}@127.0.0.1:1/arena")
    # A driver message that repeats the password (some connection errors do).
    error = sqlite3.OperationalError(f"could not connect with password {secret}")
    translated = translate_error(error, settings, doing="cannot start a game")
    assert isinstance(translated, DatabaseUnavailableError)
    assert secret not in str(translated)
    assert str(translated).startswith(f"cannot start a game on {settings.masked_url}: could not")
    assert str(translate_error(error, doing="cannot start a game")).startswith(
        "cannot start a game: could not connect"
    )
    assert secret not in str(translate_error(error, settings))


def test_errors_that_are_not_the_database_are_left_alone() -> None:
    assert translate_error(ValueError("no")) is None
    assert translate_error(sa.exc.InvalidRequestError("not about the database")) is None
