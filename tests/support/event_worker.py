"""A real engine process for tests/test_events_workers.py (run as a script, not collected).

python event_worker.py URL drain        register, print "ready ID", wait for "go" on stdin,
                                        drain the queue, print a JSON report of its claims
python event_worker.py URL hang SECONDS register, claim one event with a SECONDS lock, print
                                        "claimed EVENT_ID", then hang (the test kills it)
python event_worker.py URL one          register, wait until one event can be claimed
                                        (polling), complete it, print a JSON report
"""

from __future__ import annotations

import json
import sys
import time

from arenadb.config import load_settings
from arenadb.db import create_engine
from arenadb.events import claim_next_event, register_engine, run_worker


def main(url: str, mode: str, *args: str) -> None:
    engine = create_engine(load_settings(url, environ={}))
    me = register_engine(engine, "worker", name=f"{mode}-{time.monotonic_ns()}").id
    claimed: list[int] = []

    def handle(event) -> dict:
        claimed.append(event.id)
        return {"handled_by": str(me)}

    if mode == "drain":
        print(f"ready {me}", flush=True)
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("expected 'go' on stdin")
        report = run_worker(engine, me, handle)
    elif mode == "hang":
        event = claim_next_event(engine, me, lock_seconds=float(args[0]))
        print(f"claimed {event.id if event else None}", flush=True)
        time.sleep(3600)  # mid-event: the test SIGKILLs this process here
        return
    elif mode == "one":
        report = run_worker(engine, me, handle, max_events=1, idle_timeout=30, poll_interval=0.05)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps({"engine": str(me), "claimed": claimed, "completed": report.completed}))
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
