"""Settings: where each value comes from, and how the database URL is chosen.

Parsing and masking of URLs are in `arenadb.urls`.

Resolved once per process (or per CLI invocation) into a frozen `Settings`. This module must stay
light: `arenadb config show` imports it, and neither SQLAlchemy nor alembic may be imported here.

Precedence of the database URL, first match wins:
  1. the `--database-url` option
  2. `ARENADB_DATABASE_URL`, then `DATABASE_URL`
  3. `DB_HOST` / `DB_PORT` / `DB_NAME` / `DB_USER` / `DB_PASSWORD` (PostgreSQL; used when DB_HOST
     or DB_NAME is set; the parts are URL-escaped, so any character works in a password)
  4. `DB_PATH` (a SQLite file)
  5. the default `sqlite:///./arenadb.db`
The real environment always wins over a `.env` file:
  - a variable present in the real environment is never filled from `.env`, even when empty;
  - if the real environment has ANY database variable (the URL and DB_* names above), every
    database variable of `.env` is ignored, so a `.env` DATABASE_URL can never beat a real DB_HOST
    (`config show` lists what was ignored and why).
An empty (or blank) variable counts as unset: it does not select a source, and the next one in the
list applies (an empty `--database-url` on the other hand is a usage error: a flag given empty is
a mistake, as in `--database-url "$UNSET"`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arenadb.errors import ConfigError, InvalidArgumentError
from arenadb.urls import (
    MASK,
    MAX_URL_LENGTH,
    DatabaseURL,
    check_no_nul,
    is_secret_key,
    mask_text,
    mask_url,
    parse_url,
)

__all__ = [
    "DATABASE_VARIABLES",
    "DEFAULT_DATABASE_URL",
    "MASK",
    "MAX_URL_LENGTH",
    "DatabaseURL",
    "Settings",
    "check_no_nul",
    "is_secret_key",
    "load_settings",
    "mask_text",
    "mask_url",
    "parse_url",
]

DEFAULT_DATABASE_URL = "sqlite:///./arenadb.db"
# Every variable that says where the database is; see the precedence above.
DATABASE_VARIABLES = (
    "ARENADB_DATABASE_URL",
    "DATABASE_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_PATH",
)

ORIGIN_FLAG = "--database-url"
ORIGIN_READ_FLAG = "--read-url"
ORIGIN_DEFAULT = "default"
# A read replica (PostgreSQL hot standby, or a copy of a SQLite file) for the read side.
READ_URL_VARIABLE = "ARENADB_READ_URL"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. `origins` tells, per field, where its value came from."""

    url: DatabaseURL
    pool_size: int = 5
    echo: bool = False
    connect_timeout: float = 5.0
    statement_timeout_ms: int = 0
    busy_timeout_ms: int = 5000
    # PostgreSQL migrations wait at most this long for a table lock, then retry: a migration
    # queued behind a long transaction would otherwise block every writer that queues behind it.
    lock_timeout_ms: int = 5000
    snapshot_every: int = 10
    # Where read-only commands and the library's read side read (None: the database itself),
    # and how far behind the primary it may be before a read says so.
    read_url: DatabaseURL | None = None
    read_max_lag_s: float = 30.0
    env_file: Path | None = None
    origins: Mapping[str, str] = field(default_factory=dict)
    # .env variables that were not used, and why (the real environment named the database).
    ignored: Mapping[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        """The full URL, password included: hand it to a driver, never print it."""
        return self.url.render()

    @property
    def masked_url(self) -> str:
        return self.url.masked()

    @property
    def backend(self) -> str:
        return self.url.backend

    def secrets(self) -> list[str]:
        extra = self.read_url.secrets() if self.read_url is not None else []
        return [*self.url.secrets(), *extra]

    def for_reading(self) -> Settings:
        """The settings of the read side: the read replica's URL when one is configured."""
        if self.read_url is None:
            return self
        origins = {**self.origins, "database_url": self.origins.get("read_url", ORIGIN_DEFAULT)}
        return dataclasses.replace(self, url=self.read_url, read_url=None, origins=origins)

    def mask(self, text: str) -> str:
        return mask_text(text, self.secrets())

    def with_url(self, url: str | DatabaseURL, origin: str = ORIGIN_FLAG) -> Settings:
        parsed = url if isinstance(url, DatabaseURL) else parse_url(url)
        origins = {**self.origins, "database_url": origin}
        return dataclasses.replace(self, url=parsed, origins=origins)

    def describe(self) -> list[tuple[str, object, str]]:
        """(name, display value, origin) rows, password masked; what `config show` prints."""
        rows: list[tuple[str, object, str]] = [
            ("database_url", self.masked_url, self.origins.get("database_url", ORIGIN_DEFAULT)),
            ("backend", self.backend, self.origins.get("database_url", ORIGIN_DEFAULT)),
        ]
        read = self.read_url.masked() if self.read_url is not None else None
        rows.append(("read_url", read, self.origins.get("read_url", ORIGIN_DEFAULT)))
        for name in (
            "read_max_lag_s",
            "pool_size",
            "echo",
            "connect_timeout",
            "statement_timeout_ms",
            "busy_timeout_ms",
            "lock_timeout_ms",
            "snapshot_every",
        ):
            rows.append((name, getattr(self, name), self.origins.get(name, ORIGIN_DEFAULT)))
        rows.append(("env_file", str(self.env_file) if self.env_file else None, "--env-file/cwd"))
        for name, reason in self.ignored.items():
            rows.append((f"ignored .env {name}", "not used", reason))
        return rows


class _Sources:
    """Variable lookup: the real environment first, then the .env file; remembers the origin.

    A name present in the real environment is never looked up in .env (even when empty), and
    when the real environment has any database variable, .env's database variables are ignored
    as a whole: two sources never mix into one database URL.
    """

    def __init__(self, environ: Mapping[str, str], dotenv: Mapping[str, str], dotenv_path: Path):
        self.environ = environ
        self.dotenv = dotenv
        self.dotenv_label = f".env file {dotenv_path}"
        self.environment_database = [n for n in DATABASE_VARIABLES if n in environ]
        self.empty = [n for n in DATABASE_VARIABLES if n in environ and not environ[n].strip()]
        ignored = [n for n in DATABASE_VARIABLES if n in dotenv and self.environment_database]
        self.ignored = {
            name: f"the real environment sets {', '.join(self.environment_database)}"
            for name in ignored
        }

    def get(self, name: str) -> tuple[str, str] | None:
        if name in self.environ:
            value = self.environ[name]
            return (value, f"environment {name}") if value.strip() else None
        if name in self.ignored:
            return None
        from_file = self.dotenv.get(name)
        if from_file is not None and from_file.strip():
            return from_file, f"{self.dotenv_label} ({name})"
        return None


def _read_dotenv(path: Path) -> dict[str, str]:
    """The variables of a .env file; a line that is not `NAME=value` (python-dotenv would warn
    and go on without it, on several lines of stderr) or a file that cannot be read is an error.
    """
    import io

    from dotenv import dotenv_values  # only when there is a file: keeps start-up light
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"cannot read env file {str(path)!r}: {reason}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"env file {str(path)!r}, line {binding.original.line}: not a NAME=value line"
            )
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def _resolve_url(flag_url: str | None, src: _Sources) -> tuple[DatabaseURL, str]:
    url, origin = _find_url(flag_url, src)
    if src.empty and origin != ORIGIN_FLAG:
        origin += f" ({', '.join(src.empty)} empty in the environment: treated as unset)"
    return url, origin


