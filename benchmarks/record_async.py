"""Benchmark: 64 games recorded concurrently in one event loop (`arenadb.connect_async`) against
the sync recorder, and how long the loop stalls while batches are written.

Workload: benchmarks/record.py's generator (default 64 games of 6 seats x 20 rounds, one LLM
call per turn, ~3.6 KB per turn, a snapshot every 10 turns, a finished game with results), the
inputs built before timing and shared by every method. Each measurement gets a fresh database
migrated to head (SQLite always, PostgreSQL when ARENADB_BENCH_POSTGRES_URL is set: throwaway
`arenadb_bench_*` databases), and its row counts are checked afterwards.

Methods:
- sync:    record.py's `run_api`: `arenadb.connect()`, the games one after the other;
- async:   `arenadb.connect_async()`, the 64 games as 64 tasks of one loop, each awaiting
           `record_turn` and then `asyncio.sleep(0)` (its LLM call, answered at once) so the
           games interleave; default batch policy (1000 turns or 1 s). Throughput: rows/s
           against sync's, best of --repeat, interleaved;
- paced:   the same async games with an LLM call of ~--pace-ms each (a jittered sleep), so the
           loop has idle time as in a real runner and the batches (the flusher's every second,
           and each finish) are written while the other games play. A probe task sleeps 1 ms in
           a loop and records how late it wakes: the loop's stalls. `paced_sync` is the same
           with the sync recorder called from the loop, the stall arenadb.connect() causes
           there; `paced_bare` the same games recording nothing, the lateness this machine
           and the loop's own work cause without arenadb. Printed: p50 / p99 / max lateness.
           The three paced runs are repeated --lag-rounds times, interleaved; the table gives
           each p99's median and range over the rounds.

A busy machine's other processes delay the loop's wake-ups by more than arenadb does (on a
2-core machine at load 10, the floor's p99 is 2 to 7 ms); `--realtime` runs the benchmark
under SCHED_FIFO, where only this process's own threads compete with the loop.

The last line is:
    sqlite_async_vs_sync=X sqlite_loop_lag_p99_ms=Y postgresql_async_vs_sync=.. ...

    python benchmarks/record_async.py
    python benchmarks/record_async.py --realtime --repeat 1    # the loop's stalls alone
    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/record_async.py
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import functools
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import (
    PG_ENV,
    Databases,
    GameInput,
    Turn,
    Workload,
    make_workload,
    measure,
    register,
    run_api,
    verify,
)

import arenadb
from arenadb.config import Settings
from arenadb.db.batch_connection import BatchConnection

PROBE_SECONDS = 0.001


def _turn_keywords(t: Turn, model_id: int) -> dict[str, Any]:
    """What run_api passes to record_turn, for the same rows."""
    return {
        "seat": t.seat,
        "turn_number": t.round,
        "observation": t.observation,
        "action": t.action,
        "valid": True,
        "state": t.state,
        "llm_calls": [
            {
                "model": model_id,
                "request_model": "bench-model",
                "request": t.request,
                "response": t.response,
                "input_tokens": t.input_tokens,
                "output_tokens": t.output_tokens,
                "started_at": t.started_at,
                "finished_at": t.finished_at,
                "finish_reason": "stop",
            }
        ],
    }


def _finish_keywords(game: GameInput) -> dict[str, Any]:
    return {
        "outcome": "win",
        "winning_side": game.winning_side,
        "results": {s: arenadb.SeatResult(reward=r) for s, r in enumerate(game.rewards)},
    }


def _seats(game: GameInput, agents: list[int]) -> list[arenadb.Seat]:
    return [arenadb.Seat(agents[s], side=side) for s, side in enumerate(game.sides)]


# (start, end) of every batch transaction, by time.perf_counter, from whichever thread ran it.
WRITES: list[tuple[float, float]] = []


def time_the_writes() -> None:
    """Note when each batch transaction runs (BatchConnection.run / run_session)."""
    for name in ("run", "run_session"):
        original = getattr(BatchConnection, name)

        def timed(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                WRITES.append((start, time.perf_counter()))

        setattr(BatchConnection, name, timed)


class LoopLagProbe:
    """A task that sleeps PROBE_SECONDS in a loop and records how late each wake-up is."""

    def __init__(self) -> None:
        self.wakes: list[tuple[float, float]] = []  # (asked to sleep, woke)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            asked = clock()
            await asyncio.sleep(PROBE_SECONDS)
            self.wakes.append((asked, clock()))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def lateness(self, *, during: list[tuple[float, float]] | None = None) -> list[float]:
        """Seconds late of every wake-up, or of those whose sleep began inside an interval of
        `during` (a batch being written), sorted. Selected by where the sleep began, not by
        overlap: a late wake-up overlaps more batches, which would bias the sample."""
        wakes = self.wakes
        if during is not None:
            starts, ends = _merged(during)
            wakes = [
                (asked, woke)
                for asked, woke in wakes
                if (i := bisect.bisect_right(starts, asked) - 1) >= 0 and ends[i] > asked
            ]
        return sorted(woke - asked - PROBE_SECONDS for asked, woke in wakes)


def _merged(intervals: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Disjoint sorted intervals covering `intervals`, as (starts, ends)."""
    starts: list[float] = []
    ends: list[float] = []
    for start, end in sorted(intervals):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _ms(lateness: list[float], q: float) -> float:
    """The q quantile of sorted `lateness`, in ms (0 when empty)."""
    if not lateness:
        return 0.0
    return 1000 * lateness[min(len(lateness) - 1, int(q * len(lateness)))]


