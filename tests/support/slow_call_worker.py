"""An arena runner stuck in a slow LLM call (run as a script by tests/processes, not collected).

python slow_call_worker.py URL FLUSH_SECONDS
    records one turn (with its LLM call), prints "calling GAME", then sleeps as a slow LLM call
    would: the parent kills it with SIGKILL and expects the turn to be committed.
"""

from __future__ import annotations

import sys
import time

import arenadb
from arenadb.config import load_settings


def main(url: str, flush_seconds: float) -> None:
    settings = load_settings(url, environ={})
    arena = arenadb.connect(settings=settings, flush_seconds=flush_seconds)
    arena.register_model("slow-model", input_price_per_mtok=1.0, output_price_per_mtok=2.0)
    agents = [
        arena.register_agent(model="slow-model", kind="slow", prompt=("slow", f"prompt {s}"))
        for s in range(2)
    ]
    recorder = arena.start_game("Slow-v0", [arenadb.Seat(a) for a in agents], rated=False)
    # The first turn goes through the recorder's own "due" path (its last write, the start,
    # is older than flush_seconds once the first call returns); the second only the flusher's.
    time.sleep(flush_seconds * 1.5)
    recorder.record_turn(seat=0, action="bet", llm_calls=[{"model": "slow-model"}])
    recorder.record_turn(
        seat=1,
        action="call",
        llm_calls=[{"model": "slow-model", "input_tokens": 10, "output_tokens": 2}],
    )
    print(f"calling {recorder.game_id}", flush=True)
    time.sleep(600)  # the next LLM call: slow (the parent kills us here)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
