"""Settings: where each value comes from, database URL building, parsing and masking.

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
from urllib.parse import parse_qsl, quote, unquote, urlencode

from arenadb.errors import ConfigError, InvalidArgumentError

DEFAULT_DATABASE_URL = "sqlite:///./arenadb.db"
MASK = "***"
# A database URL longer than this is a mistake (or an attack on the parser), not a database.
MAX_URL_LENGTH = 4096
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

# Query-string keys whose values are secrets (libpq's `password`, `sslpassword`, tokens, ...).
_SECRET_KEY = re.compile(r"pass|secret|token|credential", re.IGNORECASE)


def is_secret_key(name: str) -> bool:
    """Whether a query-string key names a secret (`password`, `sslpassword`, `token`, ...)."""
    return _SECRET_KEY.search(name) is not None


_SUPPORTED_SCHEMES = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}

ORIGIN_FLAG = "--database-url"
ORIGIN_DEFAULT = "default"


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL. `password` is decoded; render with `render()` or `masked()`."""

    drivername: str
    username: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    @property
    def backend(self) -> str:
        return self.drivername.split("+", 1)[0]

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The file of a SQLite URL, or None for an in-memory database."""
        if not self.is_sqlite or not self.database or self.database == ":memory:":
            return None
        return Path(self.database)

    def with_database(self, database: str) -> DatabaseURL:
        return DatabaseURL(
            self.drivername,
            self.username,
            self.password,
            self.host,
            self.port,
            database,
            self.query,
        )

    def render(self, *, hide_secrets: bool = False) -> str:
        """The URL as a string; with `hide_secrets` every password is replaced by `***`."""
        if self.is_sqlite:
            base = f"{self.drivername}:///{self.database or ''}"
            if not self.database:
                base = f"{self.drivername}://"
        else:
            auth = ""
            if self.username is not None:
                auth = quote(self.username, safe="")
                if self.password is not None:
                    auth += ":" + (MASK if hide_secrets else quote(self.password, safe=""))
                auth += "@"
            host = self.host or ""
            if ":" in host:
                host = f"[{host}]"
            port = f":{self.port}" if self.port is not None else ""
            database = "/" + quote(self.database, safe="") if self.database is not None else ""
            base = f"{self.drivername}://{auth}{host}{port}{database}"
        if self.query:
            pairs = [
                (k, MASK if hide_secrets and _SECRET_KEY.search(k) else v) for k, v in self.query
            ]
            base += "?" + urlencode(pairs, safe="*")
        return base

    def masked(self) -> str:
        return self.render(hide_secrets=True)

    def secrets(self) -> list[str]:
        """Every secret this URL carries, raw and URL-escaped, for scrubbing free text."""
        values = [self.password] if self.password else []
        values += [v for k, v in self.query if _SECRET_KEY.search(k) and v]
        out: list[str] = []
        for value in values:
            out += [value, quote(value, safe=""), quote(value)]
        # Longest first, so that scrubbing a secret never leaves a fragment of a longer one.
        return sorted({s for s in out if s}, key=len, reverse=True)


# Applied to the part before the query string. Greedy userinfo: a raw '@' (or '/') inside a
# password still splits at the last '@'. A raw '?' cannot be told from the query: escape it.
_AUTHORITY = re.compile(
    r"^(?:(?P<userinfo>.*)@)?"
    r"(?P<hostport>\[[^\]]*\](?::[^/]*)?|[^/@]*)"
    r"(?:/(?P<database>.*))?$",
    re.DOTALL,
)


def parse_url(url: str) -> DatabaseURL:
    """Parse and normalise a database URL; raises ConfigError naming the masked URL."""
    text = url.strip()
    if not text:
        raise ConfigError("the database URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise ConfigError(
            f"database URL is too long ({len(text)} characters, at most {MAX_URL_LENGTH})"
        )
    parsed = _parse_url(text)
    check_no_nul(parsed)
    return parsed


def check_no_nul(url: DatabaseURL) -> None:
    """Refuse a NUL in any part: libpq cuts its connection string there, so `%00` in a password
    would silently connect with the rest dropped (the default port: another server)."""
    parts = [url.username, url.password, url.host, url.database]
    parts += [text for pair in url.query for text in pair]
    if any(part and "\x00" in part for part in parts):
        raise ConfigError(f"database URL {url.masked()!r} contains a NUL character")


def _parse_url(text: str) -> DatabaseURL:
    scheme, sep, rest = text.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][\w+.-]*", scheme):
        raise ConfigError(f"malformed database URL {mask_text(text)!r}: expected scheme://...")
    driver = _SUPPORTED_SCHEMES.get(scheme.lower())
    if driver is None:
        raise ConfigError(
            f"unsupported database URL scheme {scheme!r}: arenadb supports "
            "sqlite:///PATH and postgresql://USER@HOST:PORT/NAME"
        )
    if driver == "sqlite":
        path, _, query = rest.partition("?")
        if path.startswith("/"):
            path = path[1:]
        elif path:
            raise ConfigError(
                f"malformed SQLite URL {mask_text(text)!r}: use sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        return DatabaseURL("sqlite", database=path or None, query=tuple(parse_qsl(query)))

    head, _, query_text = rest.partition("?")
    match = _AUTHORITY.match(head)
    if match is None:  # pragma: no cover - the pattern accepts any string
        raise ConfigError(f"malformed database URL {mask_text(text)!r}")
    username = password = None
    if match["userinfo"] is not None:
        user, colon, pw = match["userinfo"].partition(":")
        username = unquote(user) or None
        password = unquote(pw) if colon else None
    hostport = match["hostport"] or ""
    host, port_text = hostport, ""
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    elif ":" in hostport:
        host, _, port_text = hostport.rpartition(":")
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            masked = DatabaseURL(driver, username, password, host).masked()
            raise ConfigError(f"malformed database URL {masked!r}: port {port_text!r} is invalid")
        port = int(port_text)
    database = unquote(match["database"]) if match["database"] else None
    pairs = tuple(parse_qsl(query_text, keep_blank_values=True))
    return DatabaseURL(driver, username, password, unquote(host) or None, port, database, pairs)


# `key=value` / `key: value`: a key, tested against _SECRET_KEY, then its value. The look-behind
# lets a key start only where a word starts and the possessive `++` never gives characters back,
# so a 100,000-character word costs one pass, not one pass per character. An unclosed quote
# runs to the end of the text (hiding too much is the safe side, and keeps the scan linear).
_KEY = re.compile(r"(?<![\w.-])([\w.-]++)\s*+[=:]\s*+")
_VALUE = re.compile(r"'[^']*+'?|\"[^\"]*+\"?|[^\s&'\"]++")
_WORD = re.compile(r"\S+")


def _mask_userinfo(word: re.Match[str]) -> str:
    """`user:password@` inside one whitespace-free word, URL or not (`postgresql:/u:pw@h`,
    `u:pw@h/db`, `sqlite://u:pw'x@h`): everything from the first userinfo colon to the last `@`
    before any `?` is hidden. Linear: a few scans of the word."""
    text = word[0]
    head = text.split("?", 1)[0]
    at = head.rfind("@")
    if at < 0:
        return text
    colon = head.find(":", 0, at)
    if colon >= 0 and head.startswith("/", colon + 1):  # a scheme's colon: `postgresql:/`
        colon = head.find(":", colon + 1, at)
    if colon < 0 or head[colon + 1 : at] == MASK:
        return text
    return f"{text[: colon + 1]}{MASK}{text[at:]}"


def _mask_pairs(text: str) -> str:
    pieces: list[str] = []
    done = 0
    for key in _KEY.finditer(text):
        if key.start() < done or not _SECRET_KEY.search(key[1]):
            continue
        value = _VALUE.match(text, key.end())
        if value is None or value[0] == MASK:
            continue
        pieces += [text[done : key.end()], MASK]
        done = value.end()
    return "".join([*pieces, text[done:]])


def mask_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Hide passwords in free text: known secret values, anything that looks like URL userinfo
    (parsable or not) and `password=...` pairs. Linear in the length of the text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    if "@" in text:
        text = _WORD.sub(_mask_userinfo, text)
    return _mask_pairs(text)


def mask_url(url: str) -> str:
    """A URL string with its passwords hidden; never raises."""
    try:
        return parse_url(url).masked()
    except ConfigError:
        return mask_text(url)


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
        return self.url.secrets()

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
        for name in (
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
    from dotenv import dotenv_values  # only when there is a file: keeps start-up light

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


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
        if not port_text.isdigit():
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


def _number(src: _Sources, name: str, default: float, kind: type, origins: dict, key: str):
    found = src.get(name)
    if not found:
        origins[key] = ORIGIN_DEFAULT
        return default
    raw, origin = found
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r} ({origin})"
        ) from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r} ({origin})")
    origins[key] = origin
    return value


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


def load_settings(
    database_url: str | None = None,
    env_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Settings:
    """Resolve settings once: flag > environment > .env file > default.

    `env_file` names a file that must exist; without it `.env` in `cwd` is read if present.
    """
    environ = os.environ if environ is None else environ
    base = Path(cwd) if cwd is not None else Path.cwd()
    dotenv_path: Path | None
    if env_file is not None:
        dotenv_path = Path(env_file)
        if not dotenv_path.is_file():
            raise InvalidArgumentError(f"env file {str(env_file)!r} does not exist")
    else:
        dotenv_path = base / ".env"
        if not dotenv_path.is_file():
            dotenv_path = None
    dotenv = _read_dotenv(dotenv_path) if dotenv_path else {}
    src = _Sources(environ, dotenv, dotenv_path or base / ".env")

    url, url_origin = _resolve_url(database_url, src)
    origins: dict[str, str] = {"database_url": url_origin}
    pool_size = _number(src, "DB_POOL_SIZE", 5, int, origins, "pool_size")
    if pool_size < 1:
        raise ConfigError(
            f"DB_POOL_SIZE must be at least 1, got {pool_size} ({origins['pool_size']})"
        )
    return Settings(
        url=url,
        pool_size=pool_size,
        echo=_flag(src, "DB_ECHO", origins, "echo"),
        connect_timeout=_number(src, "DB_CONNECT_TIMEOUT", 5.0, float, origins, "connect_timeout"),
        statement_timeout_ms=_number(
            src, "DB_STATEMENT_TIMEOUT_MS", 0, int, origins, "statement_timeout_ms"
        ),
        busy_timeout_ms=_number(src, "DB_BUSY_TIMEOUT_MS", 5000, int, origins, "busy_timeout_ms"),
        lock_timeout_ms=_number(src, "DB_LOCK_TIMEOUT_MS", 5000, int, origins, "lock_timeout_ms"),
        snapshot_every=_number(src, "ARENADB_SNAPSHOT_EVERY", 10, int, origins, "snapshot_every"),
        env_file=dotenv_path,
        origins=origins,
        ignored=src.ignored,
    )
