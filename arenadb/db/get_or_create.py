"""The one get-or-create step that is safe when sessions race: insert in a savepoint, and on a
unique violation read the winner's row.

A lookup before the insert only saves the savepoint in the common case; it decides nothing. A
pre-check that raises when "someone else has it" is the race this module exists to avoid: between
the caller's lookup and that check, another process may have inserted the very row the caller
wants (that was `get_or_create_user_by_external_id` failing with ConflictError from 4 processes).
On PostgreSQL the losing INSERT waits for the winner's transaction, then fails on the unique
index; under READ COMMITTED the next statement sees the winner's row. The caller's transaction
stays usable, as only the savepoint is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

T = TypeVar("T")


def insert_or_fetch(
    session: Session,
    make: Callable[[], T],
    fetch: Callable[[], T | None],
    *,
    conflict: Callable[[], Exception] | None = None,
) -> T:
    """Insert `make()` in a savepoint; on a unique violation return `fetch()` instead.

    When `fetch()` finds nothing, the violation was on another unique column: `conflict()` is
    raised if given (a domain error naming it), else the IntegrityError itself.
    """
    try:
        with session.begin_nested():
            obj = make()
            session.add(obj)
        return obj
    except IntegrityError:
        found = fetch()
        if found is not None:
            return found
        if conflict is not None:
            raise conflict() from None
        raise
