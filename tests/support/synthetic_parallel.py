"""`build_arena(workers=N)`: N forked processes write consecutive id ranges of one arena at once.

A 300,000-game arena takes about an hour from one process; the generation (Python) and the
COPYs (the server) of several processes overlap. Each part has its own random stream (derived
from the seed and the part's number) and its own agents' rating walk from 25; the parent sums
the walks' changes into the ratings it writes. Ranges are consecutive days, so the parts'
usage-rollup upserts meet only on the day at each boundary.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from sqlalchemy.engine import Engine

# What the forked children inherit: the engine, the catalog and the part builder.
_INHERITED: dict[str, Any] = {}


def build_in_parallel(
    build_part: Callable[..., tuple[dict[int, float], dict[int, list[int]]]],
    engine: Engine,
    catalog: Any,
    part: Any,
    workers: int,
    summary: Any,
) -> tuple[dict[int, float], dict[int, list[int]]]:
    """Build `part` in `workers` sub-parts at once; the merged mu and game counts per agent."""
    games = part.stop - part.start
    bounds = [part.start + games * w // workers for w in range(workers + 1)]
    parts = [
        replace(part, seed=part.seed * 1_000 + w + 1, start=bounds[w], stop=bounds[w + 1])
        for w in range(workers)
    ]
    _INHERITED.update(engine=engine, catalog=catalog, build_part=build_part, summary=summary)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_child, parts)
    finally:
        _INHERITED.clear()
    mu = {agent[0]: 25.0 for agent in catalog.agents}
    record = {agent[0]: [0, 0, 0, 0] for agent in catalog.agents}
    for part_mu, part_record, counts in results:
        for agent_id, value in part_mu.items():
            mu[agent_id] += value - 25.0
            record[agent_id] = [
                a + b for a, b in zip(record[agent_id], part_record[agent_id], strict=True)
            ]
        for name, value in counts.items():
            setattr(summary, name, getattr(summary, name) + value)
    return mu, record


def _child(part: Any) -> tuple[dict[int, float], dict[int, list[int]], dict[str, int]]:
    engine: Engine = _INHERITED["engine"]
    engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    counted = type(_INHERITED["summary"])()
    mu, record = _INHERITED["build_part"](engine, _INHERITED["catalog"], part, counted)
    counts = {
        f.name: getattr(counted, f.name)
        for f in fields(counted)
        if isinstance(getattr(counted, f.name), int)
    }
    return mu, record, counts
