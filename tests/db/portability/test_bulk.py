"""THE bulk writer (`arenadb.db.bulk`) and the synthetic builder that writes through it."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.db.bulk import insert_rows
from arenadb.db.engine import write_transaction
from arenadb.db.json import json_text, state_hash
from arenadb.models import Game, GameSnapshot
from tests.support.synthetic import build_arena


def test_synthetic_snapshot_hashes_are_state_hash_of_their_state(engine: Engine) -> None:
    build_arena(engine, games=60)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(GameSnapshot.state, GameSnapshot.sha256, GameSnapshot.size_bytes)
        ).all()
    assert rows, "the synthetic arena has 4X games with snapshots"
    for state, sha256, size in rows:
        assert "Zürich" in state.values()
        assert sha256 == state_hash(state)
        assert size == len(json_text(state, "state").encode("utf-8"))  # type: ignore[union-attr]


def test_bulk_rows_round_trip_json_nulls_uuids_and_times(engine: Engine) -> None:
    build_arena(engine, games=3)
    games = Game.__table__
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)
    import uuid

    first, second = uuid.uuid4(), uuid.uuid4()
    with write_transaction(engine) as conn:
        written = insert_rows(
            conn,
            games,  # type: ignore[arg-type]
            ("id", "uuid", "game_type_id", "status", "started_at", "info", "rated"),
            [
                (1001, first, 1, "running", at, json_text({"ü": [1.5, None]}), True),
                (1002, second, 1, "queued", None, None, False),
            ],
        )
    assert written == 2
    with engine.connect() as conn:
        got = conn.execute(
            sa.select(games.c.uuid, games.c.started_at, games.c.info, games.c.rated)
            .where(games.c.id >= 1001)
            .order_by(games.c.id)
        ).all()
        nulls = conn.execute(
            sa.select(sa.func.count()).where(games.c.id == 1002, games.c.info.is_(None))
        ).scalar()
    assert [tuple(r) for r in got] == [
        (first, at, {"ü": [1.5, None]}, True),
        (second, None, None, False),
    ]
    assert nulls == 1  # SQL NULL, not a JSON null
