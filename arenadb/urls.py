"""Database URLs: parsing (the schemes arenadb accepts, NUL and length refused) and masking.

Masking works on any text, parsed or not: a malformed URL in an error message still has its
userinfo and secret query values hidden, in time linear in the text. This module must stay light
(no SQLAlchemy): `arenadb config show` and every error message use it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode

from arenadb.errors import ConfigError

MASK = "***"
# A database URL longer than this is a mistake (or an attack on the parser), not a database.
MAX_URL_LENGTH = 4096

# Query-string keys whose values are secrets (libpq's `password`, `sslpassword`, tokens, ...).
_SECRET_KEY = re.compile(r"pass|secret|token|credential", re.IGNORECASE)


def is_secret_key(name: str) -> bool:
    """Whether a query-string key names a secret (`password`, `sslpassword`, `token`, ...)."""
    return _SECRET_KEY.search(name) is not None


log = logging.getLogger("arenadb.urls")

# Async drivers' schemes (FastAPI apps keep `DATABASE_URL=postgresql+asyncpg://...`): the same
# server, reached with psycopg 3, the driver arenadb uses. Parsing one logs a warning saying so.
ASYNC_SCHEMES = ("postgresql+asyncpg", "postgresql+psycopg_async")

_SUPPORTED_SCHEMES = {
    **dict.fromkeys(ASYNC_SCHEMES, "postgresql+psycopg"),
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


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
    scheme = text.partition("://")[0].lower()
    if scheme in ASYNC_SCHEMES:
        log.warning(
            "%s:// URL used with psycopg, arenadb's PostgreSQL driver: %s", scheme, parsed.masked()
        )
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
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
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