def _find_url(flag_url: str | None, src: _Sources) -> tuple[DatabaseURL, str]:
    if flag_url is not None:
        if not flag_url.strip():
            # `--database-url "$UNSET"`: falling through to another source would act on a
            # database nobody named (the default file, a .env one).
            raise InvalidArgumentError(
                "the database URL given is empty: give a URL or leave it out"
            )
        return parse_url(flag_url), ORIGIN_FLAG
    for name in ("ARENADB_DATABASE_URL", "DATABASE_URL"):
        found = src.get(name)
        if found:
            return parse_url(found[0]), found[1]
    host, dbname = src.get("DB_HOST"), src.get("DB_NAME")
    if host or dbname:
        parts = {
            n: src.get(f"DB_{n.upper()}") for n in ("host", "port", "name", "user", "password")
        }
        port_text = parts["port"][0] if parts["port"] else "5432"
        if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
            raise ConfigError(f"DB_PORT must be a port number, got {port_text!r}")
        url = DatabaseURL(
            "postgresql+psycopg",
            username=parts["user"][0] if parts["user"] else "postgres",
            password=parts["password"][0] if parts["password"] else None,
            host=parts["host"][0] if parts["host"] else "localhost",
            port=int(port_text),
            database=parts["name"][0] if parts["name"] else "arenadb",
        )
        check_no_nul(url)
        used = [o for p in parts.values() if p for o in [p[1]]]
        return url, "; ".join(used)
    path = src.get("DB_PATH")
    if path:
        sqlite_url = DatabaseURL("sqlite", database=path[0])
        check_no_nul(sqlite_url)
        return sqlite_url, path[1]
    return parse_url(DEFAULT_DATABASE_URL), ORIGIN_DEFAULT


