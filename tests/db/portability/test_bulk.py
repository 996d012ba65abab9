"""THE bulk writer (`arenadb.db.bulk`) and the synthetic builder that writes through it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.db.bulk import insert_rows
from arenadb.db.engine import write_transaction
from arenadb.db.json import json_text, state_hash
from arenadb.models import Game, GameSnapshot, LLMCall, Rating, RatingEvent
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


def test_synthetic_arena_built_by_parallel_workers_is_whole_and_consistent(engine: Engine) -> None:
    """`build_arena(workers=3)` (benchmarks/scale.py's 10x arena): every id once, the usage
    rollup equal to a scan of the calls, each rating the sum of its agent's rating events."""
    from tests.db.inspection.test_usage_rollup import assert_rollup_exact

    built = build_arena(engine, games=90, agents=12, workers=3, batch_games=10)
    games, calls = Game.__table__, LLMCall.__table__
    with engine.connect() as conn:
        ids = conn.execute(sa.select(games.c.id).order_by(games.c.id)).scalars().all()
        stored_calls = conn.execute(sa.select(sa.func.count()).select_from(calls)).scalar()
        events = RatingEvent.__table__
        moved = dict(
            conn.execute(
                sa.select(
                    events.c.agent_id,
                    sa.func.sum(events.c.mu_after - events.c.mu_before),
                ).group_by(events.c.agent_id)
            ).all()
        )
        counted = dict(
            conn.execute(
                sa.select(events.c.agent_id, sa.func.count()).group_by(events.c.agent_id)
            ).all()
        )
        ratings = conn.execute(sa.select(Rating.agent_id, Rating.mu, Rating.games)).all()
        uuids = conn.execute(sa.select(sa.func.count(sa.distinct(games.c.uuid)))).scalar()
    assert ids == list(range(1, 91)) and (built.first_game_id, built.last_game_id) == (1, 90)
    assert uuids == 90, "each worker draws its own game uuids"
    assert built.llm_calls == stored_calls > 0
    assert len(ratings) == 12
    for agent_id, mu, played in ratings:
        assert mu == pytest.approx(25.0 + moved.get(agent_id, 0.0)), agent_id
        assert played == counted.get(agent_id, 0), agent_id
    assert_rollup_exact(engine)
