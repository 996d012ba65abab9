"""Read replicas: the read side on a PostgreSQL hot standby (or a copy of a SQLite file).

With `ARENADB_READ_URL` (or `--read-url`) set, read-only commands and the library's read side
open `read_engine(settings)`: the replica, read-only in the database itself (so no write can
ever reach it, whatever a bug above does), while every write goes to the primary. Reads from a
replica may be stale: `replica_lag` measures how far behind the primary it is, in WAL bytes and
seconds, and the CLI says so on stderr when it is more than `ARENADB_READ_MAX_LAG_S` behind. A
replica that cannot be reached is an error naming it, never a silent fall-back to the primary
(which may be what the replica is there to protect).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.config import Settings
from arenadb.errors import DatabaseUnavailableError


def read_engine(settings: Settings, **kwargs: object) -> Engine:
    """An engine on the read replica when one is configured (read-only), else on the database."""
    from arenadb.db.engine import create_engine

    if settings.read_url is None:
        return create_engine(settings, **kwargs)  # type: ignore[arg-type]
    return create_engine(settings.for_reading(), read_only=True, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReplicaLag:
    in_recovery: bool  # a hot standby (False: a primary named as replica, or SQLite)
    behind_bytes: int | None  # WAL the standby has not replayed yet; None: primary unknown
    behind_seconds: float | None  # since the last replayed transaction, when behind
    # Whether the replica is the primary's database (its cluster's system identifier, which a
    # standby shares with its primary, and the same database name); None: the primary is down.
    same_database: bool | None = None

    def message(self, limit_s: float) -> str | None:
        """A warning when the replica is not the primary's database, or is more than `limit_s`
        behind it; else None."""
        if self.same_database is False:
            return (
                "the read replica is not a copy of the primary's database (another PostgreSQL "
                "cluster or database): what it shows is not the primary's data, and how far "
                "behind it is cannot be measured"
            )
        if not self.behind_bytes or self.behind_seconds is None:
            return None
        if self.behind_seconds <= limit_s:
            return None
        return (
            f"the read replica is {self.behind_seconds:.0f} s ({self.behind_bytes:,} bytes of WAL) "
            "behind the primary: what it shows may be stale"
        )


def _lsn(text: str | None) -> int | None:
    if not text:
        return None
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def replica_lag(settings: Settings, replica: Engine, primary: Engine | None) -> ReplicaLag:
    """How far `replica` is behind `primary` (both PostgreSQL); a down replica is an error.

    `settings` are the primary's (with `read_url`): they mask both URLs in messages."""
    try:
        with replica.connect() as conn:
            in_recovery, replayed, age, identity = conn.execute(
                sa.text(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                    "extract(epoch FROM now() - pg_last_xact_replay_timestamp()), "
                    f"{_IDENTITY}"
                )
            ).one()
    except sa.exc.DBAPIError as exc:
        raise unreachable(settings, exc) from None
    behind: int | None = None
    same_database: bool | None = None
    if primary is not None:
        try:
            with primary.connect() as conn:
                current, primary_identity = conn.execute(
                    sa.text(
                        "SELECT CASE WHEN pg_is_in_recovery() THEN NULL "
                        f"ELSE pg_current_wal_lsn()::text END, {_IDENTITY}"
                    )
                ).one()
            same_database = identity == primary_identity
        except sa.exc.DBAPIError:
            current = None  # the primary being down does not stop reads from the replica
        now, done = _lsn(current), _lsn(replayed)
        if in_recovery and now is not None and done is not None:
            behind = max(0, now - done)
    return ReplicaLag(bool(in_recovery), behind, None if age is None else float(age), same_database)


# What a hot standby shares with its primary and nothing else does: the cluster's system
# identifier (kept by pg_basebackup) and, within it, the database's name.
_IDENTITY = "(SELECT system_identifier FROM pg_control_system())::text || '/' || current_database()"


def unreachable(settings: Settings, exc: BaseException) -> DatabaseUnavailableError:
    """The error for a read replica that cannot be used: which one, why, and the way out."""
    from arenadb.db.errors import translate_error

    reading = settings.for_reading()
    error = translate_error(exc, reading, doing="cannot read from the read replica")
    reason = str(error) if error is not None else reading.mask(str(exc))
    return DatabaseUnavailableError(
        f"{reason} (unset ARENADB_READ_URL or leave out --read-url to read from the primary)"
    )
