"""The one JSON policy also holds for ORM writes: NaN / Infinity are refused, nothing is written."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

import arenadb
from arenadb.config import Settings
from arenadb.errors import InvalidDataError


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_an_orm_write_of_a_non_finite_json_number_is_refused_and_writes_nothing(
    db_settings: Settings, bad: float
) -> None:
    with arenadb.connect(settings=db_settings) as arena:
        arena.register_model("m")
        with pytest.raises(InvalidDataError, match="not JSON"):
            arena.register_agent(model="m", kind="k", prompt=("p", "t"), config={"t": bad})
        with arena.engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from agents")).scalar_one() == 0
        # A finite value still goes through, and reads back as written.
        agent = arena.register_agent(model="m", kind="k", prompt=("p", "t"), config={"t": 0.7})
        assert agent.config == {"t": 0.7}
