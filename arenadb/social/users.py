"""Users: the people who own and watch agents and conversations.

Every function takes a `Session` and leaves the transaction to the caller, like MiniPilot's
repository. `get_user` raises NotFoundError; the `get_user_by_*` lookups return None when there
is no such user, because "is there one?" is their question.

    with session_scope(engine, write=True) as session:
        ada = create_user(session, email="ada@example.org", name="Ada")
        same, created = get_or_create_user_by_external_id(session, "auth0|42", name="Ada")
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.db.get_or_create import insert_or_fetch
from arenadb.db.paging import DEFAULT_LIMIT, fetch_by_id, paged
from arenadb.errors import ConflictError, InvalidDataError
from arenadb.models import User


def normalise_email(email: str | None) -> str | None:
    """Emails are stored trimmed and lower-cased, so uniqueness ignores case."""
    if email is None:
        return None
    cleaned = email.strip().lower()
    if "@" not in cleaned:
        raise InvalidDataError(f"not an email address: {email!r}")
    return cleaned


def _check_free(
    session: Session, *, email: str | None, external_id: str | None, user_id: int | None = None
) -> None:
    for column, value in ((User.email, email), (User.external_id, external_id)):
        if value is None:
            continue
        other = session.scalar(sa.select(User.id).where(column == value))
        if other is not None and other != user_id:
            raise ConflictError(f"user {other} already has {column.key} {value!r}")


def create_user(
    session: Session,
    *,
    email: str | None = None,
    name: str | None = None,
    external_id: str | None = None,
) -> User:
    """A new user; ConflictError if the email or external id is taken."""
    email = normalise_email(email)
    _check_free(session, email=email, external_id=external_id)
    user = User(email=email, name=name, external_id=external_id)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    """The user with this id, or NotFoundError."""
    return fetch_by_id(session, User, user_id, "user")


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def get_user_by_external_id(session: Session, external_id: str) -> User | None:
    return session.scalar(sa.select(User).where(User.external_id == external_id))


def get_or_create_user_by_external_id(
    session: Session, external_id: str, *, email: str | None = None, name: str | None = None
) -> tuple[User, bool]:
    """(user, created): the user with this external id, created if missing.

    Safe when sessions race (`arenadb.db.get_or_create`): the loser's insert fails on the unique
    constraint inside a savepoint, and it reads the winner's row instead. ConflictError only when
    the email belongs to a user with another external id.
    """
    user = get_user_by_external_id(session, external_id)
    if user is not None:
        return user, False
    email = normalise_email(email)

    def email_taken() -> ConflictError:
        other = get_user_by_email(session, email) if email is not None else None
        owner = f"user {other.id}" if other is not None else "another user"
        return ConflictError(f"{owner} already has email {email!r}")

    created: list[User] = []

    def make() -> User:
        created.append(User(email=email, name=name, external_id=external_id))
        return created[-1]

    user = insert_or_fetch(
        session, make, lambda: get_user_by_external_id(session, external_id), conflict=email_taken
    )
    return user, bool(created) and user is created[-1]


def list_users(session: Session, *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[User]:
    """Users in id order, one page at a time."""
    return list(session.scalars(paged(sa.select(User).order_by(User.id), limit, offset)))


def update_user(
    session: Session,
    user_id: int,
    *,
    email: str | None = None,
    name: str | None = None,
    external_id: str | None = None,
) -> User:
    """Change the fields that are given (None leaves a field as it is)."""
    user = get_user(session, user_id)
    email = normalise_email(email)
    _check_free(session, email=email, external_id=external_id, user_id=user_id)
    if email is not None:
        user.email = email
    if name is not None:
        user.name = name
    if external_id is not None:
        user.external_id = external_id
    session.flush()
    return user


def delete_user(session: Session, user_id: int) -> None:
    """Delete a user, the conversations they own and every message they sent (ON DELETE CASCADE)."""
    user = get_user(session, user_id)
    session.delete(user)
    session.flush()