# What each numeric setting may be: (type, least, most). Written in ASCII digits only (no `nan`,
# `inf`, `1e400`, `١٢` or 30-digit values): the bounds are what the drivers and servers take
# (PostgreSQL timeouts are 32-bit milliseconds), and a zero pool or connect timeout makes no sense.
INT32_MAX = 2**31 - 1
NUMBER_SETTINGS: dict[str, tuple[type, float, float]] = {
    "DB_POOL_SIZE": (int, 1, 1000),
    "DB_CONNECT_TIMEOUT": (float, 0.001, 3600.0),
    "DB_STATEMENT_TIMEOUT_MS": (int, 0, INT32_MAX),
    "DB_BUSY_TIMEOUT_MS": (int, 0, INT32_MAX),
    "DB_LOCK_TIMEOUT_MS": (int, 0, INT32_MAX),
    "ARENADB_SNAPSHOT_EVERY": (int, 0, 1_000_000_000),
    "ARENADB_READ_MAX_LAG_S": (float, 0.0, 365 * 24 * 3600.0),
}
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}", re.ASCII)
_DECIMAL = re.compile(
    r"[+-]?([0-9]{1,19}(\.[0-9]{0,19})?|\.[0-9]{1,19})([eE][+-]?[0-9]{1,3})?", re.ASCII
)


def _number(src: _Sources, name: str, default: float, origins: dict, key: str) -> Any:
    kind, least, most = NUMBER_SETTINGS[name]
    found = src.get(name)
    if not found:
        origins[key] = ORIGIN_DEFAULT
        return default
    raw, origin = found
    text = raw.strip()
    pattern = _INTEGER if kind is int else _DECIMAL
    if not pattern.fullmatch(text):
        raise ConfigError(
            f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r} ({origin})"
        )
    value = kind(text)
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r} ({origin})")
    if not least <= value <= most:
        raise ConfigError(
            f"{name} must be between {_plain(least)} and {_plain(most)}, got {raw!r} ({origin})"
        )
    origins[key] = origin
    return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _flag(src: _Sources, name: str, origins: dict, key: str) -> bool:
    found = src.get(name)
    if not found:
        origins[key] = ORIGIN_DEFAULT
        return False
    raw, origin = found
    lowered = raw.strip().lower()
    if lowered not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ConfigError(f"{name} must be true or false, got {raw!r} ({origin})")
    origins[key] = origin
    return lowered in {"1", "true", "yes", "on"}


def _read_url(flag_url: str | None, src: _Sources, origins: dict) -> DatabaseURL | None:
    if flag_url is not None:
        if not flag_url.strip():
            raise InvalidArgumentError("the read URL given is empty: give a URL or leave it out")
        origins["read_url"] = ORIGIN_READ_FLAG
        return parse_url(flag_url)
    found = src.get(READ_URL_VARIABLE)
    if not found:
        return None
    origins["read_url"] = found[1]
    return parse_url(found[0])


def load_settings(
    database_url: str | None = None,
    env_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    *,
    read_url: str | None = None,
) -> Settings:
    """Resolve settings once: flag > environment > .env file > default.

    `env_file` names a file that must exist; without it `.env` in `cwd` is read if present.
    `read_url` (the `--read-url` flag) beats `ARENADB_READ_URL`.
    """
    environ = os.environ if environ is None else environ
    base = Path(cwd) if cwd is not None else Path.cwd()
    dotenv_path: Path | None
    if env_file is not None:
        dotenv_path = Path(env_file)
        try:
            exists = dotenv_path.is_file()
        except (OSError, ValueError):  # a name too long for the file system, a NUL
            exists = False
        if not exists:
            try:
                present = os.path.lexists(dotenv_path)
            except (OSError, ValueError):
                present = False
            what = "is not a regular file" if present else "does not exist"
            raise InvalidArgumentError(f"env file {str(env_file)[:200]!r} {what}")
    else:
        dotenv_path = base / ".env"
        if not dotenv_path.is_file():
            dotenv_path = None
    dotenv = _read_dotenv(dotenv_path) if dotenv_path else {}
    src = _Sources(environ, dotenv, dotenv_path or base / ".env")

    url, url_origin = _resolve_url(database_url, src)
    origins: dict[str, str] = {"database_url": url_origin}
    replica = _read_url(read_url, src, origins)
    if replica is not None and replica.backend != url.backend:
        raise ConfigError(
            f"the read replica ({replica.backend}) must be the same backend as the database "
            f"({url.backend})"
        )
    return Settings(
        url=url,
        read_url=replica,
        read_max_lag_s=_number(src, "ARENADB_READ_MAX_LAG_S", 30.0, origins, "read_max_lag_s"),
        pool_size=_number(src, "DB_POOL_SIZE", 5, origins, "pool_size"),
        echo=_flag(src, "DB_ECHO", origins, "echo"),
        connect_timeout=_number(src, "DB_CONNECT_TIMEOUT", 5.0, origins, "connect_timeout"),
        statement_timeout_ms=_number(
            src, "DB_STATEMENT_TIMEOUT_MS", 0, origins, "statement_timeout_ms"
        ),
        busy_timeout_ms=_number(src, "DB_BUSY_TIMEOUT_MS", 5000, origins, "busy_timeout_ms"),
        lock_timeout_ms=_number(src, "DB_LOCK_TIMEOUT_MS", 5000, origins, "lock_timeout_ms"),
        snapshot_every=_number(src, "ARENADB_SNAPSHOT_EVERY", 10, origins, "snapshot_every"),
        env_file=dotenv_path,
        origins=origins,
        ignored=src.ignored,
    )
