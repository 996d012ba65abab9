"""A process that get-or-creates the same users and catalog rows as three others, at once.

python registration_worker.py URL GO_FILE COUNT    waits for GO_FILE, then registers COUNT users
                                                  (external ids "ext-0".."ext-N", one
                                                  transaction each) and COUNT agents of new
                                                  models, kinds and prompts, and prints
                                                  "USER_ID AGENT_ID" per row
"""

from __future__ import annotations

import os
import sys
import time

import arenadb
from arenadb.catalog.registration import register_prompt
from arenadb.config import load_settings
from arenadb.db import session_scope
from arenadb.social.users import get_or_create_user_by_external_id


def main(url: str, go_file: str, count: int) -> None:
    settings = load_settings(database_url=url)
    with arenadb.connect(settings=settings) as arena:
        engine = arena.engine
        deadline = time.monotonic() + 60
        while not os.path.exists(go_file) and time.monotonic() < deadline:
            time.sleep(0.005)
        for n in range(count):
            with session_scope(engine, write=True) as session:
                user, _created = get_or_create_user_by_external_id(
                    session, f"ext-{n}", email=f"user{n}@example.org", name=f"User {n}"
                )
                user_id = user.id
            with session_scope(engine, write=True) as session:
                from arenadb.catalog.registration import get_or_create_agent

                prompt = register_prompt(session, f"race-{n}", f"prompt text {n}")
                agent = get_or_create_agent(
                    session, kind=f"kind-{n}", model=f"model-{n}", prompt=prompt.id
                )
                agent_id = agent.id
            print(user_id, agent_id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
