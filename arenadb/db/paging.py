"""Small query helpers the social ops share: paging, choices, reading a row by id."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.errors import InvalidDataError, NotFoundError
from arenadb.limits import DEFAULT_LIMIT, check_page

__all__ = ["DEFAULT_LIMIT", "check_choice", "fetch_by_id", "paged"]

S = TypeVar("S", bound=Any)
M = TypeVar("M")


def paged(stmt: S, limit: int, offset: int) -> S:
    """`stmt` with LIMIT/OFFSET, after checking the page (`check_page`)."""
    check_page(limit, offset)
    return stmt.limit(limit).offset(offset)


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices`, else InvalidDataError naming the valid ones."""
    if value not in choices:
        raise InvalidDataError(f"{what} must be one of {', '.join(choices)}, not {value!r}")
    return value


def fetch_by_id(session: Session, model: type[M], row_id: int, what: str) -> M:
    """The row with this id, read from the database (not a stale identity-map copy of a row a
    cascade removed), or NotFoundError("<what> <id> not found")."""
    stmt = (
        sa.select(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .execution_options(populate_existing=True)
    )
    row = session.scalars(stmt).one_or_none()
    if row is None:
        raise NotFoundError(f"{what} {row_id} not found")
    return row
