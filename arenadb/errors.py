"""The one exception hierarchy of arenadb.

Library code raises these; the CLI turns them into a single line on stderr and an exit code in
exactly one place (`arenadb.cli.app.ArenaGroup.invoke`). Messages must never carry a password:
build them from masked URLs (`arenadb.config.mask_url`).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CHECK_FAILED = 3


class ArenaDBError(Exception):
    """Base of every error arenadb raises on purpose.

    `parameter` names the argument of the library call that would change the outcome (`force`,
    `what`): the message itself names no command-line flag; the CLI, which knows its options
    share the library's parameter names, adds the flag.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str = "", *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class ConfigError(ArenaDBError):
    """A setting is malformed or names something arenadb cannot use (bad URL, unknown driver)."""


class InvalidDataError(ArenaDBError):
    """Input data (a seed file, an import record, an API argument) is malformed."""


class InvalidArgumentError(InvalidDataError):
    """An argument is outside what the function takes: a malformed reference, an unknown status,
    a page size out of range. The caller's mistake, so the CLI reports it as a usage error; its
    message names the argument's meaning, never a command-line flag."""

    exit_code = EXIT_USAGE


class UsageError(InvalidArgumentError):
    """The command line itself is wrong in a way the parser could not see (raised by the CLI
    only: the library raises `InvalidArgumentError`)."""


class DatabaseUnavailableError(ArenaDBError):
    """The database cannot be reached, opened or authenticated against."""


class DatabaseExistsError(ArenaDBError):
    """`db create` on a database that is already there."""


class DatabaseMissingError(ArenaDBError):
    """The database to use or drop does not exist."""


class NotFoundError(ArenaDBError):
    """A row asked for by id or name does not exist."""


class AmbiguousError(ArenaDBError):
    """A short reference (a UUID prefix, a partial name) matches more than one row."""


class RefusedError(ArenaDBError):
    """A destructive action was not confirmed, or an operation would lose data."""


class ConflictError(ArenaDBError):
    """The request contradicts what is stored (a duplicate, a finished game, a bad state move)."""


class IntegrityCheckError(ArenaDBError):
    """Stored data failed verification (a snapshot hash, a foreign key check)."""

    exit_code = EXIT_CHECK_FAILED


class MigrationFailedError(ArenaDBError):
    """A revision's upgrade or downgrade failed (or kept waiting for a lock); rolled back."""

    def __init__(self, message: str, revision: str | None = None) -> None:
        super().__init__(message)
        self.revision = revision


class CheckFailedError(ArenaDBError):
    """A check command found a problem: migration drift, several heads, pending migrations."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, message: str, details: object | None = None) -> None:
        super().__init__(message)
        self.details = details
