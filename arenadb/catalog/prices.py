"""Dated model prices, and the cost of an LLM call at the price of its day.

A model's prices per million tokens (input, output, cache read, cache write and, where a
provider prices it apart, reasoning) hold from an effective day (UTC) until the next price of
the same model: a price change never rewrites the cost of calls already made.

    from arenadb.catalog.prices import set_price, list_prices
    set_price(engine, "gpt-4o", effective_from=day, input=2.5, output=10.0, cache_read=1.25)
    for price in list_prices(engine, model="gpt-4o"):
        print(price.effective_from, price.input, price.cache_read)

Tokens are counted as `arenadb.integrations.usage` stores them: input tokens include cache
reads and writes, output tokens include reasoning tokens.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from arenadb.db.engine import session_scope
from arenadb.errors import InvalidDataError
from arenadb.models import PRICE_KINDS, PRICES_BEGINNING, LLMModel, ModelPrice


@dataclass(frozen=True)
class Prices:
    """Prices per million tokens; None: no price for that kind of token."""

    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None  # None: reasoning tokens are billed as output tokens


@dataclass(frozen=True)
class PriceHistory:
    """A model's prices by effective day, for pricing calls in memory (bisect by day)."""

    days: tuple[date, ...] = ()
    prices: tuple[Prices, ...] = ()

    def at(self, day: date) -> Prices | None:
        """The prices in force on `day` (None: no price yet)."""
        days = self.days
        if len(days) == 1:  # the common case, kept cheap: one price since it was registered
            return self.prices[0] if day >= days[0] else None
        index = bisect.bisect_right(days, day) - 1
        return self.prices[index] if index >= 0 else None


NO_PRICES = PriceHistory()


def call_day(at: datetime | None) -> date:
    """The UTC day a call is priced at (its start; now when unknown). Naive means UTC."""
    if at is None:
        return datetime.now(timezone.utc).date()
    if at.tzinfo is not None and at.tzinfo is not timezone.utc:
        at = at.astimezone(timezone.utc)
    return at.date()


