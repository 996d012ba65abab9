"""The recorder for asyncio runners: `AsyncArena.start_game(...)` -> `AsyncGameRecorder`.

It wraps a `GameRecorder` and keeps its rules: every method is the sync one, awaited. What
decides where a call runs is whether it may touch the database:
- buffering a turn (and its LLM calls, actions, snapshot) is memory work, done on the event
  loop at once, when the recorder's lock is free (the flusher thread is not writing this game),
  the buffer is not due (`next_turn_flushes`) and every LLM call's model is priced from memory;
- anything else (a turn that writes a due batch first, a model to look up, `flush`, `finish`,
  `abort`, `fail`, `close`, `submit_action`, `resolve_turn`) runs on the AsyncArena's threads
  (`arenadb.off_loop`), so a batch being written never blocks the other games.
Batches still go out in the background within `flush_seconds` (the Arena's flusher thread).

Cancellation: a task cancelled while it awaits one of these calls leaves the game at its last
committed batch, since a batch is one transaction. A call already running on a thread runs to
its end before the task sees `CancelledError` (one that had not started never runs), so the
recorder is never left half-way: it is as if the call had completed, or not happened. Turns
buffered but not written stay buffered; the recorder can go on (`record_turn`, `finish`), or
be dropped: its buffer is then written by the flusher within `flush_seconds`, unless
`abort(..., keep_buffered=False)` discards it. Used as `async with`, it ends like the sync
recorder's `with`: an exception fails the game; a normal exit, or a cancellation, writes the
buffer and leaves the game running (resumable).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from typing import Any, Concatenate, ParamSpec, TypeVar

from arenadb.off_loop import run_in_thread, threaded
from arenadb.recording.pending import Submission
from arenadb.recording.recorder import GameRecorder
from arenadb.recording.types import RecorderStats

P = ParamSpec("P")
R = TypeVar("R")


def _turn_may_touch_database(recorder: GameRecorder, turn: Mapping[str, Any]) -> bool:
    calls = turn.get("llm_calls") or ()
    if not isinstance(calls, (list, tuple)):
        return True  # an iterator can be read once: the thread reads it
    return recorder.next_turn_flushes() or not all(
        recorder.knows_model(call.get("model")) for call in calls
    )


def _call_may_touch_database(recorder: GameRecorder, call: Mapping[str, Any]) -> bool:
    return not recorder.knows_model(call.get("model"))


def _in_memory(
    method: Callable[Concatenate[GameRecorder, P], R],
    *,
    on_loop: Callable[..., R] | None = None,
    may_touch_database: Callable[[GameRecorder, Mapping[str, Any]], bool] | None = None,
) -> Callable[Concatenate[AsyncGameRecorder, P], Coroutine[Any, Any, R]]:
    """The coroutine twin of a buffering method: on the loop (`on_loop`, default the method
    itself) when the lock is free and `may_touch_database` says no, else on a thread."""
    run_on_loop = on_loop or method

    async def buffered(self: AsyncGameRecorder, /, *args: P.args, **kwargs: P.kwargs) -> R:
        recorder = self.sync
        # Never wait for the lock on the loop: the flusher may hold it while it writes.
        if recorder.lock.acquire(blocking=False):
            try:
                if may_touch_database is None or not may_touch_database(recorder, kwargs):
                    return run_on_loop(recorder, *args, **kwargs)
            finally:
                recorder.lock.release()
        return await run_in_thread(self.executor, method, recorder, *args, **kwargs)

    buffered.__name__ = method.__name__
    buffered.__qualname__ = f"AsyncGameRecorder.{method.__name__}"
    buffered.__doc__ = method.__doc__
    return buffered


class AsyncGameRecorder:
    """Records one game from asyncio: `GameRecorder`'s methods as coroutines (one task at a
    time per recorder). `sync` is the GameRecorder it drives."""

    def __init__(self, recorder: GameRecorder, executor: Callable[[], Executor]) -> None:
        """`executor`: the threads of the AsyncArena (a function: it may open new ones)."""
        self.sync = recorder
        self._executor = executor

    @property
    def executor(self) -> Executor:
        return self._executor()

    def __repr__(self) -> str:
        return f"<AsyncGameRecorder game={self.game_id} next_seq={self.next_seq}>"

    # -- where the game stands (the sync recorder's) ----------------------------------------

    @property
    def game_id(self) -> int:
        return self.sync.game_id

    @property
    def uuid(self) -> uuid_module.UUID:
        return self.sync.uuid

    @property
    def next_seq(self) -> int:
        return self.sync.next_seq

    @property
    def last_seq(self) -> int | None:
        return self.sync.last_seq

    @property
    def pending_rows(self) -> int:
        return self.sync.pending_rows

    @property
    def stats(self) -> RecorderStats:
        return self.sync.stats

    @property
    def closed(self) -> bool:
        return self.sync.closed

    def pending_actions(self, turn_number: int | None = None) -> list[Submission]:
        return self.sync.pending_actions(turn_number)

    # -- buffering: on the loop unless it may touch the database ----------------------------

    record_turn = _in_memory(
        GameRecorder.record_turn,
        on_loop=GameRecorder.buffer_turn,
        may_touch_database=_turn_may_touch_database,
    )
    record_llm_call = _in_memory(
        GameRecorder.record_llm_call, may_touch_database=_call_may_touch_database
    )
    record_action = _in_memory(GameRecorder.record_action)
    snapshot = _in_memory(GameRecorder.snapshot)

    # -- writing: always on a thread ---------------------------------------------------------

    flush = threaded(GameRecorder.flush)
    finish = threaded(GameRecorder.finish)
    abort = threaded(GameRecorder.abort)
    fail = threaded(GameRecorder.fail)
    close = threaded(GameRecorder.close)
    submit_action = threaded(GameRecorder.submit_action)
    resolve_turn = threaded(GameRecorder.resolve_turn)
    _exit = threaded(GameRecorder.__exit__)

    async def __aenter__(self) -> AsyncGameRecorder:
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        await self._exit(exc_type, exc, tb)
