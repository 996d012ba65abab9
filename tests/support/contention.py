"""Settings for tests in which several processes write one database at once.

SQLite's busy handler polls (every 100 ms once it has waited a while) instead of queueing, so a
writer competing with three others that commit back to back can wait for the lock far longer than
one transaction takes, and on a loaded machine (CI runs beside other jobs on 2 cores) longer than
the default busy timeout of 5 s: it then fails with "database is locked". That is SQLite's
documented behaviour, not a lost update; these tests check correctness under contention, not
latency, so their processes wait up to a minute (`DB_BUSY_TIMEOUT_MS`, a documented setting).
"""

from __future__ import annotations

import os

BUSY_TIMEOUT_ENV = {"DB_BUSY_TIMEOUT_MS": "60000"}


def worker_environ(**extra: str) -> dict[str, str]:
    """The environment of a contending worker process."""
    return {**os.environ, **BUSY_TIMEOUT_ENV, **extra}
