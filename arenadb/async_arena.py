"""The library entry point for asyncio runners: `arenadb.connect_async()` -> `AsyncArena`.

    import asyncio
    import arenadb

    async def main():
        async with arenadb.connect_async("sqlite:///arena.db") as arena:
            agent = await arena.register_agent(model="gpt-4o-mini", kind="plain",
                                               prompt=("mafia", "You are playing..."))
            game = await arena.start_game("SecretMafia-v0", [agent] * 6)
            await game.record_turn(seat=0, action="[vote] 3", state=env_state)
            await game.finish(outcome="win", winning_side="village")

    asyncio.run(main())

An `AsyncArena` drives an `Arena` (`sync`): registration, start_game, resume and the read side
are its methods as coroutines, each run on one of a few threads the AsyncArena owns
(`arenadb.off_loop`), never on the event loop; recording is `AsyncGameRecorder`
(`arenadb.recording.async_recorder`), which buffers turns on the loop and writes on the threads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from arenadb.arena import Arena, connect
from arenadb.config import Settings
from arenadb.off_loop import run_in_thread, threaded
from arenadb.recording.async_recorder import AsyncGameRecorder
from arenadb.recording.lifecycle import ResumePoint
from arenadb.recording.recorder import GameRecorder

P = ParamSpec("P")
R = TypeVar("R")
W = TypeVar("W")


def connect_async(url: str | None = None, *, threads: int = 4, **options: Any) -> AsyncArena:
    """An `AsyncArena` on `url`: `arenadb.connect`'s arguments (settings, read_url, batch policy,
    engine options), plus `threads`, how many calls may touch the database at once (batches
    still go out one at a time, through the Arena's batch connection)."""
    return AsyncArena(connect(url, **options), threads=threads)


def _recording(
    method: Callable[Concatenate[Arena, P], R],
    wrap: Callable[[AsyncArena, R], W],
) -> Callable[Concatenate[AsyncArena, P], Coroutine[Any, Any, W]]:
    """The coroutine twin of an Arena method returning a recorder, wrapped by `wrap`."""

    async def in_thread(self: AsyncArena, /, *args: P.args, **kwargs: P.kwargs) -> W:
        return wrap(self, await run_in_thread(self.executor, method, self.sync, *args, **kwargs))

    in_thread.__name__ = method.__name__
    in_thread.__doc__ = method.__doc__
    return in_thread


def _async_recorder(arena: AsyncArena, recorder: GameRecorder) -> AsyncGameRecorder:
    return AsyncGameRecorder(recorder, lambda: arena.executor)


def _async_resume_point(
    arena: AsyncArena, point: ResumePoint[GameRecorder]
) -> ResumePoint[AsyncGameRecorder]:
    recorder = point.recorder
    fields = {f.name: getattr(point, f.name) for f in dataclasses.fields(point)}
    fields["recorder"] = None if recorder is None else _async_recorder(arena, recorder)
    return ResumePoint(**fields)


class AsyncArena:
    """A connection to an arena database for asyncio code: `Arena`'s methods as coroutines."""

    def __init__(self, arena: Arena, *, threads: int = 4) -> None:
        self.sync = arena
        self._threads = max(1, threads)
        self._executor: ThreadPoolExecutor | None = None

    @property
    def settings(self) -> Settings:
        return self.sync.settings

    @property
    def executor(self) -> Executor:
        """The threads this AsyncArena's database calls run on (started on first use)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="arenadb-async")
        return self._executor

    async def close(self) -> None:
        """Release the connections and the threads (both come back if the arena is used again)."""
        await run_in_thread(self.executor, self.sync.close)
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    async def __aenter__(self) -> AsyncArena:
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<AsyncArena {self.settings.masked_url}>"

    # -- registration and lookups -----------------------------------------------------------

    register_model = threaded(Arena.register_model)
    register_kind = threaded(Arena.register_kind)
    register_prompt = threaded(Arena.register_prompt)
    register_game_type = threaded(Arena.register_game_type)
    register_agent = threaded(Arena.register_agent)
    game_type_id = threaded(Arena.game_type_id)
    model_id = threaded(Arena.model_id)

    # -- recording --------------------------------------------------------------------------

    start_game = _recording(Arena.start_game, _async_recorder)
    resume = _recording(Arena.resume, _async_resume_point)

    # -- the read side (arenadb.inspection.library) ----------------------------------------

    active_models = threaded(Arena.active_models)
    active_kinds = threaded(Arena.active_kinds)
    active_prompts = threaded(Arena.active_prompts)
    random_agents = threaded(Arena.random_agents)
    games = threaded(Arena.games)
    game = threaded(Arena.game)
    turns = threaded(Arena.turns)
    llm_calls = threaded(Arena.llm_calls)
