"""Event types: seeding them from files, and validating payloads against their schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.errors import InvalidDataError
from arenadb.models.events import (
    EventType,
)

# --------------------------------------------------------------------------------------------
# event types


@dataclass
class EventTypeSeedResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


EVENT_TYPE_FIELDS = ("category", "engine_type", "description", "payload_schema")


def ensure_event_types(session: Session, rows: Iterable[Mapping[str, Any]]) -> EventTypeSeedResult:
    """Create or update event types by name (idempotent): what seeding calls.

    Example: `ensure_event_types(s, [{"name": "agent.message", "engine_type": "actor"}])`
    """
    wanted: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidDataError(f"event type without a name: {dict(row)!r}")
        unknown = set(row) - {"name", *EVENT_TYPE_FIELDS}
        if unknown:
            raise InvalidDataError(f"event type {name!r}: unknown fields {sorted(unknown)}")
        schema = row.get("payload_schema")
        if schema is not None and not isinstance(schema, Mapping):
            raise InvalidDataError(f"event type {name!r}: payload_schema must be a table")
        wanted[name] = {f: row.get(f) for f in EVENT_TYPE_FIELDS}
    existing = {
        t.name: t for t in session.scalars(sa.select(EventType).where(EventType.name.in_(wanted)))
    }
    result = EventTypeSeedResult()
    for name, values in wanted.items():
        current = existing.get(name)
        if current is None:
            session.add(EventType(name=name, **values))
            result.created.append(name)
        elif any(getattr(current, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(current, f, v)
            result.updated.append(name)
        else:
            result.unchanged.append(name)
    session.flush()
    return result


def read_event_types(path: Any = None) -> list[dict[str, Any]]:
    """The `[[event_types]]` rows of a TOML file (default: the core ones in seeds/common)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from pathlib import Path

    from arenadb.resources import seeds_dir

    file = Path(path) if path is not None else seeds_dir() / "common" / "event_types.toml"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidDataError(f"cannot read event types from {file}: {exc}") from None
    rows = data.get("event_types", [])
    if not isinstance(rows, list):
        raise InvalidDataError(f"{file}: event_types must be an array of tables")
    return rows


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def validate_payload(event_type: str, schema: Mapping[str, Any] | None, payload: Any) -> None:
    """Check a payload against the JSON-Schema subset event types use: required keys and the
    top-level type of each declared property. Raises InvalidDataError."""
    if not schema:
        return
    if payload is None:  # no payload: an empty object, fine unless keys are required
        payload = {}
    if schema.get("type", "object") == "object" and not isinstance(payload, dict):
        raise InvalidDataError(f"{event_type} payload must be an object")
    missing = [k for k in schema.get("required", []) if k not in payload]
    if missing:
        raise InvalidDataError(f"{event_type} payload is missing {', '.join(missing)}")
    for key, spec in (schema.get("properties") or {}).items():
        expected = spec.get("type") if isinstance(spec, Mapping) else None
        if key not in payload or payload[key] is None or expected not in _JSON_TYPES:
            continue
        value = payload[key]
        ok = isinstance(value, _JSON_TYPES[expected])
        if expected in ("integer", "number") and isinstance(value, bool):
            ok = False
        if not ok:
            raise InvalidDataError(f"{event_type} payload field {key!r} must be {expected}")
