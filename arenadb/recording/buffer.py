"""What a recorder holds between two writes: the rows of the current batch, the turn cursor.

`GameBuffer` appends turns, player actions, LLM calls and snapshots to the current batch as plain
tuples already in the driver's format (`arenadb.db.writer.Batch`), and keeps the cursor a game
needs to reference them: the next turn's seq, the last turn's seat, the action index per turn,
the snapshots taken. It touches no database. `GameRecorder` (`arenadb.recording.recorder`) adds
writing a batch and closing the game; a turn starting when a batch is due calls its `flush()`.

A turn and the LLM calls / actions recorded with it always share a batch, and are appended whole
or not at all.
"""

from __future__ import annotations

import functools
import threading
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from arenadb.catalog.prices import PriceHistory, call_cost, call_day
from arenadb.db.json import compact_json, json_text
from arenadb.db.writer import Batch
from arenadb.errors import ConflictError, InvalidDataError
from arenadb.integrations.usage import parse_usage, response_json
from arenadb.models import LLM_CALL_STATUSES, SNAPSHOT_KINDS, TURN_VISIBILITIES, LLMModel
from arenadb.recording.context import RecorderContext
from arenadb.recording.snapshots import snapshot_row
from arenadb.recording.types import JSONValue, RecorderStats, StateArg

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="GameBuffer")


