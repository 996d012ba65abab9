"""Dated prices, costs from every token kind, and usage from provider responses, recorded
through the public API on both backends."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

import arenadb
from arenadb import Seat
from arenadb.catalog.prices import Prices, call_cost, list_prices, set_price
from arenadb.config import Settings
from arenadb.errors import InvalidDataError, NotFoundError
from arenadb.models import PRICES_BEGINNING

FIXTURES = Path(__file__).parents[2] / "fixtures" / "provider_responses"
MAY_1 = datetime(2026, 5, 1, 10, tzinfo=timezone.utc)
JUNE_1 = datetime(2026, 6, 1, 10, tzinfo=timezone.utc)
JULY_1 = datetime(2026, 7, 1, 10, tzinfo=timezone.utc)


@pytest.fixture
def arena(db_settings: Settings):
    with arenadb.connect(settings=db_settings) as arena:
        yield arena


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def calls(arena: arenadb.Arena, game_id: int) -> list[Any]:
    with arena.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("select * from llm_calls where game_id = :g order by id"), {"g": game_id}
            )
        )


def one_seat_game(arena: arenadb.Arena, model: str) -> Any:
    agent = arena.register_agent(model=model, kind="plain", prompt=("p", "text"))
    other = arena.register_agent(model=model, kind="plain", prompt=("p", "other"))
    return arena.start_game("KuhnPoker-v0", [Seat(agent), Seat(other)], rated=False)


def test_call_cost_uses_every_token_kind() -> None:
    prices = Prices(input=2.0, output=8.0, cache_read=0.5, cache_write=2.5)
    # 1000 input of which 600 cache reads and 100 cache writes; 500 output.
    cost = call_cost(
        prices, input_tokens=1000, output_tokens=500, cache_read_tokens=600, cache_write_tokens=100
    )
    assert cost == pytest.approx((300 * 2.0 + 600 * 0.5 + 100 * 2.5 + 500 * 8.0) / 1e6)
    # Reasoning is output unless priced apart.
    assert call_cost(prices, input_tokens=0, output_tokens=500, reasoning_tokens=400) == (
        pytest.approx(500 * 8.0 / 1e6)
    )
    apart = Prices(input=2.0, output=8.0, reasoning=20.0)
    assert call_cost(apart, input_tokens=0, output_tokens=500, reasoning_tokens=400) == (
        pytest.approx((100 * 8.0 + 400 * 20.0) / 1e6)
    )
    # Unknown: no tokens, no prices, a kind used without a price, inconsistent counts.
    assert call_cost(prices, input_tokens=None, output_tokens=None) is None
    assert call_cost(None, input_tokens=10, output_tokens=1) is None
    no_cache = Prices(input=2.0, output=8.0)
    assert call_cost(no_cache, input_tokens=10, output_tokens=1, cache_read_tokens=5) is None
    assert call_cost(no_cache, input_tokens=10, output_tokens=1, cache_read_tokens=0) is not None
    assert call_cost(prices, input_tokens=10, output_tokens=1, cache_read_tokens=50) is None


def test_a_call_is_priced_at_the_price_of_its_day(arena: arenadb.Arena) -> None:
    arena.register_model("dated", provider="openai")
    set_price(arena.engine, "dated", effective_from=date(2026, 6, 1), input=1.0, output=2.0)
    set_price(arena.engine, "dated", effective_from=date(2026, 7, 1), output=4.0, cache_read=0.1)
    rows = list_prices(arena.engine, model="dated")
    assert [(r.effective_from, r.input, r.output, r.cache_read) for r in rows] == [
        (date(2026, 6, 1), 1.0, 2.0, None),
        (date(2026, 7, 1), 1.0, 4.0, 0.1),  # input carried over from June's price
    ]
    recorder = one_seat_game(arena, "dated")
    recorder.record_turn(seat=0, action="bet")
    for at in (MAY_1, JUNE_1, JULY_1):
        recorder.record_llm_call(model="dated", started_at=at, input_tokens=1000, output_tokens=100)
    recorder.record_llm_call(
        model="dated",
        started_at=JULY_1,
        input_tokens=1000,
        output_tokens=100,
        cache_read_tokens=800,
    )
    recorder.finish()
    costs = [c.cost for c in calls(arena, recorder.game_id)]
    assert costs[0] is None  # before any price: unknown, not $0
    assert costs[1:] == [
        pytest.approx((1000 * 1.0 + 100 * 2.0) / 1e6),
        pytest.approx((1000 * 1.0 + 100 * 4.0) / 1e6),
        pytest.approx((200 * 1.0 + 800 * 0.1 + 100 * 4.0) / 1e6),
    ]
    # A later price change does not rewrite what was recorded.
    set_price(arena.engine, "dated", effective_from=date(2026, 6, 1), input=9.0)
    assert [c.cost for c in calls(arena, recorder.game_id)] == costs


def test_registration_prices_start_at_the_beginning_then_today(arena: arenadb.Arena) -> None:
    arena.register_model("reg", input_price_per_mtok=1.0, output_price_per_mtok=2.0)
    arena.register_model("reg", input_price_per_mtok=1.0)  # unchanged: no new price
    rows = list_prices(arena.engine, model="reg")
    assert [(r.effective_from, r.input, r.output) for r in rows] == [(PRICES_BEGINNING, 1.0, 2.0)]
    arena.register_model("reg", input_price_per_mtok=3.0)
    rows = list_prices(arena.engine, model="reg")
    assert [(r.input, r.output) for r in rows] == [(1.0, 2.0), (3.0, 2.0)]
    assert rows[1].effective_from == datetime.now(timezone.utc).date()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, "1", True])
def test_prices_must_be_finite_and_not_negative(arena: arenadb.Arena, bad: Any) -> None:
    arena.register_model("m")
    with pytest.raises(InvalidDataError, match="price"):
        set_price(arena.engine, "m", effective_from=date(2026, 1, 1), input=bad)
    assert list_prices(arena.engine) == []


def test_setting_a_price_of_an_unknown_model_fails(arena: arenadb.Arena) -> None:
    with pytest.raises(NotFoundError):
        set_price(arena.engine, "nope", effective_from=date(2026, 1, 1), input=1.0)


def test_record_llm_call_fills_usage_from_the_response(arena: arenadb.Arena) -> None:
    arena.register_model("claude", input_price_per_mtok=3.0, output_price_per_mtok=15.0)
    set_price(
        arena.engine, "claude", effective_from=PRICES_BEGINNING, cache_read=0.3, cache_write=3.75
    )
    recorder = one_seat_game(arena, "claude")
    recorder.record_turn(seat=0, action="bet")
    anthropic = fixture("anthropic_message")
    recorder.record_llm_call(model="claude", response=anthropic, started_at=JUNE_1)
    # An SDK object (attributes) and a stream (a list of events) are stored as JSON.
    openai = fixture("openai_chat")
    as_object = json.loads(json.dumps(openai), object_hook=lambda d: SimpleNamespace(**d))
    recorder.record_llm_call(response=as_object, input_tokens=7)  # explicit values win
    recorder.record_llm_call(response=fixture("anthropic_stream"))
    recorder.finish()
    first, second, third = calls(arena, recorder.game_id)
    assert (first.input_tokens, first.output_tokens, first.reasoning_tokens) == (188107, 393, None)
    assert (first.cache_read_tokens, first.cache_write_tokens) == (0, 188086)
    assert (first.finish_reason, first.response_model, first.response_id) == (
        "end_turn",
        "claude-sonnet-4-20250514",
        "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    )
    assert first.cost == pytest.approx((21 * 3.0 + 188086 * 3.75 + 393 * 15.0) / 1e6)
    assert (second.input_tokens, second.output_tokens, second.reasoning_tokens) == (7, 946, 704)
    assert second.response_id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    stored = second.response if isinstance(second.response, dict) else json.loads(second.response)
    assert stored == openai
    assert (third.input_tokens, third.output_tokens, third.finish_reason) == (
        2520,
        89,
        "max_tokens",
    )
    assert third.cost is None  # no model: no price


def test_the_migration_moves_todays_prices_into_the_table(fresh_settings: Settings) -> None:
    from arenadb.db import create_database, create_engine
    from arenadb.schema.migrations import upgrade

    create_database(fresh_settings)
    upgrade(fresh_settings, "0005")
    engine = create_engine(fresh_settings)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "insert into llm_models (name, active, input_price_per_mtok, "
                    "output_price_per_mtok, created_at) values "
                    "('priced', true, 0.15, 0.6, CURRENT_TIMESTAMP), "
                    "('free', true, null, null, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(fresh_settings, "head")
        rows = list_prices(engine)
        assert [(r.model, r.effective_from, r.input, r.output) for r in rows] == [
            ("priced", PRICES_BEGINNING, 0.15, 0.6)
        ]
    finally:
        engine.dispose()


def cli(settings: Settings, *args: str) -> Any:
    from typer.testing import CliRunner

    from arenadb.cli import app

    return CliRunner().invoke(app, ["--database-url", settings.database_url, *args])


def test_models_prices_cli_lists_and_sets(arena: arenadb.Arena, db_settings: Settings) -> None:
    arena.register_model("gpt-q", input_price_per_mtok=0.15, output_price_per_mtok=0.6)
    result = cli(
        db_settings,
        "models",
        "prices",
        "set",
        "gpt-q",
        "--input",
        "0.2",
        "--cache-read",
        "0.05",
        "--from",
        "2026-11-01",
    )
    assert result.exit_code == 0, result.output
    listed = cli(db_settings, "models", "prices", "--json")
    assert listed.exit_code == 0, listed.output
    assert [
        (r["effective_from"], r["input"], r["output"], r["cache_read"])
        for r in json.loads(listed.stdout)
    ] == [("1970-01-01", 0.15, 0.6, None), ("2026-11-01", 0.2, 0.6, 0.05)]
    csv = cli(db_settings, "--csv", "models", "prices", "--model", "gpt-q")
    assert csv.stdout.splitlines()[2].startswith("gpt-q,2026-11-01,0.2,0.6,0.05,,,")
    table = cli(db_settings, "models", "prices")
    assert "2026-11-01" in table.stdout and "gpt-q" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        # The option's bounds (0 to PRICE_MAX) answer first, naming the option.
        (["--input", "nan", "--from", "2026-01-01"], 2, "'--input': 'nan' is not a number"),
        (["--input", "-1", "--from", "2026-01-01"], 2, "must be from 0 to 1000000, not -1"),
        (["--output", "inf", "--from", "2026-01-01"], 2, "invalid value for '--output'"),
        (["--input", "1", "--from", "2026-13-01"], 2, "--from"),
        (["--input", "1"], 2, "--from"),
        (["--from", "2026-01-01"], 2, "at least one"),
    ],
)
def test_models_prices_set_refuses_bad_input(
    arena: arenadb.Arena, db_settings: Settings, args: list[str], code: int, message: str
) -> None:
    arena.register_model("gpt-q")
    result = cli(db_settings, "models", "prices", "set", "gpt-q", *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert list_prices(arena.engine) == []


def test_models_prices_set_of_an_unknown_model_exits_1(db_settings: Settings) -> None:
    result = cli(
        db_settings, "models", "prices", "set", "nope", "--input", "1", "--from", "2026-01-01"
    )
    assert result.exit_code == 1, result.output
    assert "nope" in result.stderr
