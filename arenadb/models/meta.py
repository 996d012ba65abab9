"""Facts about the database itself (the applied seed, ...), as key/value pairs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from arenadb.models.base import Base, utcnow


class ArenaMeta(Base):
    __tablename__ = "arenadb_meta"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
