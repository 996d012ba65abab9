"""Data for the portability tests: a row in every table, and a table-by-table comparison."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.db import write_transaction
from arenadb.models import metadata

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
# JSON that must come back exactly: nesting, unicode, floats, null inside, empty containers.
RICH_JSON = {"é": ["ü", 1, 2.5, None, True], "nested": {"a": {}, "b": []}, "big": 2**53 + 1}


# Values the generic filler cannot guess (CHECK constraints across columns).
OVERRIDES: dict[str, dict[str, Any]] = {
    "knowledge_graphs": {"type": "global"},
    "conversation_participants": {"agent_id": 1},
    "messages": {"sender_type": "agent", "sender_agent_id": 1},
}


def _value(column: sa.Column[Any], n: int) -> Any:
    kind = column.type
    if isinstance(kind, sa.JSON):
        return {**RICH_JSON, "n": n}
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.Float):
        return n + 0.1
    if isinstance(kind, sa.Uuid):
        return uuid.UUID(int=n + 1000)
    if isinstance(kind, sa.DateTime) or "DateTime" in type(kind).__name__:
        return T0 + timedelta(seconds=n)
    if isinstance(kind, sa.Date):
        return T0.date() + timedelta(days=n)
    if "sha" in column.name:
        return f"{n:064x}"
    return f"{column.table.name}-{column.name}-{n}"


def fill_empty_tables(engine: Engine, rows_per_table: int = 2) -> None:
    """Put rows in every table still empty: required columns, foreign keys, and JSON."""
    with write_transaction(engine) as conn:
        for table in metadata.sorted_tables:
            if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                continue
            for n in range(1, rows_per_table + 1):
                row: dict[str, Any] = {}
                for column in table.c:
                    if column.foreign_keys:
                        if column.nullable and not column.primary_key:
                            continue
                        fk = next(iter(column.foreign_keys))
                        # The n-th parent: rows of a composite unique key stay distinct.
                        parents = sa.select(fk.column).order_by(fk.column)
                        row[column.name] = (
                            conn.execute(parents.offset(n - 1).limit(1)).scalar()
                            or conn.execute(parents.limit(1)).scalar_one()
                        )
                    elif isinstance(column.type, sa.JSON):
                        row[column.name] = {**RICH_JSON, "n": n}
                    elif column.primary_key and isinstance(column.type, sa.Integer):
                        continue
                    elif column.nullable or column.default is not None:
                        if column.name in ("status", "kind", "type", "level", "role"):
                            continue
                        if column.nullable and not isinstance(column.type, sa.DateTime):
                            continue
                        row[column.name] = _value(column, n)
                    else:
                        row[column.name] = _value(column, n)
                row.update(OVERRIDES.get(table.name, {}))
                conn.execute(sa.insert(table), row)


def table_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in primary-key order, normalised for comparison."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(_normal(v) for v in row) for row in rows]
    return out


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
