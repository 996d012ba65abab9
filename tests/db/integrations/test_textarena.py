"""Real TextArena games (textarena 0.7.4, no network) recorded through the integration, on both
backends: turns, recipients, invalid moves, results, crashes and the agents' LLM calls."""

from __future__ import annotations

import random
from typing import Any

import pytest

import arenadb
from arenadb.config import Settings

ta = pytest.importorskip("textarena")
from arenadb.integrations.textarena import RecordedAgent, record  # noqa: E402
from arenadb.integrations.textarena.loader import base_env  # noqa: E402

# env id, players, the replies the fake agents pick from (valid and invalid moves)
GAMES = [
    ("SecretMafia-v0", 6, ["[1]", "[2]", "I suspect [3]", "[4]", "[0]", "no idea"]),
    ("ColonelBlotto-v0", 2, ["[A7 B7 C6]", "[A20 B0 C0]", "[A1 B1 C1]", "attack"]),
    ("ThreePlayerIPD-v0", 3, ["hi", "[1 cooperate] [2 defect]", "[0 defect] [2 defect]"]),
    ("KuhnPoker-v0", 2, ["[check]", "[bet]", "[call]", "[fold]"]),
    ("TicTacToe-v0", 2, [f"[{i}]" for i in range(9)]),
    # Needs NLTK word lists downloaded at reset: skipped offline.
    ("Codenames-v0", 4, ["[pass]"]),
]


class FixedAgent(ta.Agent):
    """A TextArena agent that answers from a fixed list (seeded), without any network."""

    def __init__(self, replies: list[str], seed: int) -> None:
        self.replies = replies
        self.random = random.Random(seed)
        self.model_name = "fake-llm"
        self.system_prompt = "play"

    def __call__(self, observation: str) -> str:
        return self.random.choice(self.replies)


@pytest.fixture
def arena(db_settings: Settings):
    with arenadb.connect(settings=db_settings) as arena:
        arena.register_model("fake-llm", provider="fake")
        yield arena


def make_or_skip(env_id: str, players: int) -> Any:
    """A made environment that resets offline, or a skip that says why it cannot."""
    try:
        probe = ta.make(env_id)
        probe.reset(num_players=players, seed=1)
    except (LookupError, OSError, ImportError) as exc:
        pytest.skip(f"{env_id} needs a download or a package: {type(exc).__name__}")
    return ta.make(env_id)


def play(arena: Any, env_id: str, players: int, replies: list[str], seed: int = 1) -> Any:
    agents = [
        arena.register_agent(model="fake-llm", kind="textarena", prompt=("p", f"seat {i}"))
        for i in range(players)
    ]
    env = record(make_or_skip(env_id, players), arena, agents, snapshot_every=5)
    env.reset(num_players=players, seed=seed)
    brains = [RecordedAgent(FixedAgent(replies, seed + i), env) for i in range(players)]
    done, steps = False, 0
    while not done:
        player_id, observation = env.get_observation()
        done, _info = env.step(brains[player_id](observation))
        steps += 1
        assert steps < 500
    rewards, game_info = env.close()
    return env, rewards, game_info, steps


@pytest.mark.parametrize(("env_id", "players", "replies"), GAMES, ids=[g[0] for g in GAMES])
def test_a_textarena_game_is_recorded_whole(arena, env_id, players, replies):
    env, rewards, game_info, steps = play(arena, env_id, players, replies)
    game = arena.game(env.game_id)
    assert game.status == "completed" and game.game_type.env_id == env_id
    assert game.game_type.min_seats <= players <= game.game_type.max_seats
    assert game.info["textarena"]["version"] == ta.__version__
    turns = arena.turns(env.game_id, with_actions=False)
    moves = [t for t in turns if t.seat is not None]
    assert len(moves) == steps
    assert all(t.action is not None and t.valid is not None for t in moves)
    assert all(t.seat is None and t.observation for t in turns if t not in moves)
    # Invalid moves: reason recorded, seat counts equal the turns.
    for t in moves:
        assert (t.valid is False) == (t.invalid_reason is not None)
    by_seat = {p.seat: p for p in game.players}
    for seat, player in by_seat.items():
        assert player.invalid_moves == sum(1 for t in moves if t.seat == seat and not t.valid)
        assert player.reward == pytest.approx(float(rewards[seat]))
        assert player.info["turn_count"] == game_info[seat]["turn_count"]
    best = max(rewards.values())
    assert game.outcome == ("draw" if len(set(rewards.values())) == 1 else "win")
    assert {s for s, p in by_seat.items() if p.rank == 1} == {
        s for s, r in rewards.items() if r == best
    }
    # Every prompt went to one player: the first turns are private, one per player.
    prompts = [t for t in turns[:players] if t.seat is None]
    assert [t.recipients for t in prompts] == [[i] for i in range(players)]
    assert {t.visibility for t in turns} <= {"public", "private"}
    calls = arena.llm_calls(env.game_id, moves[0].seq)
    assert len(calls) == 1 and calls[0].request_model == "fake-llm"
    assert (
        calls[0].response == {"text": moves[0].action.strip("[]").join("[]")} or calls[0].response
    )
    assert calls[0].input_tokens is None and calls[0].seat == moves[0].seat


