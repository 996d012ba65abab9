"""Coalitions: agents that pursue a goal together and pool value, and their members.

Status moves forming -> active <-> suspended, and any of them -> dissolved, which is final.
Contributions go into the pool with an in-database increment, so parallel contributors never
lose each other's updates.

    with session_scope(engine, write=True) as session:
        c = create_coalition(session, name="Grain cartel", goal="Corner the grain market",
                             leader_agent_id=optimizer.id, members=[broker.id])
        contribute(session, c.id, broker.id, 25.0)
        set_coalition_status(session, c.id, "active")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.db.paging import DEFAULT_LIMIT, check_choice, fetch_by_id, paged
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError
from arenadb.models import COALITION_STATUSES, Agent, Coalition, CoalitionMember, utcnow

# Where each status may go next.
STATUS_MOVES: dict[str, tuple[str, ...]] = {
    "forming": ("active", "dissolved"),
    "active": ("suspended", "dissolved"),
    "suspended": ("active", "dissolved"),
    "dissolved": (),
}


def _require_agent(session: Session, agent_id: int) -> None:
    if session.get(Agent, agent_id) is None:
        raise NotFoundError(f"agent {agent_id} not found")


def _check_amount(what: str, amount: float) -> float:
    if amount < 0:
        raise InvalidDataError(f"{what} must be 0 or more, not {amount}")
    return float(amount)


def create_coalition(
    session: Session,
    *,
    name: str,
    goal: str | None = None,
    rules: dict[str, Any] | None = None,
    status: str = "forming",
    value_pool: float = 0.0,
    leader_agent_id: int | None = None,
    members: Iterable[int] = (),
) -> Coalition:
    """A new coalition (unique name), with an optional leader and plain members."""
    check_choice("coalition status", status, COALITION_STATUSES)
    if status == "dissolved":
        raise InvalidDataError("a coalition cannot be created dissolved")
    if session.scalar(sa.select(Coalition.id).where(Coalition.name == name)) is not None:
        raise ConflictError(f"coalition {name!r} already exists")
    coalition = Coalition(
        name=name,
        goal=goal,
        rules=rules,
        status=status,
        value_pool=_check_amount("value_pool", value_pool),
    )
    session.add(coalition)
    session.flush()
    if leader_agent_id is not None:
        add_member(session, coalition.id, leader_agent_id, role="leader")
    for agent_id in dict.fromkeys(members):
        if agent_id != leader_agent_id:
            add_member(session, coalition.id, agent_id)
    return coalition


def get_coalition(session: Session, coalition_id: int) -> Coalition:
    return fetch_by_id(session, Coalition, coalition_id, "coalition")


def get_coalition_by_name(session: Session, name: str) -> Coalition | None:
    return session.scalar(sa.select(Coalition).where(Coalition.name == name))


def list_coalitions(
    session: Session,
    *,
    status: str | None = None,
    agent_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Coalition]:
    """Coalitions, newest first, by status and/or one member agent."""
    stmt = sa.select(Coalition)
    if status is not None:
        stmt = stmt.where(
            Coalition.status == check_choice("coalition status", status, COALITION_STATUSES)
        )
    if agent_id is not None:
        stmt = stmt.where(
            Coalition.id.in_(
                sa.select(CoalitionMember.coalition_id).where(CoalitionMember.agent_id == agent_id)
            )
        )
    return list(session.scalars(paged(stmt.order_by(Coalition.id.desc()), limit, offset)))


def _open_coalition(session: Session, coalition_id: int) -> Coalition:
    coalition = get_coalition(session, coalition_id)
    if coalition.status == "dissolved":
        raise ConflictError(f"coalition {coalition_id} is dissolved")
    return coalition


def add_member(
    session: Session,
    coalition_id: int,
    agent_id: int,
    *,
    role: str = "member",
    contribution: float = 0.0,
) -> CoalitionMember:
    """Add an agent; its opening contribution goes into the pool. ConflictError if a member."""
    coalition = _open_coalition(session, coalition_id)
    _require_agent(session, agent_id)
    if session.get(CoalitionMember, (coalition_id, agent_id)) is not None:
        raise ConflictError(f"agent {agent_id} is already in coalition {coalition_id}")
    amount = _check_amount("contribution", contribution)
    member = CoalitionMember(
        coalition_id=coalition_id, agent_id=agent_id, role=role, contribution=amount
    )
    session.add(member)
    if amount:
        coalition.value_pool = Coalition.value_pool + amount
    session.flush()
    if amount:
        session.refresh(coalition, ["value_pool"])
    return member


def contribute(session: Session, coalition_id: int, agent_id: int, amount: float) -> Coalition:
    """Add `amount` to a member's contribution and to the pool (in-database increments)."""
    _open_coalition(session, coalition_id)
    amount = _check_amount("amount", amount)
    updated = session.execute(
        sa.update(CoalitionMember)
        .where(CoalitionMember.coalition_id == coalition_id, CoalitionMember.agent_id == agent_id)
        .values(contribution=CoalitionMember.contribution + amount)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError(f"agent {agent_id} is not in coalition {coalition_id}")
    session.execute(
        sa.update(Coalition)
        .where(Coalition.id == coalition_id)
        .values(value_pool=Coalition.value_pool + amount, updated_at=utcnow())
    )
    return get_coalition(session, coalition_id)


def remove_member(session: Session, coalition_id: int, agent_id: int) -> None:
    """Take an agent out of a coalition (what it contributed stays in the pool)."""
    deleted = session.execute(
        sa.delete(CoalitionMember).where(
            CoalitionMember.coalition_id == coalition_id, CoalitionMember.agent_id == agent_id
        )
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError(f"agent {agent_id} is not in coalition {coalition_id}")


@dataclass
class MemberView:
    agent_id: int
    alias: str | None
    role: str
    contribution: float
    joined_at: datetime


def list_members(session: Session, coalition_id: int) -> list[MemberView]:
    """A coalition's members, in the order they joined."""
    get_coalition(session, coalition_id)
    rows = session.execute(
        sa.select(CoalitionMember, Agent.alias)
        .join(Agent, Agent.id == CoalitionMember.agent_id)
        .where(CoalitionMember.coalition_id == coalition_id)
        .order_by(CoalitionMember.joined_at, CoalitionMember.agent_id)
    )
    return [MemberView(m.agent_id, alias, m.role, m.contribution, m.joined_at) for m, alias in rows]


def set_coalition_status(session: Session, coalition_id: int, status: str) -> Coalition:
    """Move a coalition to `status` (see STATUS_MOVES); ConflictError for a move not allowed."""
    check_choice("coalition status", status, COALITION_STATUSES)
    coalition = get_coalition(session, coalition_id)
    if status == coalition.status:
        return coalition
    if status not in STATUS_MOVES[coalition.status]:
        raise ConflictError(
            f"coalition {coalition_id} is {coalition.status}: it cannot become {status}"
        )
    coalition.status = status
    if status == "dissolved":
        coalition.dissolved_at = utcnow()
    session.flush()
    return coalition


def dissolve_coalition(session: Session, coalition_id: int) -> Coalition:
    """Dissolve a coalition (final); members and pool stay on record."""
    return set_coalition_status(session, coalition_id, "dissolved")


def delete_coalition(session: Session, coalition_id: int) -> None:
    session.delete(get_coalition(session, coalition_id))
    session.flush()
