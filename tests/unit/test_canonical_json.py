"""canonical_json's conversions (enums, sets, a `default=` hook) and the hashes they must keep."""

from __future__ import annotations

import enum
from datetime import date

import pytest

from arenadb.db.json import canonical_default, canonical_json, state_hash
from arenadb.errors import InvalidDataError

# Hashes computed by the version before the hook existed: existing inputs keep their hash.
PINNED = [
    ({}, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
    ({"b": 1, "a": [1.5, "é"]}, "b3aa7c2c75e6eda68896ca65edd78b023f766c052f625885b86d88bfa1f1a585"),
    ({"x": [1e20, -0.0, 1e-7]}, "d5eb0b02f4e265183523fd9d5f64c228a5d4e089eabb98f1b8a7e48117169ea3"),
    (
        {
            "board": [[0, 1], [2, None]],
            "turn": 7,
            "players": {"0": {"hp": 3.25, "name": "Ünïcode"}},
        },
        "3d159dca5df4650a6eeb20593970644d51af91e5fc023517851ee4377eecb9d7",
    ),
    (
        [True, False, None, "xxx"],
        "9281609e9c39075ee343ef375c8551b3debb09e8b090d32574199e9c34cd97e1",
    ),
]


class Phase(enum.Enum):
    NIGHT = "night"
    DAY = "day"


class Seat(enum.IntEnum):
    FIRST = 0


@pytest.mark.parametrize(("state", "digest"), PINNED)
def test_existing_inputs_keep_their_hash(state: object, digest: str) -> None:
    assert state_hash(state) == digest
    assert state_hash(state, default=str) == digest


def test_enums_become_their_value() -> None:
    assert (
        canonical_json({"phase": Phase.NIGHT, "seat": Seat.FIRST}) == '{"phase":"night","seat":0}'
    )
    assert state_hash({"phase": Phase.DAY}) == state_hash({"phase": "day"})


def test_sets_become_sorted_lists_whatever_their_order() -> None:
    assert canonical_json({"alive": {3, 1, 2}}) == '{"alive":[1,2,3]}'
    assert canonical_json(frozenset({"b", "a"})) == '["a","b"]'
    # Items that do not compare with each other are ordered by their canonical text.
    assert canonical_json({1, "a", None}) == canonical_json({None, "a", 1}) == '["a",1,null]'
    assert canonical_json({1e20}) == "[100000000000000000000]"


def test_default_hook_converts_other_objects_and_builtins_still_apply() -> None:
    state = {"day": date(2026, 12, 1), "alive": {2, 1}, "phase": Phase.DAY}
    assert canonical_json(state, default=str) == (
        '{"alive":[1,2],"day":"2026-12-01","phase":"day"}'
    )
    with pytest.raises(InvalidDataError, match="date is not JSON serializable"):
        canonical_json(state)
    with pytest.raises(TypeError):
        canonical_default(object())
