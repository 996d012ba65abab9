"""THE resolver of references: how a user or a caller names a game, an agent, a model, a game type.

Every command and every library function that takes a reference resolves it here, so that one
spelling works everywhere:

- a game: its integer id, its UUID (any case, with or without dashes), or a unique UUID prefix
  (at least 8 characters when it is all digits, see below);
- an agent: its integer id or its alias;
- a model: its integer id, its name (`gpt-4.1`) or its LiteLLM name (`openai/gpt-4.1`);
- a game type: its integer id, its env id (`SecretMafia-v0`) or its name (`Secret Mafia`).

The rules, decided once:
- a reference made only of digits is an id, never a name (an alias `42` cannot be named so);
  for games, where one UUID prefix in 40 of the usual 8 characters is all digits, a digit string
  of 8 or more characters is also read as a UUID prefix: `42` is game 42, while `54241114` is
  the game whose id or UUID prefix it is, and AmbiguousError when it is both;
- names match exactly first; failing that, case-insensitively (`secret mafia`), so a name typed
  in another case still finds its row, while two rows that differ only in case are reported as
  ambiguous rather than picked at random;
- surrounding whitespace is ignored.

A reference that matches nothing raises `NotFoundError("<kind> <ref> not found")`; one that
matches several rows raises `AmbiguousError`, naming a few of them; a reference that cannot name
a row of that kind at all (`xyz!` for a game) raises `InvalidArgumentError`.

    from arenadb.catalog.refs import resolve_game_id, resolve_game_type_id
    with engine.connect() as conn:
        resolve_game_type_id(conn, "Secret Mafia")  # 1, as are "SecretMafia-v0" and 1
        resolve_game_id(conn, "0eb35a3b")           # the one game whose UUID starts so
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from arenadb.errors import AmbiguousError, InvalidArgumentError, NotFoundError
from arenadb.models import Agent, Game, GameType, LLMModel

GameRef = int | str | uuid.UUID
AgentRef = int | str
ModelRef = int | str
GameTypeRef = int | str

# How many candidates an AmbiguousError shows (one more is fetched, to know there are more).
SHOWN_CANDIDATES = 5
_HEX = re.compile(r"^[0-9a-f]{1,32}$")
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# The shortest all-digit game reference that is also read as a UUID prefix: the 8 characters of
# a short UUID as people copy it. Shorter digit strings are ids only (`game info 12` must never
# become ambiguous because thousands of UUIDs start with 12).
DIGIT_PREFIX_MIN = 8
# The largest id any table can hold (a signed 64-bit integer; PostgreSQL's are smaller still, and
# compare to a larger number without error). arenadb.cli.options.ID_MAX is the same number.
ID_MAX = 2**63 - 1

Reader = Connection | Session


def as_id(ref: object) -> int | None:
    """The id a reference stands for when it is one (an int, or a string of ASCII digits: `١٢`
    and `²` are names, not ids); an id past ID_MAX names no row and is InvalidArgumentError."""
    if isinstance(ref, bool):
        raise InvalidArgumentError(f"not a reference: {ref!r}")
    if isinstance(ref, int):
        number = ref
    else:
        text = str(ref).strip()
        if not _DIGITS.fullmatch(text):
            return None
        if len(text.lstrip("0")) > len(str(ID_MAX)):
            raise InvalidArgumentError(f"{_shown(text)} is not an id: ids are at most {ID_MAX}")
        number = int(text)
    if not 0 <= number <= ID_MAX:
        raise InvalidArgumentError(f"{_shown(str(number))} is not an id: ids are 1 to {ID_MAX}")
    return number


def _shown(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} digits)"


def _label(ref: object) -> str:
    return str(ref).strip()


def _ambiguous(kind: str, label: str, names: Sequence[str], what: str = "") -> AmbiguousError:
    shown = ", ".join(names[:SHOWN_CANDIDATES])
    more = ", ..." if len(names) > SHOWN_CANDIDATES else ""
    return AmbiguousError(
        f"{kind}{what} {label} is ambiguous: it matches {shown}{more}; be more specific"
    )


# --------------------------------------------------------------------------- games


def game_condition(ref: GameRef) -> tuple[sa.ColumnElement[bool], str]:
    """The WHERE clause finding a game by id, full UUID or UUID prefix, and the ref's label.

    For callers that fold the lookup into their own statement (one round trip); they must pass
    the rows they get to `one_game` (a prefix may match several).
    """
    if isinstance(ref, uuid.UUID):
        return Game.uuid == ref, str(ref)
    label = _label(ref)
    if isinstance(ref, int) or not _DIGITS.fullmatch(label) or len(label) < DIGIT_PREFIX_MIN:
        game_id = as_id(ref)
        if game_id is not None:
            return Game.id == game_id, label
    elif len(label) <= len(str(ID_MAX)):
        # Eight digits or more: an id or a UUID prefix. Both conditions in one statement; two
        # rows (the id's and the prefix's) are reported by one_game as ambiguous.
        id_or_prefix = sa.or_(Game.id == as_id(label), _uuid_prefix(label))
        return id_or_prefix, label
    hex_text = label.lower().replace("-", "")
    if not _HEX.match(hex_text):
        raise InvalidArgumentError(f"{label!r} is not a game id or uuid, nor a uuid prefix")
    if len(hex_text) == 32:
        return Game.uuid == uuid.UUID(hex_text), label
    return _uuid_prefix(hex_text), label


def _uuid_prefix(hex_text: str) -> sa.ColumnElement[bool]:
    # A prefix is a range of the unique uuid index: the same plan on SQLite's CHAR(32) and on
    # PostgreSQL's native uuid, where LIKE could not use the index.
    low = uuid.UUID(hex_text.ljust(32, "0"))
    high = uuid.UUID(hex_text.ljust(32, "f"))
    return Game.uuid.between(low, high)


def game_candidates_limit() -> int:
    """How many rows a caller of `game_condition` should fetch (in uuid order) for `one_game`."""
    return SHOWN_CANDIDATES + 1


def one_game(rows: Sequence[Any], label: str) -> Any:
    """The single row of a game lookup; NotFoundError or AmbiguousError (rows need `.uuid`)."""
    if not rows:
        raise NotFoundError(f"game {label} not found")
    if len(rows) > 1:
        named = [f"{r.uuid} (id {r.id})" for r in rows]
        what = "" if _DIGITS.fullmatch(label) else " prefix"
        raise _ambiguous("game", label, named, what)
    return rows[0]


def resolve_game_id(conn: Reader, ref: GameRef) -> int:
    """A game's integer id from its id, UUID or unique UUID prefix."""
    condition, label = game_condition(ref)
    rows = conn.execute(
        sa.select(Game.id, Game.uuid)
        .where(condition)
        .order_by(Game.uuid)
        .limit(game_candidates_limit())
    ).all()
    return int(one_game(rows, label).id)


