"""The usage rollup's deltas are upserted in one key order, whatever order the calls came in:
two PostgreSQL transactions upserting the same (model, day) keys in opposite orders deadlocked
(seen with benchmarks/scale.py's parallel builders)."""

from __future__ import annotations

from datetime import datetime, timezone

from arenadb.db.rollups import UsageDeltas


def _call(model_id: int | None, name: str | None, day: int) -> dict[str, object]:
    started = datetime(2026, 11, day, 12, tzinfo=timezone.utc)
    return {
        "model_id": model_id,
        "request_model": name,
        "started_at": started,
        "finished_at": started,
        "latency_ms": 10,
        "status": "ok",
    }


def test_deltas_come_out_in_key_order_whatever_order_they_went_in():
    calls = [_call(2, "b", 3), _call(None, None, 1), _call(1, "a", 2), _call(1, "a", 1)]
    orders = []
    for sequence in (calls, list(reversed(calls))):
        deltas = UsageDeltas()
        deltas.add_dicts(sequence)
        orders.append([row[:3] for row in deltas.parameters("sqlite")])
    assert orders[0] == orders[1]
    assert len(orders[0]) == 4 and orders[0] == sorted(orders[0])