def test_secret_mafia_keeps_night_secrets_private(arena):
    env, rewards, _info, _steps = play(arena, "SecretMafia-v0", 6, GAMES[0][2])
    base = base_env(env.env)
    roles = base.player_roles
    mafia = sorted(p for p, r in roles.items() if r == "Mafia")
    game = arena.game(env.game_id)
    assert {p.seat: p.role for p in game.players} == roles
    assert {p.seat: p.side for p in game.players} == {
        p: ("Mafia" if r == "Mafia" else "Village") for p, r in roles.items()
    }
    winners = {p for p, r in rewards.items() if r == 1}
    assert game.winning_side == ("Mafia" if winners == set(mafia) else "Village")
    game_type = game.game_type
    assert set(game_type.sides) == {"Mafia", "Village"}
    assert {"Mafia", "Villager", "Doctor", "Detective"} <= set(game_type.roles)
    assert game_type.config["mafia_ratio"] == 0.25
    turns = arena.turns(env.game_id)
    night_votes = [t for t in turns if t.seat in mafia and t.phase == "Night-Mafia" and t.valid]
    assert night_votes and all(t.recipients == mafia for t in night_votes)
    findings = [t for t in turns if t.observation and " a Mafia member." in t.observation]
    detective = next(p for p, r in roles.items() if r == "Detective")
    assert all(t.recipients == [detective] for t in findings)
    eliminated = [p for p in game.players if p.eliminated_turn is not None]
    assert eliminated and all(0 <= p.eliminated_turn < len(turns) for p in eliminated)


class BrokenEnv(ta.Env):
    """A two-player environment whose third step raises, as a buggy game would."""

    def reset(self, num_players: int, seed: int | None = None) -> None:
        self.state = ta.TwoPlayerState(num_players=num_players, seed=seed)
        self.state.reset(game_state={"moves": 0}, player_prompt_function=lambda **_: "go")

    def step(self, action: str) -> Any:
        self.state.game_state["moves"] += 1
        if self.state.game_state["moves"] == 3:
            raise RuntimeError("board exploded")
        self.state.add_observation(
            from_id=self.state.current_player_id,
            message=action,
            observation_type=ta.ObservationType.PLAYER_ACTION,
        )
        return self.state.step()


def test_an_environment_crash_fails_the_game_and_is_reraised(arena):
    agents = [
        arena.register_agent(model="fake-llm", kind="textarena", prompt=("p", f"seat {i}"))
        for i in range(2)
    ]
    env = record(BrokenEnv(), arena, agents, game_type="Broken-v0")
    env.reset(num_players=2, seed=3)
    env.step("a")
    env.step("b")
    with pytest.raises(RuntimeError, match="board exploded"):
        env.step("c")
    game = arena.game(env.game_id)
    assert (game.status, game.environment_crashed, game.outcome) == ("failed", True, "no_contest")
    assert game.error == "RuntimeError: board exploded"
    turns = arena.turns(env.game_id)
    assert [t.action for t in turns if t.seat is not None] == ["a", "b"]
    assert [t.visibility for t in turns if t.seat is not None] == ["public", "public"]


def test_the_cli_shows_winner_ranks_and_what_a_seat_saw(arena, cli_env):
    import json

    from typer.testing import CliRunner

    from arenadb.cli import app

    runner = CliRunner()
    mafia_game, rewards, _info, _steps = play(arena, "SecretMafia-v0", 6, GAMES[0][2])
    duel, duel_rewards, _info, _steps = play(arena, "KuhnPoker-v0", 2, GAMES[3][2])

    listed = runner.invoke(app, ["games", "list", "--json"], env=cli_env)
    assert listed.exit_code == 0, listed.output
    winners = {g["id"]: g["winner"] for g in json.loads(listed.stdout)}
    assert winners[mafia_game.game_id] == arena.game(mafia_game.game_id).winning_side
    best = max(duel_rewards, key=lambda p: duel_rewards[p])
    winner_agent = arena.game(duel.game_id).players[best].agent_id
    assert winners[duel.game_id] == f"agent {winner_agent}"
    csv_out = runner.invoke(app, ["games", "list", "--csv"], env=cli_env)
    assert "winner" in csv_out.stdout.splitlines()[0]

    info = runner.invoke(app, ["game", "info", str(mafia_game.game_id), "--json"], env=cli_env)
    seats = json.loads(info.stdout)["seats"]
    assert [s["rank"] for s in seats] == [
        1 if rewards[s["seat"]] == max(rewards.values()) else 3 for s in seats
    ]
    assert all("turn_count" in s["info"] for s in seats)
    table = runner.invoke(app, ["game", "info", str(mafia_game.game_id)], env=cli_env)
    assert "rank" in table.stdout and "eliminated" in table.stdout

    game = arena.game(mafia_game.game_id)
    mafia = [p.seat for p in game.players if p.role == "Mafia"]
    villager = next(p.seat for p in game.players if p.side == "Village")
    seen = runner.invoke(
        app, ["game", "replay", str(game.id), "--as-seat", str(villager), "--json"], env=cli_env
    )
    assert seen.exit_code == 0, seen.output
    turns = json.loads(seen.stdout)["turns"]
    everything = arena.turns(game.id)
    assert 0 < len(turns) < len(everything)
    for turn in turns:
        assert (
            turn["visibility"] == "public"
            or villager in turn["recipients"]
            or (turn["seat"] == villager)
        )
    assert not any(t["recipients"] == mafia for t in turns)
    shown = runner.invoke(
        app, ["game", "replay", str(game.id), "--as-seat", "9", "--no-pager"], env=cli_env
    )
    assert shown.exit_code == 1 and "no seat 9" in shown.stderr