# --------------------------------------------------------------------------- catalog rows


def _by_name(
    conn: Reader,
    kind: str,
    ref: object,
    id_column: Any,
    name_columns: Sequence[Any],
    shown_column: Any,
) -> int:
    """The id of the one row whose id is `ref`, or whose name columns equal it (see the rules)."""
    label = _label(ref)
    row_id = as_id(ref)
    if row_id is not None:
        found = conn.execute(sa.select(id_column).where(id_column == row_id)).scalar()
        if found is None:
            raise NotFoundError(f"{kind} {label} not found")
        return int(found)
    if not label:
        raise InvalidArgumentError(f"an empty {kind} reference names nothing")
    # Exact first, on the unique indexes; only a miss pays for the case-insensitive scan.
    chosen = _candidates(conn, id_column, shown_column, [c == label for c in name_columns])
    if not chosen:
        lowered = label.lower()
        folded = [sa.func.lower(c) == lowered for c in name_columns]
        chosen = _candidates(conn, id_column, shown_column, folded)
    if not chosen:
        raise NotFoundError(f"{kind} {label} not found")
    if len(chosen) > 1:
        raise _ambiguous(kind, label, [f"{r.shown} (id {r.id})" for r in chosen])
    return int(chosen[0].id)


def _candidates(
    conn: Reader, id_column: Any, shown_column: Any, conditions: Sequence[Any]
) -> list[Any]:
    return list(
        conn.execute(
            sa.select(id_column.label("id"), shown_column.label("shown"))
            .where(sa.or_(*conditions))
            .order_by(id_column)
            .limit(SHOWN_CANDIDATES + 1)
        ).all()
    )


def resolve_agent_id(conn: Reader, ref: AgentRef) -> int:
    """An agent's id from its id or alias."""
    return _by_name(conn, "agent", ref, Agent.id, [Agent.alias], Agent.alias)


def resolve_model_id(conn: Reader, ref: ModelRef) -> int:
    """An LLM model's id from its id, name or LiteLLM name."""
    return _by_name(
        conn, "model", ref, LLMModel.id, [LLMModel.name, LLMModel.litellm_name], LLMModel.name
    )


def resolve_game_type_id(conn: Reader, ref: GameTypeRef) -> int:
    """A game type's id from its id, env id or name."""
    return _by_name(
        conn, "game type", ref, GameType.id, [GameType.env_id, GameType.name], GameType.env_id
    )
