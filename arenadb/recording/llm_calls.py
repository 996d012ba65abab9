"""One recorded LLM call attempt, from the keywords a runner gives to its `llm_calls` row.

`record_llm_call(...)` and each of `record_turn(llm_calls=[...])` are the same keywords
(`LLMCall`). Turning them into a row is the same every time: fill what the provider's response
reports and the runner left None, price the call, derive the latency, serialise the JSON,
convert the timestamps. `LLMCallRows` does it on a dict of the call's values, so that each rule
is written once and the row's column order comes from the writer (`LLM_CALL_COLUMNS`), not from
a second list here. Which turn and seat a call belongs to is the recorder's cursor's answer
(`arenadb.recording.cursor.TurnCursor`).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict

from arenadb.catalog.prices import PriceHistory, call_cost, call_day
from arenadb.db.json import compact_json
from arenadb.db.writer import LLM_CALL_COLUMNS
from arenadb.errors import InvalidDataError
from arenadb.integrations.usage import ProviderUsage, parse_usage, response_json
from arenadb.models import LLM_CALL_STATUSES, LLMModel
from arenadb.recording.context import RecorderContext
from arenadb.recording.cursor import TurnCursor
from arenadb.recording.types import JSONValue


class LLMCall(TypedDict, total=False):
    """The keywords of one LLM call attempt (`record_llm_call`, `record_turn(llm_calls=)`);
    each defaults to None, except `status` ("ok"; or "error", "timeout"), `attempt` (1) and
    `turn_seq` (-1: the last recorded turn, None: outside any turn, e.g. during setup).

    The call is made by its turn's seat unless `seat` says otherwise. `response` is what the
    provider returned (a JSON dict, an SDK object, or a stream's chunks): the tokens, finish
    reason, response model and id it reports (`arenadb.integrations.usage.parse_usage`) fill
    the keywords left None. `model` is an LLMModel, its id or its registered name. When `cost`
    is None (and the provider reported none), it is computed from every token kind at the
    model's prices of the call's day (`started_at`, else now); unknown when a kind it used has
    no price. Token counts are stored as reported (None when unknown, 0 is a real count).
    `latency_ms` defaults to the time from `started_at` to `finished_at`.
    """

    request: JSONValue
    response: Any
    model: Any
    request_model: str | None
    response_model: str | None
    provider: str | None
    response_id: str | None
    started_at: datetime | None
    first_token_at: datetime | None
    finished_at: datetime | None
    latency_ms: int | None
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    cost: float | None
    finish_reason: str | None
    status: str
    error: str | None
    reasoning: str | None
    attempt: int
    seat: int | None
    turn_seq: int | None


_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(LLMCall.__annotations__),
    **{"status": "ok", "attempt": 1, "turn_seq": -1},
}
_REPORTED = ProviderUsage._fields
# The row read off the call's values by column name, in the writer's order (C speed).
_ROW = operator.itemgetter(*LLM_CALL_COLUMNS)


class LLMCallRows:
    """Builds the llm_calls rows of one game. It resolves each model argument (an LLMModel, its
    id or its name) and loads its prices once, then keeps them: a game calls the same few
    models on every turn."""

    def __init__(self, context: RecorderContext, game_id: int) -> None:
        self.game_id = game_id
        self._model_id = context.model_id
        self._model_prices = context.model_prices
        self._timestamp = context.writer.timestamp
        self._jsonb_prefix = context.writer.jsonb_prefix
        # model argument -> (model id, its dated prices)
        self._models: dict[Any, tuple[int, PriceHistory]] = {}

    def row(self, cursor: TurnCursor, call: Mapping[str, Any]) -> tuple:
        """The row of `call` (`LLMCall`'s keywords), its turn and seat resolved by `cursor`.

        On a dict of the call's values (the hot path of recording: one dict per call, each rule
        once); `record_turn` hands its `llm_calls` dicts over as they are.
        """
        values = {**_DEFAULTS, **call}
        if len(values) != len(_DEFAULTS):
            unknown = sorted(set(call) - _DEFAULTS.keys())[0]
            raise TypeError(f"record_llm_call() got an unexpected keyword argument {unknown!r}")
        turn_seq = values["turn_seq"]
        if turn_seq is not None:
            values["turn_seq"], values["seat"] = cursor.turn_and_seat(
                None if turn_seq == -1 else turn_seq, values["seat"], "an LLM call"
            )
        response = values["response"]
        if response is not None:
            # What the response reports fills each keyword the runner left None.
            for name, reported in zip(_REPORTED, parse_usage(response), strict=True):
                if reported is not None and values[name] is None:
                    values[name] = reported
        status = values["status"]
        if status != "ok" and status not in LLM_CALL_STATUSES:
            raise InvalidDataError(f"LLM call status must be one of {LLM_CALL_STATUSES}")
        started_at, finished_at = values["started_at"], values["finished_at"]
        model = values["model"]
        model_id = None
        if model is not None:
            model_id, history = self._pricing(model)
            input_tokens, output_tokens = values["input_tokens"], values["output_tokens"]
            if values["cost"] is None and (input_tokens is not None or output_tokens is not None):
                values["cost"] = call_cost(
                    history.at(call_day(started_at)),
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    reasoning_tokens=values["reasoning_tokens"],
                    cache_read_tokens=values["cache_read_tokens"],
                    cache_write_tokens=values["cache_write_tokens"],
                )
        values["model_id"] = model_id
        timestamp = self._timestamp
        if started_at is not None:
            if finished_at is not None and values["latency_ms"] is None:
                seconds = (finished_at - started_at).total_seconds()
                values["latency_ms"] = max(0, round(seconds * 1000))
            values["started_at"] = timestamp(started_at)
        if finished_at is not None:
            values["finished_at"] = timestamp(finished_at)
        if values["first_token_at"] is not None:
            values["first_token_at"] = timestamp(values["first_token_at"])
        values["request"], values["response"] = self._json_texts(values["request"], response)
        values["game_id"] = self.game_id
        return _ROW(values)

    def knows(self, model: Any) -> bool:
        """Whether a call naming `model` is priced from memory (no lookup to make)."""
        return model is None or _model_key(model) in self._models

    def _pricing(self, model: Any) -> tuple[int, PriceHistory]:
        """(model id, its prices) of a model argument, looked up on its first call only."""
        key = _model_key(model)
        pricing = self._models.get(key)
        if pricing is None:
            model_id = self._model_id(model)
            pricing = self._models[key] = (model_id, self._model_prices(model_id))
        return pricing

    def _json_texts(self, request: Any, response: Any) -> tuple[str | None, str | None]:
        """The request and response as JSON column text; an SDK object or a stream's chunks
        are stored as the JSON they convert to."""
        prefix = self._jsonb_prefix
        try:
            request_text = None if request is None else prefix + compact_json(request)
            if response is None:
                return request_text, None
            try:
                return request_text, prefix + compact_json(response)
            except TypeError:  # an SDK object, or a stream's chunks
                return request_text, prefix + compact_json(response_json(response))
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(f"LLM request or response is not JSON: {exc}") from None


def _model_key(model: Any) -> Any:
    """What a model argument is cached by: its id for an LLMModel, else the argument."""
    return model.id if isinstance(model, LLMModel) else model