def locked(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run a method holding the buffer's lock: a background write (`arenadb.recording.flusher`)
    never sees a half-appended turn, and never writes while the runner does."""

    @functools.wraps(method)
    def with_lock(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)

    return with_lock


class GameBuffer:
    """The rows of one game recorded since the last write, and where the game stands."""

    def __init__(
        self,
        context: RecorderContext,
        *,
        game_id: int,
        uuid: uuid_module.UUID,
        seats: Mapping[int, str | None],
        next_seq: int = 0,
        batch_turns: int | None = None,
        flush_seconds: float | None = None,
        snapshot_every: int | None = None,
        last_turn_seat: int | None = None,
        action_counts: Mapping[int, int] | None = None,
        snapshots_taken: Iterable[tuple[int, str]] = (),
    ) -> None:
        self.context = context
        self.game_id = game_id
        self.uuid = uuid
        self.seat_sides = dict(seats)
        every = context.snapshot_every if snapshot_every is None else snapshot_every
        self.snapshot_every = int(every)
        self.batch_turns = max(1, int(batch_turns or context.batch_turns))
        self.flush_seconds = float(
            context.flush_seconds if flush_seconds is None else flush_seconds
        )
        self._clock = context.clock
        self._last_flush = self._clock()
        # Reentrant: record_turn appends its LLM calls and snapshot through the public methods.
        self.lock = threading.RLock()
        self._flusher = context.flusher
        self.stats = RecorderStats()
        self.closed = False
        writer = context.writer
        self._ts = writer.timestamp
        self._now = writer.now
        self._jsonb_prefix = writer.jsonb_prefix
        self._batch = Batch()
        self._next_seq = next_seq
        self._last_seq: int | None = next_seq - 1 if next_seq else None
        self._last_seat = last_turn_seat
        self._action_counts: dict[int, int] = dict(action_counts or {})
        # (turns included, kind) of the snapshots stored or buffered: one of each.
        self._snapshot_turns: set[tuple[int, str]] = set(snapshots_taken)
        # A periodic snapshot came due at a turn recorded without a state.
        self._snapshot_due = False
        # model argument -> (model id, input price, output price) per million tokens
        self._models: dict[Any, tuple[int, PriceHistory]] = {}
        # False only inside buffer_turn: a due batch is left to the next write.
        self._writes_due_batches = True

    # -- properties -------------------------------------------------------------------------

    @property
    def next_seq(self) -> int:
        """The seq the next recorded turn will get (= the number of turns recorded)."""
        return self._next_seq

    @property
    def last_seq(self) -> int | None:
        return self._last_seq

    @property
    def pending_rows(self) -> int:
        return self._batch.rows

    def flush(self) -> int:
        """Write the buffered rows (`GameRecorder` does); returns how many were written."""
        raise NotImplementedError

    def next_turn_flushes(self) -> bool:
        """Whether `record_turn` writes the buffer before appending its turn: it holds
        `batch_turns` turns, or the last write is `flush_seconds` old."""
        pending = len(self._batch.turns)
        return bool(pending) and (
            pending >= self.batch_turns or self._clock() - self._last_flush >= self.flush_seconds
        )

    def knows_model(self, model: Any) -> bool:
        """Whether an LLM call naming `model` is priced from memory (no lookup to make)."""
        return model is None or _model_key(model) in self._models

    # -- recording --------------------------------------------------------------------------

    @locked
    def record_turn(
        self,
        *,
        seat: int | None = None,
        action: str | None = None,
        observation: str | None = None,
        turn_number: int | None = None,
        phase: str | None = None,
        valid: bool | None = None,
        latency_ms: int | None = None,
        state_hash: str | None = None,
        state: StateArg | None = None,
        llm_calls: Iterable[Mapping[str, Any]] | None = (),
        actions: Iterable[Mapping[str, Any]] | None = (),
        visibility: str | None = None,
        recipients: Iterable[int] | None = None,
        invalid_reason: str | None = None,
    ) -> int:
        """Append one turn (and its LLM calls and actions); returns its seq.

        `seat` None is an environment step. `turn_number` defaults to the seq. `state` (a dict,
        or a function returning one, called only when needed) is snapshotted when the turn
        count reaches a multiple of `snapshot_every`, or at the first turn with a state after
        that multiple was passed without one. `llm_calls` / `actions` None: none.
        `visibility`: "public" (the default: every seat saw it), "private" (only the seats in
        `recipients`; giving recipients implies it) or "system" (no seat saw it).
        `invalid_reason`: why the move was invalid (`valid` then defaults to False).
        """
        if self.closed:
            raise ConflictError(f"game {self.game_id} is closed: cannot record more turns")
        if seat is not None and seat not in self.seat_sides:
            raise InvalidDataError(f"game {self.game_id} has no seat {seat}")
        if visibility is None and recipients is None:
            visibility, recipients_text = "public", None
        else:
            visibility, recipients_text = self._visibility(visibility, recipients)
        if invalid_reason is not None and valid is None:
            valid = False
        if self._writes_due_batches and self.next_turn_flushes():
            self.flush()
        seq = self._next_seq
        batch = self._batch
        undo = (len(batch.actions), len(batch.llm_calls), self._last_seq, self._last_seat)
        batch.turns.append(
            (
                self.game_id,
                seq,
                seq if turn_number is None else turn_number,
                phase,
                seat,
                observation,
                action,
                valid,
                state_hash,
                latency_ms,
                self._now(),
                visibility,
                recipients_text,
                invalid_reason,
            )
        )
        self._next_seq = seq + 1
        self._last_seq = seq
        self._last_seat = seat
        try:
            for call in llm_calls or ():
                _append_llm_call(self, **call)
            for act in actions or ():
                _append_action(self, **act)
            every = self.snapshot_every
            if every and (self._next_seq % every == 0 or self._snapshot_due):
                if state is None:
                    # Due but nothing to store: the next turn that has a state takes it.
                    self._snapshot_due = True
                else:
                    self.snapshot(state() if callable(state) else state)
        except BaseException:
            # A turn is recorded whole or not at all: drop what this call appended.
            batch.turns.pop()
            del batch.actions[undo[0] :], batch.llm_calls[undo[1] :]
            self._next_seq, self._last_seq, self._last_seat = seq, undo[2], undo[3]
            self._action_counts.pop(seq, None)
            raise
        return seq

    @locked
    def buffer_turn(self, **turn: Any) -> int:
        """`record_turn` without the write a full or old buffer triggers: memory work only (the
        async recorder's path on the event loop). The due batch is written by the next write,
        or by the flusher."""
        self._writes_due_batches = False
        try:
            return self.record_turn(**turn)
        finally:
            self._writes_due_batches = True

    def _visibility(self, visibility: str | None, recipients: Iterable[int] | None) -> tuple:
        """(visibility, recipients as JSON text) of a turn, checked against the game's seats."""
        if visibility is None:
            visibility = "private"
        if visibility not in TURN_VISIBILITIES:
            raise InvalidDataError(f"turn visibility must be one of {TURN_VISIBILITIES}")
        if visibility != "private":
            if recipients is not None:
                raise InvalidDataError(f"a {visibility} turn has no recipients")
            return visibility, None
        seats = sorted(set(recipients or ()))
        if not seats:
            raise InvalidDataError("a private turn needs its recipients (the seats that saw it)")
        for seat in seats:
            if seat not in self.seat_sides:
                raise InvalidDataError(f"game {self.game_id} has no seat {seat!r}")
        return visibility, json_text(seats, "turn recipients", self._jsonb_prefix)

    @locked
    def record_action(
        self,
        action_type: str,
        *,
        payload: JSONValue = None,
        result: JSONValue = None,
        valid: bool | None = None,
        seat: int | None = None,
        turn_seq: int | None = None,
        idx: int | None = None,
    ) -> int:
        """Append one player action to a turn (default: the last recorded); returns its idx."""
        turn_seq, seat = self._turn_and_seat(turn_seq, seat, "an action")
        if idx is None:
            idx = self._action_counts.get(turn_seq, 0)
        self._action_counts[turn_seq] = max(idx + 1, self._action_counts.get(turn_seq, 0))
        self._batch.actions.append(
            (
                self.game_id,
                turn_seq,
                idx,
                seat,
                action_type,
                json_text(payload, "action payload", self._jsonb_prefix),
                json_text(result, "action result", self._jsonb_prefix),
                valid,
            )
        )
        return idx

    @locked
    def record_llm_call(
        self,
        *,
        request: JSONValue = None,
        response: Any = None,
        model: Any = None,
        request_model: str | None = None,
        response_model: str | None = None,
        provider: str | None = None,
        response_id: str | None = None,
        started_at: datetime | None = None,
        first_token_at: datetime | None = None,
        finished_at: datetime | None = None,
        latency_ms: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        cost: float | None = None,
        finish_reason: str | None = None,
        status: str = "ok",
        error: str | None = None,
        reasoning: str | None = None,
        attempt: int = 1,
        seat: int | None = None,
        turn_seq: int | None = -1,
    ) -> None:
        """Append one LLM call attempt. It belongs to the last recorded turn unless `turn_seq`
        says otherwise (None: a call outside any turn, e.g. during setup).

        `response` is what the provider returned (a JSON dict, an SDK object, or a stream's
        chunks): the tokens, finish reason, response model and id it reports
        (`arenadb.integrations.usage.parse_usage`) fill the arguments left None.
        `model` is an LLMModel, its id or its registered name. When `cost` is None (and the
        provider reported none), it is computed from every token kind at the model's prices of
        the call's day (`started_at`, else now); unknown when a kind it used has no price.
        Token counts are stored as reported (None when unknown, 0 is a real count).
        """
        if response is not None:
            usage = parse_usage(response)
            if input_tokens is None:
                input_tokens = usage.input_tokens
            if output_tokens is None:
                output_tokens = usage.output_tokens
            if reasoning_tokens is None:
                reasoning_tokens = usage.reasoning_tokens
            if cache_read_tokens is None:
                cache_read_tokens = usage.cache_read_tokens
            if cache_write_tokens is None:
                cache_write_tokens = usage.cache_write_tokens
            if finish_reason is None:
                finish_reason = usage.finish_reason
            if response_model is None:
                response_model = usage.response_model
            if response_id is None:
                response_id = usage.response_id
            if cost is None:
                cost = usage.cost
        if turn_seq == -1 and self._last_seq is not None:  # the common case, kept cheap
            turn_seq = self._last_seq
            seat_value = self._last_seat if seat is None else seat
        elif turn_seq is None:
            seat_value = seat
        else:
            turn_seq, seat_value = self._turn_and_seat(
                None if turn_seq == -1 else turn_seq, seat, "an LLM call"
            )
        if status != "ok" and status not in LLM_CALL_STATUSES:
            raise InvalidDataError(f"LLM call status must be one of {LLM_CALL_STATUSES}")
        if model is None:
            model_id = None
        else:
            key = _model_key(model)
            pricing = self._models.get(key)
            if pricing is None:
                model_id = self.context.model_id(model)
                pricing = self._models[key] = (model_id, self.context.model_prices(model_id))
            model_id, history = pricing
            if cost is None and (input_tokens is not None or output_tokens is not None):
                cost = call_cost(
                    history.at(call_day(started_at)),
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    reasoning_tokens=reasoning_tokens,
                    cache_read_tokens=cache_read_tokens,
                    cache_write_tokens=cache_write_tokens,
                )
        if latency_ms is None and started_at is not None and finished_at is not None:
            latency_ms = max(0, round((finished_at - started_at).total_seconds() * 1000))
        ts = self._ts
        try:
            prefix = self._jsonb_prefix
            request_text = None if request is None else prefix + compact_json(request)
            if response is None:
                response_text = None
            else:
                try:
                    response_text = prefix + compact_json(response)
                except TypeError:  # an SDK object, or a stream's chunks
                    response_text = prefix + compact_json(response_json(response))
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(f"LLM request or response is not JSON: {exc}") from None
        self._batch.llm_calls.append(
            (
                self.game_id,
                turn_seq,
                seat_value,
                model_id,
                attempt,
                provider,
                request_model,
                response_model,
                None if started_at is None else ts(started_at),
                None if first_token_at is None else ts(first_token_at),
                None if finished_at is None else ts(finished_at),
                latency_ms,
                input_tokens,
                output_tokens,
                reasoning_tokens,
                cache_read_tokens,
                cache_write_tokens,
                cost,
                finish_reason,
                status,
                error,
                request_text,
                response_text,
                reasoning,
                response_id,
            )
        )

    def _turn_and_seat(self, turn_seq: int | None, seat: int | None, what: str) -> tuple:
        if turn_seq is None:
            if self._last_seq is None:
                raise ConflictError(f"record a turn before {what} (game {self.game_id})")
            return self._last_seq, self._last_seat if seat is None else seat
        if not 0 <= turn_seq < self._next_seq:
            raise InvalidDataError(f"game {self.game_id} has no turn {turn_seq}")
        return turn_seq, seat

    @locked
    def snapshot(self, state: Mapping[str, Any], *, kind: str = "periodic") -> str:
        """Store the full state after the turns recorded so far; returns its sha256.

        Written with the current batch, so a snapshot is never committed without its turns.
        """
        if kind not in SNAPSHOT_KINDS:
            raise InvalidDataError(f"snapshot kind must be one of {SNAPSHOT_KINDS}")
        key = (self._next_seq, kind)
        if key in self._snapshot_turns:
            raise ConflictError(
                f"game {self.game_id} already has a {kind} snapshot after {key[0]} turns"
            )
        row, digest = snapshot_row(
            self.game_id, self._next_seq, kind, state, self._jsonb_prefix, self._now()
        )
        self._batch.snapshots.append(row)
        self._snapshot_turns.add(key)
        if kind == "periodic":
            self._snapshot_due = False
        # The turn the state follows carries its hash, when that turn is still in the buffer.
        turns = self._batch.turns
        if turns and turns[-1][1] == self._next_seq - 1 and turns[-1][8] is None:
            turns[-1] = (*turns[-1][:8], digest, *turns[-1][9:])
        return digest


def _model_key(model: Any) -> Any:
    """What a model argument is cached by: its id for an LLMModel, else the argument."""
    return model.id if isinstance(model, LLMModel) else model


# record_turn already holds the lock: it appends its calls and actions without taking it again.
_append_llm_call = GameBuffer.record_llm_call.__wrapped__  # type: ignore[attr-defined]
_append_action = GameBuffer.record_action.__wrapped__  # type: ignore[attr-defined]
