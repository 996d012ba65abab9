"""Calling the synchronous API from asyncio: its blocking calls run on threads, never on the loop.

`run_in_thread` is the one way the async facade (`arenadb.async_arena`) and the async recorder
(`arenadb.recording.async_recorder`) call a method that may touch the database; `threaded`
makes the async twin of such a method, with the sync method's signature and docstring, so the
rules (validation, batching, transactions, errors) stay in the sync code, once.

Why threads and not psycopg's async mode: one code path on both backends (SQLite has no async
driver worth the name), the sync recorder's rules and its binary COPY writer reused as they
are, and a write blocks only the thread that runs it. The writes of one Arena go through its
single batch connection anyway, one batch at a time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


async def run_in_thread(
    executor: Executor, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """`function(*args, **kwargs)` on one of `executor`'s threads, awaited to its end.

    A thread cannot be interrupted mid-call. When the awaiting task is cancelled, a call that
    has not started yet is dropped (it never runs); a call already running runs to its end (a
    batch commits whole or rolls back whole) and the cancellation is raised after it, so that
    nothing still runs on behalf of the task once its cancellation is seen.
    """
    started = executor.submit(function, *args, **kwargs)
    future = asyncio.wrap_future(started)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if started.cancel():
            raise
        while not future.done():
            try:
                await asyncio.wait((future,))
            except asyncio.CancelledError:
                continue  # cancelled again: still wait, the call holds the recorder
        if not future.cancelled():
            future.exception()  # retrieved: the task reports its cancellation, not this
        raise


class OffLoop(Protocol):
    """An async twin of a sync object: the object and the executor its calls run on."""

    @property
    def sync(self) -> Any: ...

    @property
    def executor(self) -> Executor: ...


Owner = TypeVar("Owner", bound=OffLoop)


def threaded(
    method: Callable[Concatenate[Any, P], R],
) -> Callable[Concatenate[Owner, P], Coroutine[Any, Any, R]]:
    """The coroutine twin of `method` (a method of the sync object): it runs on a thread."""

    async def in_thread(self: Owner, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await run_in_thread(self.executor, method, self.sync, *args, **kwargs)

    functools.update_wrapper(in_thread, method)
    return in_thread
