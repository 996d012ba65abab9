"""A Blotto runner killed between two players' submissions (run as a script, not collected).

python pending_worker.py URL    records turn 0 with a snapshot of the state, submits seat 0's
                                move for turn 1, prints "submitted GAME_ID", then waits for a
                                seat 1 that never moves (the parent SIGKILLs it)
"""

from __future__ import annotations

import sys
import time

import arenadb
from arenadb.config import load_settings

STATE = {"round": 1, "fields": ["A", "B", "C"], "score": [0, 0]}


def main(url: str) -> None:
    settings = load_settings(url, environ={})
    with arenadb.connect(settings=settings) as arena:
        arena.register_model("pending-model")
        agents = [
            arena.register_agent(model="pending-model", kind="k", prompt=(f"blotto-{s}", "go")).id
            for s in range(2)
        ]
        recorder = arena.start_game(
            "ColonelBlotto-v0", [arenadb.Seat(a) for a in agents], snapshot_every=1
        )
        recorder.record_turn(turn_number=0, observation="setup", state=STATE)
        recorder.submit_action(0, "[A10 B5 C5]", payload={"A": 10, "B": 5, "C": 5})
        print(f"submitted {recorder.game_id}", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main(sys.argv[1])
