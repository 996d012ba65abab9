"""Records of the export format checked against the schema and turned into rows, before
anything touches a database: game records (`decode_game`), catalog records
(`CatalogDefinitions`), one column value at a time (`decode_row`: types, lengths, finite
numbers, JSON by the one JSON policy). A record that does not fit raises `InvalidRecord`,
whose message says where (`llm_calls[0].request`) and why.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from arenadb.db.json import json_text
from arenadb.errors import InvalidDataError
from arenadb.models import (
    FINISHED_STATUSES,
    GAME_OUTCOMES,
    GAME_STATUSES,
    LLM_CALL_STATUSES,
    SNAPSHOT_KINDS,
    Agent,
    AgentKind,
    GameType,
    LLMModel,
    Prompt,
)
from arenadb.models.base import UTCDateTime
from arenadb.models.catalog import config_hash
from arenadb.portability.export import CHILDREN, GAME_SKIP, GAMES, _table


class InvalidRecord(Exception):
    """A record does not fit the schema; the message says where and why."""


_MISSING = object()


def _decode_value(column: sa.Column[Any], value: Any, where: str) -> Any:
    """Check one JSON value against a column's type; return what the database takes."""
    kind = column.type
    if value is None:
        if not column.nullable:
            raise InvalidRecord(f"{where}: must not be null")
        return None
    if isinstance(kind, sa.JSON):
        try:
            return json_text(value, where)
        except InvalidDataError as exc:  # NaN or Infinity: not JSON, refused on both backends
            raise InvalidRecord(str(exc)) from None
    if isinstance(kind, sa.Boolean):
        if not isinstance(value, bool):
            raise InvalidRecord(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(kind, sa.Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRecord(f"{where}: expected an integer, got {value!r}")
        return value
    if isinstance(kind, sa.Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRecord(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):  # json.loads reads NaN, Infinity (and 1e400) as floats
            raise InvalidRecord(f"{where}: {value!r} is not a finite number")
        return float(value)
    if isinstance(kind, UTCDateTime):
        if not isinstance(value, str):
            raise InvalidRecord(f"{where}: expected an ISO 8601 time, got {value!r}")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRecord(f"{where}: not an ISO 8601 time: {value!r}") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    if isinstance(kind, sa.Uuid):
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise InvalidRecord(f"{where}: not a UUID: {value!r}") from None
    if isinstance(kind, sa.String):
        if not isinstance(value, str):
            raise InvalidRecord(f"{where}: expected a string, got {value!r}")
        if kind.length is not None and len(value) > kind.length:
            raise InvalidRecord(f"{where}: longer than {kind.length} characters")
        return value
    raise InvalidRecord(f"{where}: unsupported column type {kind}")  # pragma: no cover


def _default(column: sa.Column[Any]) -> Any:
    default = column.default
    if default is None:
        return _MISSING
    arg = getattr(default, "arg", None)
    if getattr(default, "is_scalar", False):
        return arg
    if callable(arg):
        return arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
    return _MISSING


def decode_row(
    table: sa.Table,
    data: Any,
    skip: frozenset[str],
    where: str,
    extra: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A record's columns as a row for `table`; missing nullable columns are NULL."""
    if not isinstance(data, dict):
        raise InvalidRecord(f"{where}: expected an object")
    known = {c.name for c in table.c} - skip
    unknown = sorted(set(data) - known - extra)
    if unknown:
        raise InvalidRecord(f"{where}: unknown key {unknown[0]!r}")
    row: dict[str, Any] = {}
    for column in table.c:
        if column.name in skip:
            continue
        value = data.get(column.name, _MISSING)
        if value is _MISSING:
            value = None if column.nullable else _default(column)
            if value is _MISSING:
                raise InvalidRecord(f"{where}: missing required key {column.name!r}")
            if isinstance(column.type, sa.JSON):
                value = json_text(value)
            row[column.name] = value
            continue
        row[column.name] = _decode_value(column, value, f"{where}.{column.name}")
    return row


def string_field(data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidRecord(f"{where}: {key!r} must be a non-empty string")
    return value


@dataclass
class PendingGame:
    line: int
    uuid: uuid.UUID
    game_type: str
    row: dict[str, Any]
    agents: list[AgentKey]  # per player, the agent's natural key
    models: list[str | None]  # per LLM call
    children: dict[str, list[dict[str, Any]]]

    @property
    def rows(self) -> int:
        return 1 + sum(len(rows) for rows in self.children.values())


# kind, model, prompt name, prompt sha256, config hash (None in files written before 0.2's
# migration 0006: the agent's config then says which agent it is)
AgentKey = tuple[str, str, str, str, str | None]


def agent_key(data: Any, where: str) -> AgentKey:
    if not isinstance(data, dict):
        raise InvalidRecord(f"{where}: expected the agent's natural key (kind, model, prompt, ...)")
    return (
        string_field(data, "kind", where),
        string_field(data, "model", where),
        string_field(data, "prompt", where),
        string_field(data, "prompt_sha256", where),
        string_field(data, "config_hash", where, optional=True),
    )


def decode_game(record: dict[str, Any]) -> PendingGame:
    """Validate a game record completely, before anything touches the database."""
    row = decode_row(
        GAMES, record, GAME_SKIP, "game", extra=frozenset({"type", *CHILDREN, "game_type"})
    )
    if row["status"] not in GAME_STATUSES:
        raise InvalidRecord(
            f"game.status: {row['status']!r} is not one of {', '.join(GAME_STATUSES)}"
        )
    if row["outcome"] is not None and row["outcome"] not in GAME_OUTCOMES:
        raise InvalidRecord(
            f"game.outcome: {row['outcome']!r} is not one of {', '.join(GAME_OUTCOMES)}"
        )
    if row["outcome"] is not None and row["status"] not in FINISHED_STATUSES:
        raise InvalidRecord(f"game.outcome: a {row['status']} game has no outcome")
    if record.get("uuid") is None:
        raise InvalidRecord("game.uuid: missing required key 'uuid'")
    game_type = string_field(record, "game_type", "game")
    children: dict[str, list[dict[str, Any]]] = {}
    agents: list[AgentKey] = []
    models: list[str | None] = []
    for key, (table, skip, _order) in CHILDREN.items():
        items = record.get(key, [])
        if not isinstance(items, list):
            raise InvalidRecord(f"game.{key}: expected a list")
        extra = frozenset(
            {"agent"} if key == "players" else {"model"} if key == "llm_calls" else ()
        )
        rows = []
        for index, item in enumerate(items):
            where = f"{key}[{index}]"
            rows.append(decode_row(table, item, skip, where, extra))
            if key == "players":
                agents.append(agent_key(item.get("agent"), f"{where}.agent"))
            elif key == "llm_calls":
                models.append(string_field(item, "model", where, optional=True))
        children[key] = rows
    _check_references(children)
    return PendingGame(0, row["uuid"], game_type, row, agents, models, children)


def _check_references(children: dict[str, list[dict[str, Any]]]) -> None:
    """What the foreign keys and unique constraints would refuse, said with record positions."""
    seats: set[int] = set()
    for i, player in enumerate(children["players"]):
        if player["seat"] in seats:
            raise InvalidRecord(f"players[{i}].seat: seat {player['seat']} appears twice")
        seats.add(player["seat"])
    seqs: set[int] = set()
    for i, turn in enumerate(children["turns"]):
        if turn["seq"] in seqs:
            raise InvalidRecord(f"turns[{i}].seq: seq {turn['seq']} appears twice")
        seqs.add(turn["seq"])
        if turn["seat"] is not None and turn["seat"] not in seats:
            raise InvalidRecord(f"turns[{i}].seat: seat {turn['seat']} is not a seat of this game")
    indexes: set[tuple[int, int]] = set()
    for i, action in enumerate(children["actions"]):
        if action["turn_seq"] not in seqs:
            raise InvalidRecord(f"actions[{i}].turn_seq: no turn with seq {action['turn_seq']}")
        if (action["turn_seq"], action["idx"]) in indexes:
            raise InvalidRecord(f"actions[{i}].idx: turn {action['turn_seq']} has idx twice")
        indexes.add((action["turn_seq"], action["idx"]))
    for i, call in enumerate(children["llm_calls"]):
        if call["turn_seq"] is not None and call["turn_seq"] not in seqs:
            raise InvalidRecord(f"llm_calls[{i}].turn_seq: no turn with seq {call['turn_seq']}")
        if call["status"] not in LLM_CALL_STATUSES:
            raise InvalidRecord(f"llm_calls[{i}].status: {call['status']!r} is not a call status")
    snapshots: set[tuple[int, str]] = set()
    for i, snapshot in enumerate(children["snapshots"]):
        if snapshot["kind"] not in SNAPSHOT_KINDS:
            raise InvalidRecord(f"snapshots[{i}].kind: {snapshot['kind']!r} is not a snapshot kind")
        if (snapshot["turn"], snapshot["kind"]) in snapshots:
            raise InvalidRecord(f"snapshots[{i}]: two {snapshot['kind']} snapshots at one turn")
        snapshots.add((snapshot["turn"], snapshot["kind"]))


@dataclass
class CatalogDefinitions:
    """Catalog records read from an export, by natural key (created in the target on demand)."""

    game_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    prompts: dict[tuple[str, str], tuple[dict[str, Any], tuple[str, str] | None]] = field(
        default_factory=dict
    )
    agents: dict[AgentKey, dict[str, Any]] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        kind = record["type"]
        body = {k: v for k, v in record.items() if k != "type"}
        if kind == "game_type":
            row = decode_row(_table(GameType), body, frozenset({"id"}), "game_type")
            self.game_types[row["env_id"]] = row
        elif kind == "model":
            row = decode_row(_table(LLMModel), body, frozenset({"id"}), "model")
            self.models[row["name"]] = row
        elif kind == "agent_kind":
            row = decode_row(_table(AgentKind), body, frozenset({"id"}), "agent_kind")
            self.kinds[row["name"]] = row
        elif kind == "prompt":
            parent = body.pop("forked_from", None)
            row = decode_row(_table(Prompt), body, frozenset({"id", "forked_from_id"}), "prompt")
            parent_key = None
            if parent is not None:
                if not isinstance(parent, dict):
                    raise InvalidRecord("prompt.forked_from: expected {name, sha256} or null")
                parent_key = (
                    string_field(parent, "name", "prompt.forked_from"),
                    string_field(parent, "sha256", "prompt.forked_from"),
                )
            self.prompts[(row["name"], row["sha256"])] = (row, parent_key)
        elif kind == "agent":
            key = agent_key(body, "agent")
            for name in ("kind", "model", "prompt", "prompt_sha256"):
                body.pop(name)
            body.setdefault("config_hash", config_hash(body.get("config")))
            skip = frozenset({"id", "kind_id", "model_id", "prompt_id"})
            self.agents[key] = decode_row(_table(Agent), body, skip, "agent")