async def _play_async(
    arena: arenadb.AsyncArena,
    game: GameInput,
    ids: tuple[int, int, list[int]],
    snapshot_every: int,
    llm_call: Callable[[], Awaitable[None]],
) -> int:
    model_id, type_id, agents = ids
    recorder = await arena.start_game(
        type_id, _seats(game, agents), seed=game.seed, snapshot_every=snapshot_every, rated=False
    )
    for t in game.turns:
        await llm_call()
        await recorder.record_turn(**_turn_keywords(t, model_id))
    await recorder.finish(**_finish_keywords(game))
    return recorder.stats.rows + 1 + len(game.sides)


async def _play_sync_in_loop(
    arena: arenadb.Arena,
    game: GameInput,
    ids: tuple[int, int, list[int]],
    snapshot_every: int,
    llm_call: Callable[[], Awaitable[None]],
) -> int:
    """The same game through the sync recorder called from the loop: its writes block it."""
    model_id, type_id, agents = ids
    recorder = arena.start_game(
        type_id, _seats(game, agents), seed=game.seed, snapshot_every=snapshot_every, rated=False
    )
    for t in game.turns:
        await llm_call()
        recorder.record_turn(**_turn_keywords(t, model_id))
    recorder.finish(**_finish_keywords(game))
    return recorder.stats.rows + 1 + len(game.sides)


async def _play_unrecorded(
    arena: None,
    game: GameInput,
    ids: tuple[int, int, list[int]],
    snapshot_every: int,
    llm_call: Callable[[], Awaitable[None]],
) -> int:
    """The same game's LLM calls and record_turn arguments, recording nothing: the loop's
    lateness without arenadb (this machine's load, the probe's own cost)."""
    for t in game.turns:
        await llm_call()
        _turn_keywords(t, ids[0])
    return 0


def _llm_call(pace: float, seed: int) -> Callable[[], Awaitable[None]]:
    if not pace:
        return lambda: asyncio.sleep(0)
    rng = random.Random(seed)
    return lambda: asyncio.sleep(pace * rng.uniform(0.5, 1.5))