def call_cost(
    prices: Prices | None,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    reasoning_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> float | None:
    """The cost of a call in dollars from all its token kinds; None (unknown) when no tokens
    were reported, or tokens were reported of a kind the prices do not cover.

    Cache reads and writes are the part of the input billed at their own prices; reasoning
    tokens, part of the output, are billed at the reasoning price only when there is one.
    """
    if input_tokens is None and output_tokens is None:
        return None
    if prices is None:
        return None
    read, write = cache_read_tokens or 0, cache_write_tokens or 0
    fresh_input = (input_tokens or 0) - read - write
    reasoning = (reasoning_tokens or 0) if prices.reasoning is not None else 0
    plain_output = (output_tokens or 0) - reasoning
    if fresh_input < 0 or plain_output < 0:
        return None  # inconsistent counts: no cost is better than a wrong one
    total = 0.0
    for tokens, price in (
        (fresh_input, prices.input),
        (plain_output, prices.output),
        (read, prices.cache_read),
        (write, prices.cache_write),
        (reasoning, prices.reasoning),
    ):
        if tokens:
            if price is None:
                return None
            total += tokens * price
    return total / 1_000_000


# --------------------------------------------------------------------------- reading


def price_history(conn: Connection | Session, model_id: int) -> PriceHistory:
    """Every price of a model, in effective order (one query)."""
    rows = conn.execute(
        sa.select(ModelPrice)
        .where(ModelPrice.model_id == model_id)
        .order_by(ModelPrice.effective_from)
    )
    days: list[date] = []
    prices: list[Prices] = []
    for row in rows.scalars() if isinstance(conn, Session) else rows:
        days.append(row.effective_from)
        prices.append(_prices_of(row))
    return PriceHistory(tuple(days), tuple(prices))


def _prices_of(row: Any) -> Prices:
    return Prices(**{kind: getattr(row, f"{kind}_per_mtok") for kind in PRICE_KINDS})


@dataclass
class PriceRow:
    """One dated price of one model, as `arenadb models prices` lists it."""

    model_id: int
    model: str
    effective_from: date
    input: float | None
    output: float | None
    cache_read: float | None
    cache_write: float | None
    reasoning: float | None


def list_prices(engine: Engine, *, model: int | str | None = None) -> list[PriceRow]:
    """Every dated price (of one model: its id, name or LiteLLM name; or of all), by model
    name then day."""
    from arenadb.catalog.refs import resolve_model_id

    query = (
        sa.select(ModelPrice, LLMModel.name)
        .join(LLMModel, LLMModel.id == ModelPrice.model_id)
        .order_by(LLMModel.name, ModelPrice.effective_from)
    )
    with session_scope(engine) as session:
        if model is not None:
            query = query.where(ModelPrice.model_id == resolve_model_id(session, model))
        return [_row(price, name) for price, name in session.execute(query)]


def _row(price: ModelPrice, name: str) -> PriceRow:
    return PriceRow(price.model_id, name, price.effective_from, **vars(_prices_of(price)))


# --------------------------------------------------------------------------- writing


def checked_price(value: Any, kind: str) -> float | None:
    """A price per million tokens: a finite number >= 0, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDataError(f"the {kind} price must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InvalidDataError(f"the {kind} price must be a finite number >= 0, not {value!r}")
    return number


def set_price(
    engine: Engine,
    model: int | str,
    *,
    effective_from: date,
    input: float | None = None,
    output: float | None = None,
    cache_read: float | None = None,
    cache_write: float | None = None,
    reasoning: float | None = None,
) -> PriceRow:
    """Set a model's prices (per million tokens) from the UTC day `effective_from` on: the
    kinds given; the others are carried over from the price in force that day. A price set
    again for the same day is replaced. Calls already recorded keep their cost."""
    from arenadb.catalog.refs import resolve_model_id

    given = {
        "input": input,
        "output": output,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "reasoning": reasoning,
    }
    with session_scope(engine, write=True) as session:
        model_id = resolve_model_id(session, model)
        row = set_model_price(
            session,
            model_id,
            effective_from=effective_from,
            prices={k: v for k, v in given.items() if v is not None},
        )
        name = session.get_one(LLMModel, model_id).name
        return _row(row, name)


def set_model_price(
    session: Session,
    model_id: int,
    *,
    effective_from: date,
    prices: Mapping[str, float | None],
) -> ModelPrice:
    """`set_price` in the caller's session, by model id."""
    unknown = set(prices) - set(PRICE_KINDS)
    if unknown:
        raise InvalidDataError(f"unknown price kind {sorted(unknown)[0]!r}")
    given = {kind: checked_price(value, kind) for kind, value in prices.items()}
    if not given or all(v is None for v in given.values()):
        raise InvalidDataError("give at least one price")
    if isinstance(effective_from, datetime) or not isinstance(effective_from, date):
        raise InvalidDataError(f"the effective day must be a date, not {effective_from!r}")
    in_force = price_history(session, model_id).at(effective_from)
    carried = vars(in_force) if in_force is not None else {}
    values = {f"{k}_per_mtok": given.get(k, carried.get(k)) for k in PRICE_KINDS}
    row = session.scalars(
        sa.select(ModelPrice).where(
            ModelPrice.model_id == model_id, ModelPrice.effective_from == effective_from
        )
    ).first()
    if row is None:
        row = ModelPrice(model_id=model_id, effective_from=effective_from, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return row


def registered_prices(
    session: Session, model: LLMModel, prices: Mapping[str, float | None]
) -> None:
    """Registration's prices (`register_model(input_price_per_mtok=...)`): from the beginning
    when the model has none yet; from today when they differ from today's."""
    given = {k: checked_price(v, k) for k, v in prices.items() if v is not None}
    if not given:
        return
    history = price_history(session, model.id)
    if not history.days:
        set_model_price(session, model.id, effective_from=PRICES_BEGINNING, prices=given)
        return
    today = call_day(None)
    current = history.at(today)
    if current is None or any(getattr(current, k) != v for k, v in given.items()):
        set_model_price(session, model.id, effective_from=today, prices=given)


def parse_day(text: str) -> date:
    """A day as YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidDataError(f"{text!r} is not a day (YYYY-MM-DD)") from None
