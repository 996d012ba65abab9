"""The one JSON policy of arenadb: compact UTF-8 text, finite numbers only, and a canonical form.

NaN and Infinity are not JSON and PostgreSQL's jsonb rejects them; SQLite would store them as
invalid JSON text. So every JSON value written by arenadb, on either backend and by every path
(recording, seeding, import, copy, the synthetic builder), goes through `json_text` (or
`canonical_json` where a hash is computed), which refuses them with `InvalidDataError`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.exc import DontWrapMixin

from arenadb.errors import InvalidDataError

# One encoder for every JSON column: compact, UTF-8, and strict (NaN/Infinity are not JSON and
# PostgreSQL's jsonb rejects them, so they fail here, at the call that passed them).
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
# The strict encoder itself, for hot paths that catch its TypeError/ValueError in bulk.
compact_json = _encode


def canonical_default(value: Any) -> Any:
    """The values `canonical_json` converts besides JSON's own: an enum member becomes its
    value, a set or frozenset a sorted list (by value when its items compare, else by their
    canonical JSON text), so the same set always gives the same text. Anything else: TypeError.
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        items = list(value)
        try:
            items.sort()
        except TypeError:
            items.sort(key=canonical_json)
        return _normalise_floats(items)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _canonical_encoder(default: Callable[[Any], Any]) -> Callable[[Any], str]:
    return json.JSONEncoder(
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        sort_keys=True,
        default=default,
    ).encode


_encode_canonical = _canonical_encoder(canonical_default)
# Floats whose JSON text does not survive a round trip through PostgreSQL's jsonb (numeric):
# 1e+16 comes back as the integer 10000000000000000, -0.0 as 0.0. Rare, so only checked for.
_FRAGILE_FLOAT = re.compile(r"\de\+|-0\.0(?![0-9])")


def _normalise_floats(value: Any) -> Any:
    if isinstance(value, float):
        if value == 0.0:
            return 0.0
        if value.is_integer() and abs(value) >= 1e16:
            # The decimal number the JSON text says (what numeric parses), not the binary value.
            return int(Decimal(repr(value)))
        return value
    if isinstance(value, Mapping):
        return {k: _normalise_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise_floats(v) for v in value]
    return value


def canonical_json(state: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """The canonical JSON text of `state`: sorted keys, no spaces, UTF-8, no NaN.

    It is also the form that reads back identically from SQLite and from PostgreSQL's jsonb, so
    a hash computed on write verifies on read. Example: `canonical_json({"b": 1, "a": [1.5]})`
    is `'{"a":[1.5],"b":1}'`. Enum members and sets are converted (`canonical_default`);
    `default`, as in `json.dumps`, converts any other object to something JSON can hold, e.g.
    `canonical_json({"at": day}, default=str)`. Values JSON holds never reach either hook, so
    their text (and hash) does not depend on them.
    """
    encode = _encode_canonical
    if default is not None:
        hook = default

        def chained(value: Any) -> Any:
            try:
                return canonical_default(value)
            except TypeError:
                return hook(value)

        encode = _canonical_encoder(chained)
    try:
        text = encode(state)
        if _FRAGILE_FLOAT.search(text):
            text = encode(_normalise_floats(state))
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"state is not canonical JSON: {_reason(exc)}") from None
    return text


def state_hash(state: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """Full sha256 (64 hex digits) of the canonical JSON of `state` (`default` as there)."""
    return hashlib.sha256(canonical_json(state, default=default).encode("utf-8")).hexdigest()


def json_text(value: Any, what: str = "value", prefix: str = "") -> str | None:
    """`value` as JSON text (None stays None), after `prefix` (a writer's `jsonb_prefix`)."""
    if value is None:
        return None
    try:
        return prefix + _encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"{what} is not JSON: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    # The C encoder's "Out of range float values are not JSON compliant" does not say which.
    if isinstance(exc, ValueError) and "Out of range float" in str(exc):
        return "NaN and Infinity are not JSON numbers (finite numbers only)"
    return str(exc)


def _not_finite(text: str) -> Any:
    raise ValueError(f"{text} is not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):  # 1e400: valid JSON text, but no float holds it
        raise ValueError(f"{text} is not a finite number")
    return value


_INF = float("inf")
_decode_checked = json.JSONDecoder(parse_constant=_not_finite, parse_float=_finite_float).decode


def checked_json_text(text: str | None, what: str = "value") -> str | None:
    """JSON text read from a database, unchanged, once checked against the same policy as
    `json_text` (JSON, finite numbers only): a copy does not carry NaN that an older version
    let into a SQLite file over to the other backend."""
    if text is None:
        return None
    try:
        _decode_checked(text)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise InvalidDataError(f"{what} is not JSON: {exc}") from None
    return text


class JSONValueError(InvalidDataError, DontWrapMixin):
    """A JSON column was given a value outside the policy (raised as is, not as StatementError)."""


def orm_json_serializer(value: Any) -> str:
    """The engines' `json_serializer`: ORM and Core writes of JSON columns follow the policy too
    (SQLAlchemy's default, `json.dumps`, writes NaN, which is invalid JSON on SQLite and refused
    by PostgreSQL's jsonb with a driver error)."""
    try:
        return _encode(value)
    except (TypeError, ValueError) as exc:
        raise JSONValueError(f"a JSON value is not JSON: {exc}") from None
