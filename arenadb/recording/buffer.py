"""What a recorder holds between two writes: the current batch, and where the game stands.

`GameBuffer` appends turns, player actions, LLM calls and snapshots to the current batch
(`arenadb.recording.batch.CurrentBatch`: plain tuples already in the driver's format), and keeps
the cursor a game needs to reference them (`arenadb.recording.cursor.TurnCursor`: the next
turn's seq, the last turn's seat, the action index per turn). It touches no database.
`GameRecorder` (`arenadb.recording.recorder`) adds writing a batch and closing the game; a turn
starting when a batch is due calls its `flush()`.

What each row holds is decided by small collaborators, one concern each: an LLM call's row
(`llm_calls.LLMCallRows`), a turn's visibility (`visibility.turn_visibility`), when a periodic
snapshot is due and which snapshots exist (`snapshots.SnapshotSchedule`).

A turn and the LLM calls / actions recorded with it always share a batch, and are appended whole
or not at all.
"""

from __future__ import annotations

import functools
import threading
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from arenadb.db.json import json_text
from arenadb.errors import ConflictError, InvalidDataError
from arenadb.recording.batch import CurrentBatch
from arenadb.recording.context import RecorderContext
from arenadb.recording.cursor import TurnCursor
from arenadb.recording.llm_calls import LLMCallRows
from arenadb.recording.snapshots import SnapshotSchedule
from arenadb.recording.types import JSONValue, StateArg
from arenadb.recording.visibility import turn_visibility

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from arenadb.recording.llm_calls import LLMCall

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
        # Reentrant: record_turn flushes and takes its snapshot through the public methods.
        self.lock = threading.RLock()
        self.closed = False
        self._now = context.writer.now
        self._jsonb_prefix = context.writer.jsonb_prefix
        self._batch = CurrentBatch(
            batch_turns=max(1, int(batch_turns or context.batch_turns)),
            flush_seconds=float(context.flush_seconds if flush_seconds is None else flush_seconds),
            clock=context.clock,
        )
        every = context.snapshot_every if snapshot_every is None else snapshot_every
        self._snapshots = SnapshotSchedule(
            game_id, int(every), self._jsonb_prefix, turns=next_seq, taken=snapshots_taken
        )
        self._llm_call_rows = LLMCallRows(context, game_id)
        self._cursor = TurnCursor(
            game_id, next_seq=next_seq, last_seat=last_turn_seat, action_counts=action_counts
        )
        # False only inside buffer_turn: a due batch is left to the next write.
        self._writes_due_batches = True

    # -- properties -------------------------------------------------------------------------

    @property
    def next_seq(self) -> int:
        """The seq the next recorded turn will get (= the number of turns recorded)."""
        return self._cursor.next_seq

    @property
    def last_seq(self) -> int | None:
        return self._cursor.last_seq

    @property
    def snapshot_every(self) -> int:
        return self._snapshots.every

    def flush(self) -> int:
        """Write the buffered rows (`GameRecorder` does); returns how many were written."""
        raise NotImplementedError

    def next_turn_flushes(self) -> bool:
        """Whether `record_turn` writes the buffer before appending its turn: it holds
        `batch_turns` turns, or the last write is `flush_seconds` old."""
        return self._batch.due()

    def knows_model(self, model: Any) -> bool:
        """Whether an LLM call naming `model` is priced from memory (no lookup to make)."""
        return self._llm_call_rows.knows(model)

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
        if visibility is None and recipients is None:  # the common case, without a call
            visibility, recipients_text = "public", None
        else:
            visibility, recipients_text = turn_visibility(
                visibility, recipients, self.seat_sides, self.game_id, self._jsonb_prefix
            )
        if invalid_reason is not None and valid is None:
            valid = False
        batch = self._batch
        if self._writes_due_batches and batch.due():
            self.flush()
        cursor = self._cursor
        seq, last_seat = cursor.next_seq, cursor.last_seat
        actions_before, calls_before = len(batch.actions), len(batch.llm_calls)
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
        cursor.advance(seat)
        try:
            for call in llm_calls or ():
                batch.llm_calls.append(self._llm_call_rows.row(cursor, call))
            for act in actions or ():
                _append_action(self, **act)
            # Due but nothing to store: it stays due, and the next turn with a state takes it.
            if seq + 1 >= self._snapshots.next_due and state is not None:
                self.snapshot(state() if callable(state) else state)
        except BaseException:
            # A turn is recorded whole or not at all: drop what this call appended.
            batch.drop_last_turn(actions_before, calls_before)
            cursor.back_to(seq, last_seat)
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
        turn_seq, seat = self._cursor.turn_and_seat(turn_seq, seat, "an action")
        idx = self._cursor.action_index(turn_seq, idx)
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
    def record_llm_call(self, **call: Unpack[LLMCall]) -> None:
        """Append one LLM call attempt, by default to the last recorded turn (`turn_seq` None:
        a call outside any turn, e.g. during setup).

        The keywords are `arenadb.recording.llm_calls.LLMCall`'s (request and response JSON,
        model, tokens, cost, status, seat, turn_seq, ...), which also says what is filled in and
        computed: tokens from the `response`, the cost from the model's prices, the latency.
        """
        self._batch.llm_calls.append(self._llm_call_rows.row(self._cursor, call))

    @locked
    def snapshot(self, state: Mapping[str, Any], *, kind: str = "periodic") -> str:
        """Store the full state after the turns recorded so far; returns its sha256.

        Written with the current batch, so a snapshot is never committed without its turns.
        """
        turns = self._cursor.next_seq
        row, digest = self._snapshots.take(turns, kind, state, self._now())
        self._batch.add_snapshot(row, turns, digest)
        return digest


# record_turn already holds the lock: it appends its actions without taking it again.
_append_action = GameBuffer.record_action.__wrapped__  # type: ignore[attr-defined]
