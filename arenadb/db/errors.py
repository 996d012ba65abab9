"""Driver errors -> arenadb errors: the one translation of the db layer.

A database error reaches arenadb in two shapes: wrapped by SQLAlchemy (ORM and Core work), or
raw from the driver (sqlite3, psycopg) when the hot paths work on the DBAPI connection itself
(the recorder's batches, bulk COPY). Both follow the DBAPI's class names (IntegrityError,
OperationalError, ...), and SQLAlchemy's wrappers reuse them, so one rule by class name serves
both: a violated constraint is a conflict, anything else means the database cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from arenadb.errors import ArenaDBError, ConflictError, DatabaseUnavailableError

if TYPE_CHECKING:
    from arenadb.config import Settings

_DRIVER_MODULES = ("sqlite3", "psycopg")
# DBAPI class name -> (error class, generic opening of its message, "{target}" filled in).
_BY_DBAPI_CLASS: tuple[tuple[str, type[ArenaDBError], str], ...] = (
    ("IntegrityError", ConflictError, "integrity error on {target}"),
    ("OperationalError", DatabaseUnavailableError, "cannot use database {target}"),
    ("InterfaceError", DatabaseUnavailableError, "cannot use database {target}"),
    # SQLAlchemy's own: no driver for the URL, or a URL it cannot take.
    ("NoSuchModuleError", DatabaseUnavailableError, "cannot use database {target}"),
    ("ArgumentError", DatabaseUnavailableError, "cannot use database {target}"),
    ("DatabaseError", DatabaseUnavailableError, "database error on {target}"),
    ("DBAPIError", DatabaseUnavailableError, "database error on {target}"),
    ("Error", DatabaseUnavailableError, "database error on {target}"),  # a driver's base class
)


def translate_error(
    exc: BaseException, settings: Settings | None = None, *, doing: str | None = None
) -> ArenaDBError | None:
    """The arenadb error for a SQLAlchemy or driver error, with a one-line, masked message;
    None when `exc` is neither (the caller re-raises it as it is).

    `doing` ("cannot write a batch of game 7") opens the message instead of the generic
    "cannot use database <url>", followed by "on <url>" when `settings` are given.
    """
    module = type(exc).__module__
    if module.startswith("sqlalchemy"):
        driver_error = getattr(exc, "orig", None) or exc
    elif module.startswith(_DRIVER_MODULES):
        driver_error = exc
    else:
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    found = next((row for row in _BY_DBAPI_CLASS if row[0] in names), None)
    if found is None:
        return None  # a SQLAlchemy error that is not about the database (e.g. a mapper error)
    _name, error_class, opening = found
    detail = " ".join(str(driver_error).split()) or type(driver_error).__name__
    if doing is None:
        target = settings.masked_url if settings is not None else "the database"
        doing = opening.format(target=target)
    elif settings is not None:
        doing = f"{doing} on {settings.masked_url}"
    missing = _missing_table(driver_error, detail)
    if missing is not None:
        # Not a database problem to debug but a step not taken: say which.
        detail = (
            f"it has no table {missing}: it is not an arenadb database, not initialised, or "
            "older than this arenadb (`arenadb db check` says which; `arenadb init` or "
            "`arenadb migrate up` sets one up)"
        )
    message = f"{doing}: {detail}"
    return error_class(settings.mask(message) if settings is not None else message)


@contextmanager
def translated_errors(settings: Settings | None = None) -> Iterator[None]:
    """Raise the arenadb error for any SQLAlchemy or driver error of the block (the original
    is its `__cause__`); every other exception passes untouched. The library's entry points
    that open sessions (`Arena.session`, `Arena.read_session`) use it, so a library caller
    catches `arenadb.errors` as the CLI does."""
    try:
        yield
    except Exception as exc:
        error = translate_error(exc, settings)
        if error is None:
            raise
        raise error from exc


# A query on a table that is not there, in each driver's words (psycopg: SQLSTATE 42P01).
_NO_SUCH_TABLE = re.compile(r'^(?:no such table: (\S+)|relation "([^"]+)" does not exist)')


def _missing_table(driver_error: BaseException, detail: str) -> str | None:
    if getattr(driver_error, "sqlstate", None) not in (None, "42P01"):  # sqlite3 has none
        return None
    found = _NO_SUCH_TABLE.match(detail)
    return next((name for name in found.groups() if name), None) if found else None