def run_async(
    settings: Settings,
    work: Workload,
    ids: tuple[int, int, list[int]],
    *,
    pace: float = 0.0,
    recorder: str = "async",
    probe: LoopLagProbe | None = None,
    threads: int = 4,
) -> int:
    async def main() -> int:
        if probe is not None:
            probe.start()
        if recorder == "none":
            rows = await asyncio.gather(
                *(
                    _play_unrecorded(None, g, ids, work.snapshot_every, _llm_call(pace, g.seed))
                    for g in work.games
                )
            )
        elif recorder == "sync":
            with arenadb.connect(settings=settings) as arena:
                arena.model_id(ids[0])
                rows = await asyncio.gather(
                    *(
                        _play_sync_in_loop(
                            arena, g, ids, work.snapshot_every, _llm_call(pace, g.seed)
                        )
                        for g in work.games
                    )
                )
        else:
            async with arenadb.connect_async(settings=settings, threads=threads) as arena:
                await arena.model_id(ids[0])
                rows = await asyncio.gather(
                    *(
                        _play_async(arena, g, ids, work.snapshot_every, _llm_call(pace, g.seed))
                        for g in work.games
                    )
                )
        if probe is not None:
            await probe.stop()
        return sum(rows)

    return asyncio.run(main())


def paced_run(
    dbs: Databases,
    backend: str,
    work: Workload,
    fresh: Callable[[], tuple[Settings, tuple[int, int, list[int]]]],
    done: Callable[[Settings], None],
    name: str,
    recorder: str,
    pace: float,
    threads: int,
) -> list[float]:
    """One paced run with the probe: the sorted lateness of its wake-ups (during batches, when
    something is recorded), printed with the batches' durations."""
    settings, ids = fresh()
    probe = LoopLagProbe()
    WRITES.clear()
    started = time.perf_counter()
    run_async(settings, work, ids, pace=pace, recorder=recorder, probe=probe, threads=threads)
    wall = time.perf_counter() - started
    if recorder == "none":
        dbs.drop(settings)
        late = probe.lateness()
    else:
        done(settings)
        late = probe.lateness(during=WRITES)
    batches = sorted(end - start for start, end in WRITES)
    print(
        f"  {backend:<10} {name:<11} {wall:6.2f} s, {len(batches):>4} batches taking "
        f"p50 {_ms(batches, 0.5):.2f} ms p99 {_ms(batches, 0.99):.2f} ms; "
        f"{len(late):>5} of {len(probe.wakes)} probe wake-ups "
        + ("" if recorder == "none" else "during a batch ")
        + f"late p50 {_ms(late, 0.5):.2f} ms p99 {_ms(late, 0.99):.2f} ms "
        f"max {_ms(late, 1):.1f} ms (all wake-ups: p99 {_ms(probe.lateness(), 0.99):.2f} ms; "
        f"load average {os.getloadavg()[0]:.1f})",
        file=sys.stderr,
    )
    return late


def bench_backend(
    dbs: Databases,
    backend: str,
    work: Workload,
    repeat: int,
    pace: float,
    threads: int,
    rounds: int,
) -> dict[str, Any]:
    seats = len(work.games[0].sides)

    def fresh() -> tuple[Settings, tuple[int, int, list[int]]]:
        settings = dbs.fresh(backend)
        os.sync()  # no dirty pages of the previous measurement billed to this one
        return settings, register(settings, seats)

    def done(settings: Settings) -> None:
        verify(settings, len(work.games), work.rows_per_game)
        dbs.drop(settings)

    best: dict[str, float] = {"sync": 0.0, "async": 0.0}
    for _ in range(repeat):
        for name, fn in (
            ("sync", run_api),
            ("async", functools.partial(run_async, threads=threads)),
        ):
            settings, ids = fresh()
            rows, wall, _cpu = measure(fn, settings, work, ids)
            done(settings)
            best[name] = max(best[name], rows / wall)
            print(
                f"  {backend:<10} {name:<11} {len(work.games):>3} games {rows:>7} rows "
                f"{wall:6.2f} s {rows / wall:>9,.0f} rows/s",
                file=sys.stderr,
            )
    # rounds x (name -> sorted lateness): the three paced runs, interleaved, `rounds` times.
    lags: list[dict[str, list[float]]] = []
    for _ in range(rounds):
        lags.append({})
        for name, recorder in (
            ("paced_bare", "none"),
            ("paced", "async"),
            ("paced_sync", "sync"),
        ):
            lags[-1][name] = paced_run(
                dbs, backend, work, fresh, done, name, recorder, pace, threads
            )
    return {"throughput": best, "lags": lags}


