"""`daily_usage`: LLM calls per UTC day and model, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from arenadb.inspection.daily import daily_usage
from tests.support.arena_factory import ArenaFactory


def test_calls_are_summed_per_utc_day_and_model(engine):
    factory = ArenaFactory(engine)
    model_a = factory.model("model-a")
    a, b = factory.agent("a", model_id=model_a), factory.agent("b")
    late = datetime(2030, 1, 1, 23, 30, tzinfo=timezone.utc)
    # 23:30 UTC is the next day in UTC+2: the day must be the UTC one.
    early_next = datetime(2030, 1, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    calls = [
        {
            "seat": 0,
            "model_id": model_a,
            "started_at": late,
            "input_tokens": 10,
            "output_tokens": 5,
            "cost": 0.5,
            "latency_ms": 100,
        },
        {
            "seat": 0,
            "model_id": model_a,
            "started_at": late,
            "input_tokens": 1,
            "output_tokens": 1,
            "cost": 0.25,
            "latency_ms": 300,
            "status": "error",
        },
        {"seat": 0, "model_id": model_a, "started_at": early_next, "latency_ms": None},
        {"seat": 1, "request_model": "unlisted", "started_at": late + timedelta(days=1)},
        {"seat": 1, "request_model": "unlisted", "started_at": None},  # no day: left out
    ]
    factory.game(factory.game_type("T-v0"), [a, b], llm_calls=calls)
    days = daily_usage(engine)
    got = [
        (d.day, d.model, d.calls, d.errors, d.input_tokens, d.cost, d.latency_mean_ms) for d in days
    ]
    assert got == [
        ("2030-01-01", "model-a", 3, 1, 11, 0.75, 200.0),
        ("2030-01-02", "unlisted", 1, 0, 0, 0.0, None),
    ]


def test_no_calls_no_days(engine):
    assert daily_usage(engine) == []
