"""Record TextArena games without glue: wrap the environment (and, optionally, its agents).

    import textarena as ta
    from arenadb.integrations.textarena import RecordedAgent, record

    env = record(ta.make("SecretMafia-v0"), arena, seats=[agent_id] * 6)
    env.reset(num_players=6, seed=7)          # roles dealt, then the game is started
    players = [RecordedAgent(MyAgent(), env, model="gpt-4o-mini") for _ in range(6)]
    done = False
    while not done:
        player_id, observation = env.get_observation()
        done, _info = env.step(players[player_id](observation))
    rewards, game_info = env.close()          # the game is finished: outcome, ranks, ...

What is recorded: the game type (env id, seats, sides, roles, the env's kwargs as config), one
turn per step (the acting seat, the action as the environment received it, validity and the
invalid-move reason), one seatless turn per message the environment sent (public, or private to
its recipients), periodic snapshots of the game state, and at `close()` the rewards, outcome,
winning side, ranks, eliminations and invalid moves. An exception inside the environment
finishes the game as failed with `environment_crashed` and the error, and is re-raised.
Needs `textarena` (`pip install arenadb[textarena]`).
"""

from __future__ import annotations

from arenadb.integrations.textarena.agent import RecordedAgent
from arenadb.integrations.textarena.env import RecordedEnv, record

__all__ = ["RecordedAgent", "RecordedEnv", "record"]