def _p99s(rounds: list[dict[str, list[float]]], name: str) -> list[float]:
    return [_ms(lags[name], 0.99) for lags in rounds]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=64)
    parser.add_argument("--seats", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=20, help="turns per seat")
    parser.add_argument("--snapshot-every", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for sync and async")
    parser.add_argument(
        "--pace-ms", type=float, default=100.0, help="mean LLM call of the paced runs"
    )
    parser.add_argument(
        "--switch-interval-ms",
        type=float,
        default=None,
        help="sys.setswitchinterval for the run (default: Python's, 5 ms)",
    )
    parser.add_argument("--threads", type=int, default=4, help="connect_async(threads=...)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--lag-rounds", type=int, default=3, help="times the three paced runs are repeated"
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run under SCHED_FIFO (Linux, needs CAP_SYS_NICE): the other processes of a busy "
        "machine no longer delay the loop, so what is left is this process's own threads",
    )
    args = parser.parse_args(argv)
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1000)
    if args.realtime:
        try:
            # Before any thread starts: the threads arenadb starts inherit the policy.
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except (AttributeError, OSError) as exc:
            print(f"--realtime: cannot run under SCHED_FIFO here: {exc}", file=sys.stderr)
            return 2

    work = make_workload(args.games, args.seats, args.rounds, args.snapshot_every)
    # The inputs live through the run: out of the collector's sight, its full collections
    # (tens of ms over them) are not billed to the loop as stalls.
    gc.freeze()
    time_the_writes()
    pg_url = os.environ.get(PG_ENV) or None
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and pg_url is None:
        print(f"PostgreSQL skipped: set {PG_ENV} to a server URL to measure it", file=sys.stderr)
        backends.remove("postgresql")
    print(
        f"workload: {args.games} concurrent games x {args.seats} seats x {args.rounds} rounds, "
        f"{work.rows_per_game} rows per game; paced LLM calls ~{args.pace_ms:g} ms; "
        f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms; "
        f"{'SCHED_FIFO' if args.realtime else 'default scheduling'}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    dbs = Databases(pg_url)
    table: dict[str, dict[str, Any]] = {}
    try:
        for backend in backends:
            table[backend] = bench_backend(
                dbs,
                backend,
                work,
                args.repeat,
                args.pace_ms / 1000,
                args.threads,
                args.lag_rounds,
            )
    finally:
        dbs.close()

    print(
        f"\n{'backend':<12}{'sync rows/s':>13}{'async rows/s':>14}{'ratio':>7}   "
        f"loop lateness p99 ms, median (min-max) of {args.lag_rounds} rounds: "
        f"no recording | async, during batches | sync in loop, during batches"
    )
    summary = []
    for backend, result in table.items():
        sync, asynchronous = result["throughput"]["sync"], result["throughput"]["async"]
        p99 = {name: _p99s(result["lags"], name) for name in ("paced_bare", "paced", "paced_sync")}
        print(
            f"{backend:<12}{sync:>13,.0f}{asynchronous:>14,.0f}{asynchronous / sync:>7.2f}   "
            + " | ".join(
                f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" for v in p99.values()
            )
        )
        summary.append(
            f"{backend}_async_vs_sync={asynchronous / sync:.2f} "
            f"{backend}_loop_lag_p99_ms={statistics.median(p99['paced']):.2f} "
            f"{backend}_bare_loop_lag_p99_ms={statistics.median(p99['paced_bare']):.2f}"
        )
    print(" ".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
