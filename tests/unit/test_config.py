"""Settings resolution: the precedence matrix, .env handling, URL parsing and password masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from arenadb.config import (
    DEFAULT_DATABASE_URL,
    ORIGIN_DEFAULT,
    ORIGIN_FLAG,
    load_settings,
    mask_text,
    mask_url,
    parse_url,
)
from arenadb.errors import ConfigError, InvalidArgumentError

FLAG = "postgresql://flag:fpw@flaghost/flagdb"
ARENA = "postgresql://arena:apw@arenahost/arenadb"
PLAIN = "postgres://plain:ppw@plainhost:6000/plaindb"
PARTS = {"DB_HOST": "parthost", "DB_NAME": "partdb", "DB_USER": "partuser", "DB_PASSWORD": "x"}
PATH = {"DB_PATH": "data/arena.db"}

# (flag, environment) -> (expected URL host or sqlite path, expected origin fragment)
MATRIX = [
    (FLAG, {"ARENADB_DATABASE_URL": ARENA, "DATABASE_URL": PLAIN, **PARTS, **PATH}, "flaghost"),
    (None, {"ARENADB_DATABASE_URL": ARENA, "DATABASE_URL": PLAIN, **PARTS, **PATH}, "arenahost"),
    (None, {"DATABASE_URL": PLAIN, **PARTS, **PATH}, "plainhost"),
    (None, {**PARTS, **PATH}, "parthost"),
    (None, PATH, "data/arena.db"),
    (None, {}, "./arenadb.db"),
]


def resolve(flag=None, environ=None, tmp_path: Path | None = None, env_file=None):
    cwd = tmp_path if tmp_path is not None else Path("/nonexistent-arenadb-cwd")
    return load_settings(flag, env_file=env_file, environ=environ or {}, cwd=cwd)


@pytest.mark.parametrize(("flag", "environ", "expected"), MATRIX)
def test_precedence_matrix(flag, environ, expected):
    settings = resolve(flag, environ)
    where = settings.url.host or settings.url.database
    assert where == expected
    origin = settings.origins["database_url"]
    if flag:
        assert origin == ORIGIN_FLAG
    elif "ARENADB_DATABASE_URL" in environ:
        assert origin == "environment ARENADB_DATABASE_URL"
    elif "DATABASE_URL" in environ:
        assert origin == "environment DATABASE_URL"
    elif "DB_HOST" in environ:
        assert "environment DB_HOST" in origin and "environment DB_PASSWORD" in origin
    elif "DB_PATH" in environ:
        assert origin == "environment DB_PATH"
    else:
        assert origin == ORIGIN_DEFAULT
        assert settings.database_url == DEFAULT_DATABASE_URL


def test_postgres_schemes_get_psycopg_driver():
    for url in ("postgres://u@h/d", "postgresql://u@h/d", "postgresql+psycopg://u@h/d"):
        assert parse_url(url).drivername == "postgresql+psycopg"
    assert resolve(PLAIN).database_url.startswith("postgresql+psycopg://plain:ppw@plainhost:6000/")


def test_db_parts_defaults_and_escaping():
    settings = resolve(environ={"DB_NAME": "arena", "DB_PASSWORD": "p@ss:w/rd%25?#"})
    url = settings.url
    assert (url.host, url.port, url.username, url.database) == (
        "localhost",
        5432,
        "postgres",
        "arena",
    )
    assert url.password == "p@ss:w/rd%25?#"
    # The rendered URL escapes it, and parsing it back gives the very same password.
    assert "p%40ss%3Aw%2Frd%2525%3F%23" in settings.database_url
    assert parse_url(settings.database_url).password == "p@ss:w/rd%25?#"


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://u:p%40ss@h/d", "p@ss"),
        ("postgresql://u:p%2Fs%3As%25@h:5433/d", "p/s:s%"),
        ("postgresql://u:raw@pass@h/d", "raw@pass"),  # unescaped '@': split at the last one
        ("postgresql://u:@h/d", ""),
    ],
)
def test_passwords_with_odd_characters(url, password):
    parsed = parse_url(url)
    assert parsed.password == password
    assert parsed.host == "h"
    assert parse_url(parsed.render()).password == password


def test_sqlite_urls():
    assert parse_url("sqlite:///rel/a.db").sqlite_path == Path("rel/a.db")
    assert parse_url("sqlite:////abs/a.db").sqlite_path == Path("/abs/a.db")
    assert parse_url("sqlite://").sqlite_path is None
    assert parse_url("sqlite:///:memory:").sqlite_path is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "malformed database URL"),
        ("mysql://u:secret@h/d", "unsupported database URL scheme 'mysql'"),
        ("postgresql://u:secret@h:99999/d", "port '99999' is invalid"),
        ("postgresql://u:secret@h:abc/d", "port 'abc' is invalid"),
        ("sqlite://relative.db", "malformed SQLite URL"),
    ],
)
def test_bad_urls_are_config_errors_without_password(url, message):
    with pytest.raises(ConfigError) as info:
        parse_url(url)
    assert message in str(info.value)
    assert "secret" not in str(info.value)


def test_dotenv_is_read_but_never_overrides_environment(tmp_path):
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql://dot:dpw@dothost/dotdb\nDB_ECHO=true\nDB_POOL_SIZE=9\n"
    )
    settings = resolve(environ={"DB_POOL_SIZE": "3"}, tmp_path=tmp_path)
    assert settings.url.host == "dothost"
    assert settings.origins["database_url"].startswith(".env file")
    assert settings.echo is True and settings.origins["echo"].startswith(".env file")
    assert settings.pool_size == 3 and settings.origins["pool_size"] == "environment DB_POOL_SIZE"
    # A real environment variable of higher precedence wins over the file.
    settings = resolve(environ={"ARENADB_DATABASE_URL": ARENA}, tmp_path=tmp_path)
    assert settings.url.host == "arenahost"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"DB_PATH=a.db\n!!! not a variable\n", "line 2: not a NAME=value line"),
        (b"list:x:38:38:Mailing List Manager:/var/list:/bin/sh\n", "line 1: not a NAME="),
        (b"DB_PATH=\xff\xfe\n", "not UTF-8 text"),
    ],
)
def test_an_env_file_that_is_not_one_is_one_error(tmp_path, content, message):
    env_file = tmp_path / "bad.env"
    env_file.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        resolve(env_file=env_file)


def test_explicit_env_file(tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text("DB_PATH=custom.db\n")
    settings = resolve(env_file=env_file)
    assert settings.url.database == "custom.db"
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        resolve(env_file=tmp_path / "missing.env")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DB_POOL_SIZE", "many", "DB_POOL_SIZE must be an integer"),
        ("DB_POOL_SIZE", "0", "DB_POOL_SIZE must be between 1 and 1000"),
        ("DB_POOL_SIZE", "١٢", "DB_POOL_SIZE must be an integer"),
        ("DB_POOL_SIZE", "²", "DB_POOL_SIZE must be an integer"),
        ("DB_POOL_SIZE", "1" * 30, "DB_POOL_SIZE must be an integer"),
        ("DB_POOL_SIZE", "100000", "DB_POOL_SIZE must be between 1 and 1000"),
        ("DB_CONNECT_TIMEOUT", "nan", "DB_CONNECT_TIMEOUT must be a number"),
        ("DB_CONNECT_TIMEOUT", "inf", "DB_CONNECT_TIMEOUT must be a number"),
        ("DB_CONNECT_TIMEOUT", "-inf", "DB_CONNECT_TIMEOUT must be a number"),
        ("DB_CONNECT_TIMEOUT", "1e400", "DB_CONNECT_TIMEOUT must be between"),
        ("DB_CONNECT_TIMEOUT", "0", "DB_CONNECT_TIMEOUT must be between"),
        ("DB_STATEMENT_TIMEOUT_MS", "NaN", "DB_STATEMENT_TIMEOUT_MS must be an integer"),
        ("DB_STATEMENT_TIMEOUT_MS", "3000000000", "must be between 0 and 2147483647"),
        ("DB_BUSY_TIMEOUT_MS", "1.5", "DB_BUSY_TIMEOUT_MS must be an integer"),
        ("DB_LOCK_TIMEOUT_MS", "-5", "must not be negative"),
        ("ARENADB_SNAPSHOT_EVERY", "infinity", "ARENADB_SNAPSHOT_EVERY must be an integer"),
        ("DB_ECHO", "maybe", "DB_ECHO must be true or false"),
        ("DB_CONNECT_TIMEOUT", "-1", "must not be negative"),
        ("DB_PORT", "x", "DB_PORT must be a port number"),
        ("DB_PORT", "١٢", "DB_PORT must be a port number"),
        ("DB_PORT", "²", "DB_PORT must be a port number"),
        ("DB_PORT", "99999", "DB_PORT must be a port number"),
    ],
)
def test_bad_numbers(name, value, message):
    environ = {name: value}
    if name == "DB_PORT":
        environ["DB_HOST"] = "h"
    with pytest.raises(ConfigError, match=message):
        resolve(environ=environ)


def test_other_settings_have_origins():
    settings = resolve(
        environ={"DB_ECHO": "yes", "DB_CONNECT_TIMEOUT": "2.5", "DB_STATEMENT_TIMEOUT_MS": "900"}
    )
    assert settings.echo is True
    assert settings.connect_timeout == 2.5
    assert settings.statement_timeout_ms == 900
    assert settings.origins["connect_timeout"] == "environment DB_CONNECT_TIMEOUT"
    assert settings.origins["busy_timeout_ms"] == ORIGIN_DEFAULT


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://user:s3cr%40t@h/d",
        "postgresql://user:s3cr@t@h/d",
        "postgresql://user@h/d?password=s3cr@t",
        "postgresql://user@h/d?sslpassword=s3cr@t&sslmode=require",
    ],
)
def test_masking_hides_every_secret(url):
    parsed = parse_url(url)
    masked = parsed.masked()
    assert "s3cr" not in masked
    assert "***" in masked
    assert "s3cr" not in mask_url(url)
    settings = resolve(url)
    assert "s3cr" not in settings.masked_url
    # Free text mentioning the secret in any form is scrubbed too.
    text = f"failed for {settings.database_url} with password s3cr@t ({url})"
    assert "s3cr" not in settings.mask(text)
    if "sslmode" in url:
        assert "sslmode=require" in masked


def test_mask_text_without_known_secrets():
    text = "could not connect to postgresql://bob:hunter2@db/x; dsn: password=hunter2 host=db"
    masked = mask_text(text)
    assert "hunter2" not in masked
    assert "bob:***@db" in masked and "host=db" in masked


def test_describe_lists_everything_masked():
    settings = resolve("postgresql://u:topsecret@h/d")
    rows = {name: (value, origin) for name, value, origin in settings.describe()}
    assert rows["database_url"] == ("postgresql+psycopg://u:***@h/d", ORIGIN_FLAG)
    assert {"pool_size", "echo", "connect_timeout", "busy_timeout_ms"} <= set(rows)
    assert "topsecret" not in repr(rows)


# --- issue 15: empty values, .env across names, secrets in malformed URLs, linear masking


@pytest.mark.parametrize("flag", ["", "   "])
def test_empty_flag_is_a_usage_error_not_a_fall_through(flag):
    with pytest.raises(InvalidArgumentError, match="empty"):
        resolve(flag, {"ARENADB_DATABASE_URL": ARENA})
    with pytest.raises(InvalidArgumentError, match="empty"):
        resolve(flag, {})


def test_empty_variables_count_as_unset_and_say_so():
    settings = resolve(environ={"ARENADB_DATABASE_URL": "", "DATABASE_URL": PLAIN})
    assert settings.url.host == "plainhost"
    assert "ARENADB_DATABASE_URL empty in the environment" in settings.origins["database_url"]
    settings = resolve(environ={"DB_HOST": " ", "DB_PATH": "x.db"})
    assert settings.url.database == "x.db"


@pytest.mark.parametrize(
    "environ",
    [
        {"DATABASE_URL": PLAIN},
        {"DB_HOST": "plainhost", "DB_NAME": "plaindb"},
        {"DB_PATH": "plainhost.db"},
        # Set but empty: not filled from .env, and .env's other database variables are ignored.
        {"ARENADB_DATABASE_URL": ""},
        {"DB_PASSWORD": ""},
    ],
)
def test_dotenv_never_beats_the_real_environment_across_names(tmp_path, environ):
    (tmp_path / ".env").write_text(
        "ARENADB_DATABASE_URL=postgresql://dot:dpw@dothost/dotdb\nDB_PASSWORD=dpw\nDB_ECHO=true\n"
    )
    settings = resolve(environ=environ, tmp_path=tmp_path)
    assert settings.url.host != "dothost"
    assert ".env" not in settings.origins["database_url"]
    assert settings.url.password != "dpw"
    assert settings.echo is True  # not a database variable: .env still fills it
    rows = {name: origin for name, _value, origin in settings.describe()}
    assert "the real environment sets" in rows["ignored .env ARENADB_DATABASE_URL"]
    assert "ignored .env DB_PASSWORD" in rows


def test_dotenv_database_variables_apply_when_the_environment_has_none(tmp_path):
    (tmp_path / ".env").write_text("DB_HOST=dothost\nDB_PASSWORD=dpw\n")
    settings = resolve(environ={"DB_POOL_SIZE": "2"}, tmp_path=tmp_path)
    assert (settings.url.host, settings.url.password) == ("dothost", "dpw")
    assert not settings.ignored


@pytest.mark.parametrize(
    "text",
    [
        "postgresql:/user:s3cret@host/db",
        "postgresql//user:s3cret@h/db",
        "user:s3cret@h/db",
        "sqlite://u:s3cret'x@h/db",
        "postgresql://u:/s3cret@h/db",
        "postgresql://u:s3c@ret@h/db?sslmode=require",
    ],
)
def test_userinfo_is_masked_even_when_the_url_does_not_parse(text):
    for shown in (mask_text(text), mask_text(repr(text)), mask_url(text)):
        assert "s3c" not in shown and "ret'x" not in shown, shown
    try:
        parse_url(text)
    except ConfigError as exc:
        assert "s3c" not in str(exc)


@pytest.mark.parametrize(
    "text",
    [
        "A" * 100_000,
        "pass" * 50_000,
        "a:" * 100_000,
        "password='" * 20_000,
        "://x:" * 50_000 + "@",
        "a@" * 100_000,
    ],
)
def test_masking_is_linear(text):
    # No timing assertion (see the rules). Each input is 1-2 million characters: a linear scan
    # takes a fraction of a second, the old quadratic patterns took hours (20,000 characters
    # cost them 10 s), so a regression shows as a hung test.
    masked = mask_text(text * 10)
    assert len(masked) <= len(text) * 10


def test_overlong_and_nul_urls_are_refused():
    with pytest.raises(ConfigError, match="too long"):
        parse_url("postgresql://u@h/" + "d" * 5000)
    for url in ("postgresql://u:pw%00x@h/d", "postgresql://u@h/d%00", "sqlite:///a\x00.db?x=1"):
        try:
            parsed = parse_url(url)
        except ConfigError as exc:
            assert "NUL" in str(exc) or "malformed" in str(exc)
            assert "pw" not in str(exc)
        else:
            pytest.fail(f"{url} parsed as {parsed}")
    with pytest.raises(ConfigError, match="NUL"):
        resolve(environ={"DB_HOST": "h", "DB_PASSWORD": "a\x00b"})
