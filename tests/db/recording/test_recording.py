"""Recording games through the public API, on both backends: rows, batches, snapshots, resume,
finishing, and the read side."""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import arenadb
from arenadb import Seat, SeatResult
from arenadb.config import Settings
from arenadb.db.json import canonical_json, state_hash
from arenadb.db.writer import sqlite_now as _sqlite_now
from arenadb.db.writer import sqlite_timestamp as _sqlite_timestamp
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


@pytest.fixture
def arena(db_settings: Settings):
    with arenadb.connect(settings=db_settings) as arena:
        yield arena


@pytest.fixture
def agents(arena: arenadb.Arena) -> list[arenadb.models.Agent]:
    arena.register_model(
        "gpt-x", provider="openai", input_price_per_mtok=2.0, output_price_per_mtok=8.0
    )
    return [
        arena.register_agent(model="gpt-x", kind="plain", prompt=("mafia", f"prompt {i}"))
        for i in range(3)
    ]


def _seats(agents: list) -> list[Seat]:
    return [
        Seat(agents[0], side="mafia", role="godfather"),
        Seat(agents[1], side="village", role="doctor"),
        Seat(agents[2], side="village"),
    ]


def _count(arena: arenadb.Arena, table: str, game_id: int) -> int:
    # A fresh connection: only committed rows count.
    with arena.engine.connect() as conn:
        return conn.execute(
            sa.text(f"select count(*) from {table} where game_id = :g"), {"g": game_id}
        ).scalar_one()


def test_import_arenadb_stays_light() -> None:
    code = "import sys, arenadb; arenadb.connect; print('sqlalchemy' in sys.modules)"
    bare = "import sys, arenadb; print('sqlalchemy' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", bare], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "True"
    )


def test_canonical_json_and_hash() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'
    assert state_hash({"b": 1, "a": 2}) == state_hash({"a": 2, "b": 1})
    assert len(state_hash({})) == 64
    # Floats jsonb would change on the way back are written in the form it returns.
    assert canonical_json({"x": [1e20, -0.0, 1e-7]}) == '{"x":[100000000000000000000,0.0,1e-07]}'
    with pytest.raises(InvalidDataError, match="not canonical JSON"):
        canonical_json({"x": float("nan")})
    with pytest.raises(InvalidDataError):
        canonical_json({"x": object()})


def test_sqlite_timestamp_text_is_what_isoformat_gives() -> None:
    # The cached formatting must agree with the plain one for any instant and any time zone,
    # including minutes before 1970 and far from the cache's last entry.
    rng = random.Random(7)
    zones = [
        timezone.utc,
        None,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(-timedelta(hours=8)),
    ]
    start = datetime(1900, 1, 1, tzinfo=timezone.utc)
    for _ in range(20_000):
        instant = start + timedelta(microseconds=rng.randrange(0, 250 * 365 * 86_400 * 10**6))
        zone = rng.choice(zones)
        value = instant.replace(tzinfo=None) if zone is None else instant.astimezone(zone)
        assert _sqlite_timestamp(value) == instant.isoformat(" ", "microseconds")[:26], value
    before = datetime.now(timezone.utc).isoformat(" ", "microseconds")[:26]
    now = _sqlite_now()
    after = datetime.now(timezone.utc).isoformat(" ", "microseconds")[:26]
    assert before <= now <= after


def test_an_unrated_game_finishes_with_its_results_and_no_ratings(
    arena: arenadb.Arena, agents: list
) -> None:
    recorder = arena.start_game("SecretMafia-v0", _seats(agents), rated=False)
    recorder.record_turn(seat=0, action="[vote] 1")
    recorder.finish(
        outcome="win",
        winning_side="village",
        results={0: SeatResult(reward=-1.0), 1: SeatResult(reward=1.0, rank=1)},
    )
    game = arena.game(recorder.game_id)
    assert (game.status, game.outcome, game.winning_side, game.rated) == (
        "completed",
        "win",
        "village",
        False,
    )
    assert {p.seat: (p.reward, p.rank) for p in game.players} == {
        0: (-1.0, None),
        1: (1.0, 1),
        2: (None, None),
    }
    assert _count(arena, "game_turns", recorder.game_id) == 1
    assert _count(arena, "rating_events", recorder.game_id) == 0
    with pytest.raises(ConflictError, match="already closed"):
        recorder.finish()


def test_record_a_full_game_writes_every_row(arena: arenadb.Arena, agents: list) -> None:
    game_uuid = uuid.uuid4()
    recorder = arena.start_game(
        "SecretMafia-v0",
        _seats(agents),
        seed=42,
        info={"env": "v0"},
        uuid=game_uuid,
        snapshot_every=2,
        initial_state={"turn": 0},
    )
    assert recorder.uuid == game_uuid
    for seq in range(5):
        recorder.record_turn(
            seat=seq % 3,
            turn_number=seq // 3,
            phase="day",
            observation=f"obs {seq}",
            action=f"[vote] {seq}",
            valid=seq != 4,
            latency_ms=100 + seq,
            state={"turn": seq + 1, "alive": [0, 1, 2]},
            llm_calls=[
                {
                    "model": "gpt-x",
                    "request": {"messages": [{"role": "user", "content": f"turn {seq}"}]},
                    "response": {"choices": [{"message": {"content": "ok"}}]},
                    "started_at": T0,
                    "first_token_at": T0 + timedelta(milliseconds=40),
                    "finished_at": T0 + timedelta(milliseconds=250),
                    "input_tokens": 1000,
                    "output_tokens": 100,
                    "reasoning_tokens": 0,
                    "finish_reason": "stop",
                    "reasoning": "thinking...",
                }
            ],
            actions=[{"action_type": "vote", "payload": {"target": seq}, "valid": True}],
        )
    recorder.record_llm_call(
        status="error", error="timeout after 30 s", attempt=2, request_model="gpt-x"
    )
    recorder.record_action("chat", payload={"text": "hi"}, result={"ok": True})
    recorder.record_llm_call(turn_seq=None, request={"setup": True})
    recorder.finish(
        outcome="win",
        winning_side="village",
        end_reason="mafia eliminated",
        results={
            0: SeatResult(reward=-1, rank=2, eliminated_turn=4),
            1: {"reward": 1, "rank": 1},
            2: {"reward": 1, "rank": 1, "invalid_moves": 1},
        },
        final_state={"turn": 5, "winner": "village"},
        info={"env": "v0", "rounds": 2},
    )
    assert recorder.closed

    game = arena.game(str(game_uuid))
    assert (game.status, game.outcome, game.winning_side, game.end_reason, game.seed) == (
        "completed",
        "win",
        "village",
        "mafia eliminated",
        42,
    )
    assert game.info == {"env": "v0", "rounds": 2}
    assert game.started_at.tzinfo is not None and game.finished_at >= game.started_at
    assert game.environment_crashed is False and game.game_type.env_id == "SecretMafia-v0"
    assert [
        (p.seat, p.side, p.role, p.reward, p.rank, p.eliminated_turn, p.invalid_moves, p.agent_id)
        for p in game.players
    ] == [
        (0, "mafia", "godfather", -1.0, 2, 4, 0, agents[0].id),
        # Seat 1 gave no invalid_moves at finish: counted from its turn recorded valid=False.
        (1, "village", "doctor", 1.0, 1, None, 1, agents[1].id),
        (2, "village", None, 1.0, 1, None, 1, agents[2].id),
    ]

    turns = arena.turns(game.id, with_actions=True)
    assert [(t.seq, t.turn_number, t.seat, t.action, t.valid) for t in turns] == [
        (0, 0, 0, "[vote] 0", True),
        (1, 0, 1, "[vote] 1", True),
        (2, 0, 2, "[vote] 2", True),
        (3, 1, 0, "[vote] 3", True),
        (4, 1, 1, "[vote] 4", False),
    ]
    assert turns[0].observation == "obs 0" and turns[0].phase == "day"
    assert turns[0].latency_ms == 100 and turns[0].created_at.tzinfo is not None
    # Turns after which a snapshot was taken carry its hash (the last one: the final state's).
    assert [t.state_hash is not None for t in turns] == [False, True, False, True, True]
    assert turns[1].state_hash == state_hash({"turn": 2, "alive": [0, 1, 2]})
    assert turns[4].state_hash == state_hash({"turn": 5, "winner": "village"})
    assert [(a.idx, a.action_type, a.payload) for a in turns[4].actions] == [
        (0, "vote", {"target": 4}),
        (1, "chat", {"text": "hi"}),
    ]
    assert turns[4].actions[1].result == {"ok": True}

    calls = arena.llm_calls(game.uuid, 4)
    assert len(calls) == 2
    ok, failed = calls
    assert (ok.seat, ok.model_id, ok.input_tokens, ok.output_tokens, ok.reasoning_tokens) == (
        1,
        agents[0].model_id,
        1000,
        100,
        0,
    )
    assert ok.cache_read_tokens is None  # not reported: NULL, never forced to a number
    assert ok.cost == pytest.approx(1000 * 2.0 / 1e6 + 100 * 8.0 / 1e6)
    assert ok.latency_ms == 250 and ok.started_at == T0
    assert ok.first_token_at == T0 + timedelta(milliseconds=40)
    assert ok.request == {"messages": [{"role": "user", "content": "turn 4"}]}
    assert ok.response["choices"][0]["message"]["content"] == "ok"
    assert (ok.status, ok.finish_reason, ok.reasoning) == ("ok", "stop", "thinking...")
    assert (failed.status, failed.error, failed.attempt, failed.cost) == (
        "error",
        "timeout after 30 s",
        2,
        None,
    )
    assert _count(arena, "llm_calls", game.id) == 7

    with arena.session() as session:
        from arenadb.models import GameSnapshot

        snaps = session.scalars(
            sa.select(GameSnapshot)
            .where(GameSnapshot.game_id == game.id)
            .order_by(GameSnapshot.turn, GameSnapshot.kind)
        ).all()
    assert [(s.turn, s.kind) for s in snaps] == [
        (0, "periodic"),
        (2, "periodic"),
        (4, "periodic"),
        (5, "final"),
    ]
    for snap in snaps:
        assert snap.sha256 == state_hash(snap.state)
        assert snap.size_bytes == len(canonical_json(snap.state).encode())


def test_a_batch_is_written_when_full_and_atomically(arena: arenadb.Arena, agents: list) -> None:
    recorder = arena.start_game("G", agents, batch_turns=3, flush_seconds=3600)
    game_id = recorder.game_id
    assert _count(arena, "game_players", game_id) == 3
    for seq in range(3):
        recorder.record_turn(seat=seq % 3, llm_calls=[{"request": {"n": seq}}])
    assert _count(arena, "game_turns", game_id) == 0  # still buffered
    recorder.record_turn(seat=0)  # starts a new batch: the first three turns are written
    assert _count(arena, "game_turns", game_id) == 3
    assert _count(arena, "llm_calls", game_id) == 3
    assert recorder.stats.batches == 1 and recorder.pending_rows == 1

    # A batch with one bad row (a duplicate action index) fails as a whole: none of it is
    # written.
    recorder.record_turn(seat=1, llm_calls=[{"request": {"n": 4}}])
    recorder.record_action("move", idx=0)
    recorder.record_action("move again", idx=0)
    with pytest.raises(ConflictError, match=f"cannot write a batch of game {game_id}"):
        recorder.flush()
    assert _count(arena, "game_turns", game_id) == 3
    assert _count(arena, "llm_calls", game_id) == 3
    # The buffer is kept; dropping the bad row lets the same batch go through.
    recorder._batch.actions.pop()
    assert recorder.flush() == 4
    assert _count(arena, "game_turns", game_id) == 5


def test_a_slow_game_writes_each_turn_when_the_next_begins(
    arena: arenadb.Arena, agents: list
) -> None:
    recorder = arena.start_game("G", agents, batch_turns=100, flush_seconds=0)
    recorder.record_turn(seat=0)
    recorder.record_turn(seat=1)
    # The first by the second's start at the latest; the second by the flusher, no next turn.
    assert _count(arena, "game_turns", recorder.game_id) >= 1
    deadline = time.monotonic() + 10
    while _count(arena, "game_turns", recorder.game_id) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _count(arena, "game_turns", recorder.game_id) == 2
    assert recorder.pending_rows == 0


def test_the_flusher_commits_a_turn_within_flush_seconds_and_stops_with_the_arena(
    arena: arenadb.Arena, agents: list
) -> None:
    recorder = arena.start_game("G", agents, flush_seconds=0.2)
    time.sleep(0.3)
    recorder.record_turn(seat=0, llm_calls=[{"request": {"n": 1}}])  # due at once: written
    recorder.record_turn(seat=1, llm_calls=[{"request": {"n": 2}}])  # the flusher's
    started = time.monotonic()
    while _count(arena, "llm_calls", recorder.game_id) < 2 and time.monotonic() - started < 10:
        time.sleep(0.01)
    assert _count(arena, "game_turns", recorder.game_id) == 2
    assert _count(arena, "llm_calls", recorder.game_id) == 2
    arena.close()
    assert arena._flusher._thread is None  # stopped (and joined) with the Arena
    # A recorder used after close() writes through the next connection, flusher included.
    recorder.record_turn(seat=2)
    recorder.finish()
    assert _count(arena, "game_turns", recorder.game_id) == 3


def test_resume_uses_the_last_snapshot_that_verifies(
    arena: arenadb.Arena, agents: list, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = arena.start_game("G", agents, snapshot_every=10, batch_turns=5)
    for seq in range(25):
        recorder.record_turn(
            seat=seq % 3,
            action=f"a{seq}",
            state={
                "turns": seq + 1,
                "big": 1e20,
                "neg": -0.0,
                "odd": 1.2345678901234567e20,
                "tiny": 1.5e-300,
            },
        )
    recorder.flush()

    point = arena.resume(recorder.game_id)
    assert (point.snapshot_turn, point.snapshot_kind, point.warnings) == (20, "periodic", [])
    assert point.state == {
        "turns": 20,
        "big": 100000000000000000000,
        "neg": 0.0,
        "odd": 123456789012345670000,
        "tiny": 1.5e-300,
    }
    assert [t.seq for t in point.turns] == [20, 21, 22, 23, 24] and point.next_seq == 25
    assert point.turns[0].action == "a20"

    # Corrupt the newest snapshot behind arenadb's back.
    with arena.engine.begin() as conn:
        conn.execute(
            sa.text("update game_snapshots set state = :s where game_id = :g and turn = 20"),
            {"s": '{"turns": 99}', "g": recorder.game_id},
        )
    with caplog.at_level(logging.WARNING, logger="arenadb.recording"):
        point = arena.resume(recorder.uuid)
    assert point.snapshot_turn == 10 and point.state["turns"] == 10
    assert [t.seq for t in point.turns] == list(range(10, 25))
    assert len(point.warnings) == 1 and "is corrupted" in point.warnings[0]
    assert "after 20 turns" in caplog.text

    # With no snapshot left that verifies, the game restarts from its first turn.
    with arena.engine.begin() as conn:
        conn.execute(
            sa.text("update game_snapshots set sha256 = :h where game_id = :g"),
            {"h": "0" * 64, "g": recorder.game_id},
        )
    point = arena.resume(recorder.game_id)
    assert point.state is None and point.snapshot_turn == 0 and len(point.turns) == 25
    assert len(point.warnings) == 3 and "from the start" in point.warnings[-1]


def test_resume_returns_a_recorder_that_continues_the_game(
    arena: arenadb.Arena, agents: list
) -> None:
    recorder = arena.start_game("G", _seats(agents), snapshot_every=4, batch_turns=2)
    for seq in range(6):
        recorder.record_turn(seat=seq % 3, state={"turns": seq + 1})
        recorder.record_action("move")
    recorder.flush()
    del recorder  # the runner "crashed"

    games = arena.games(status="running")
    point = arena.resume(games[0].id)
    assert point.snapshot_turn == 4 and [t.seq for t in point.turns] == [4, 5]
    again = point.recorder
    assert again is not None and again.next_seq == 6
    assert again.record_action("extra") == 1  # appended to turn 5 after its first action
    again.record_turn(seat=0, state={"turns": 7})
    again.record_turn(seat=1, state={"turns": 8})  # a snapshot after 8 turns
    again.finish(outcome="win", winning_side="village", results=[{"reward": 0}] * 3)
    turns = arena.turns(point.game_id, with_actions=True)
    assert [t.seq for t in turns] == list(range(8))
    assert [a.action_type for a in turns[5].actions] == ["move", "extra"]
    with pytest.raises(ConflictError, match="is completed"):
        arena.resume(point.game_id)


def test_a_turn_with_a_bad_llm_call_is_not_recorded(arena: arenadb.Arena, agents: list) -> None:
    recorder = arena.start_game("G", agents, snapshot_every=1)
    recorder.record_turn(seat=0, state={"n": 1})
    with pytest.raises(InvalidDataError, match="not JSON"):
        recorder.record_turn(
            seat=1,
            state={"n": 2},
            llm_calls=[{"request": {"ok": 1}}, {"request": {"x": float("nan")}}],
        )
    assert recorder.next_seq == 1 and recorder.last_seq == 0
    assert recorder.record_turn(seat=2, state={"n": 2}) == 1
    recorder.finish()
    turns = arena.turns(recorder.game_id)
    assert [(t.seq, t.seat) for t in turns] == [(0, 0), (1, 2)]
    assert _count(arena, "llm_calls", recorder.game_id) == 0
    assert _count(arena, "game_snapshots", recorder.game_id) == 2


def test_finish_checks_its_input_and_runs_once(arena: arenadb.Arena, agents: list) -> None:
    recorder = arena.start_game("G", _seats(agents))
    with pytest.raises(InvalidDataError, match="no seat 7"):
        recorder.record_turn(seat=7)
    with pytest.raises(ConflictError, match="record a turn before"):
        recorder.record_llm_call(request={})
    with pytest.raises(InvalidDataError, match="no seat 5"):
        recorder.finish(results={5: {"reward": 1}})
    with pytest.raises(InvalidDataError, match="winning side 'town'"):
        recorder.finish(winning_side="town")
    with pytest.raises(InvalidDataError, match="outcome"):
        recorder.finish(outcome="victory")
    recorder.record_turn(seat=0)
    recorder.finish(environment_crashed=True, error="env raised ValueError")
    game = arena.game(recorder.game_id)
    assert (game.status, game.environment_crashed, game.error) == (
        "failed",
        True,
        "env raised ValueError",
    )
    assert _count(arena, "game_turns", game.id) == 1
    with pytest.raises(ConflictError, match="already closed"):
        recorder.finish()
    with pytest.raises(ConflictError, match="closed"):
        recorder.record_turn(seat=0)


def test_a_game_finished_elsewhere_cannot_be_finished_again(
    arena: arenadb.Arena, agents: list
) -> None:
    recorder = arena.start_game("G", agents)
    point = arena.resume(recorder.game_id)
    assert point.recorder is not None
    point.recorder.abort("operator cancelled")
    with pytest.raises(ConflictError, match="is aborted, not running"):
        recorder.finish()


def test_abort_and_fail_keep_what_was_recorded(arena: arenadb.Arena, agents: list) -> None:
    recorder = arena.start_game("G", agents)
    recorder.record_turn(seat=0)
    recorder.abort("operator cancelled")
    game = arena.game(recorder.game_id)
    assert (game.status, game.end_reason, game.outcome) == (
        "aborted",
        "operator cancelled",
        "no_contest",
    )
    assert _count(arena, "game_turns", game.id) == 1

    with pytest.raises(RuntimeError), arena.start_game("G", agents) as failing:
        failing.record_turn(seat=1)
        raise RuntimeError("runner bug")
    game = arena.game(failing.game_id)
    assert (game.status, game.error) == ("failed", "RuntimeError: runner bug")
    assert _count(arena, "game_turns", game.id) == 1

    with arena.start_game("G", agents) as unfinished:
        unfinished.record_turn(seat=2)
    assert arena.game(unfinished.game_id).status == "running"  # resumable
    assert _count(arena, "game_turns", unfinished.game_id) == 1


def test_read_side(arena: arenadb.Arena, agents: list, engine: sa.Engine) -> None:
    winners = ["village", "mafia", "village", None]
    ids = []
    for i, winner in enumerate(winners):
        recorder = arena.start_game("SecretMafia-v0", _seats(agents), seed=i)
        recorder.record_turn(seat=0, llm_calls=[{"request": {"i": i}}])
        if winner:
            recorder.finish(outcome="win", winning_side=winner)
        ids.append(recorder.game_id)
    arena.register_model("retired", active=False)

    assert [g.id for g in arena.games()] == ids[::-1]  # newest first
    assert [g.id for g in arena.games(status="completed")] == ids[2::-1]
    assert [g.id for g in arena.games(status="completed", limit=2, offset=1)] == [ids[1], ids[0]]
    assert [g.id for g in arena.games(winning_side="village")] == [ids[2], ids[0]]
    assert [g.id for g in arena.games(status=["running"])] == [ids[3]]
    assert [g.id for g in arena.games(agent=agents[1], limit=1)] == [ids[3]]
    assert arena.games(game_type="Unknown-v0") == []
    assert len(arena.games(game_type="SecretMafia-v0")) == 4
    with pytest.raises(InvalidDataError, match="unknown game status"):
        arena.games(status="done")

    assert [m.name for m in arena.active_models()] == ["gpt-x"]
    assert [k.name for k in arena.active_kinds()] == ["plain"]
    picked = arena.random_agents(2)
    assert len(picked) == 2 and len({a.id for a in picked}) == 2
    assert len(arena.random_agents(10)) == 3

    # A game with its relations costs a fixed number of queries, whatever the seat count.
    statements: list[str] = []
    sa.event.listen(arena.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    game = arena.game(ids[0])
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4, selects  # game, its type, its seats, their agents (+ joins)
    assert [p.agent.prompt.content for p in game.players] == ["prompt 0", "prompt 1", "prompt 2"]
    assert game.players[0].agent.model.name == "gpt-x"

    with pytest.raises(NotFoundError, match="game 999999 not found"):
        arena.game(999999)
    with pytest.raises(NotFoundError):
        arena.turns(str(uuid.uuid4()))
    with pytest.raises(InvalidDataError, match="not a game id or uuid"):
        arena.game("nope")
    assert arena.llm_calls(ids[0], 0)[0].request == {"i": 0}
    assert arena.llm_calls(ids[0], 1) == []


@pytest.mark.parametrize("durable", [False, True])
def test_postgresql_batch_durability_setting_stays_on_its_connection(
    backend: str, db_settings: Settings, durable: bool
) -> None:
    if backend != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    import dataclasses

    # One connection in the pool: whatever the batch connection changed, the pool hands back.
    settings = dataclasses.replace(db_settings, pool_size=1)
    with arenadb.connect(settings=settings, durable_batches=durable, max_overflow=0) as arena:
        agent = arena.register_agent(model="m", kind="k", prompt=("p", "text"))
        recorder = arena.start_game("G", [agent])

        def show(raw: Any) -> str:
            return raw.execute("show synchronous_commit").fetchone()[0]

        assert arena.batch_connection.run(show) == ("on" if durable else "off")
        # What finish() asks for: this one transaction waits for the disk, the next ones not.
        assert arena.batch_connection.run(show, durable=True) == "on"
        assert arena.batch_connection.run(show) == ("on" if durable else "off")
        recorder.record_turn(seat=0)
        recorder.finish()  # durable whatever the batches are
        assert arena.batch_connection.run(show) == ("on" if durable else "off")
        arena.batch_connection.close()
        with arena.engine.connect() as conn:
            assert conn.exec_driver_sql("show synchronous_commit").scalar() == "on"
        assert arena.game(recorder.game_id).status == "completed"


def test_sqlite_wal_is_checkpointed_in_the_background_and_stays_bounded(
    backend: str, db_settings: Settings, tmp_path: Path
) -> None:
    import dataclasses
    import shutil
    import sqlite3
    import time

    from arenadb.db.checkpoint import WAL_LIMIT_BYTES

    settings = dataclasses.replace(db_settings, pool_size=1)
    with arenadb.connect(settings=settings, max_overflow=0) as arena:
        agent = arena.register_agent(model="m", kind="k", prompt=("p", "text"))
        recorder = arena.start_game("G", [agent], batch_turns=10, rated=False)
        checkpointer = arena.batch_connection.checkpointer
        if backend != "sqlite":
            assert checkpointer is None
            return
        assert checkpointer is not None
        # Every write transaction tells the thread to keep off (it checkpoints between them).
        assert arena.batch_connection.run(lambda _raw: checkpointer._writer_idle.is_set()) is False
        assert (
            arena.batch_connection.run_session(lambda _session: checkpointer._writer_idle.is_set())
            is False
        )
        assert checkpointer._writer_idle.is_set()
        path = settings.url.sqlite_path
        assert path is not None
        wal = Path(f"{path}-wal")
        # 40 MB in 1 MB batches: well past the WAL's limit of 16 MiB. The bound holds after
        # every commit, whatever the background thread is doing: the limit plus one batch.
        big = "x" * 100_000
        largest = 0
        for _ in range(40):
            for _ in range(10):
                recorder.record_turn(seat=0, observation=big)
            largest = max(largest, wal.stat().st_size)
        recorder.flush()
        largest = max(largest, wal.stat().st_size)
        assert largest <= WAL_LIMIT_BYTES + 2_000_000, largest
        assert checkpointer.writer_checkpoints >= 2  # the WAL started over at least twice
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints > 0
        # A checkpoint (background or the writer's) copied the turns into the database file
        # itself: a copy of that file alone, without its WAL, holds the turns written so far.
        recorder.record_turn(seat=0)
        recorder.flush()
        time.sleep(checkpointer.interval)
        deadline = time.monotonic() + 10
        copy = tmp_path / "without_wal.db"
        while True:
            # Copied while no checkpoint writes to the file (a copy taken half-way through one
            # is torn: a count that is off, or a "malformed" database).
            with checkpointer._checkpoint_lock:
                shutil.copyfile(path, copy)
            with sqlite3.connect(copy) as conn:
                turns = conn.execute("select count(*) from game_turns").fetchone()[0]
            conn.close()
            if turns == 401 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert turns == 401
        thread = checkpointer._thread
        assert thread is not None and thread.is_alive()
        # The pooled connection goes back with SQLite's default automatic checkpoint.
        arena.batch_connection.close()
        assert not thread.is_alive()
        with arena.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000


def test_postgresql_binary_copy_sends_each_column_as_its_catalog_type(
    backend: str, db_settings: Settings
) -> None:
    if backend != "postgresql":
        pytest.skip("binary COPY is the PostgreSQL writer's")
    from arenadb.db.writer import PostgresWriter as _PostgresWriter

    sent_as = {"jsonb": "text", "varchar": "text"}  # the same binary form (see _SENT_AS_TEXT)
    with arenadb.connect(settings=db_settings) as arena, arena.engine.connect() as conn:
        for copy in _PostgresWriter().copies:
            catalog = dict(
                conn.execute(
                    sa.text(
                        "select attname, atttypid::regtype::text from pg_attribute "
                        "where attrelid = cast(:t as regclass) and attnum > 0"
                    ),
                    {"t": copy.table},
                ).all()
            )
            names = dict(
                conn.execute(
                    sa.text("select oid, typname from pg_type where oid = any(:oids)"),
                    {"oids": list(copy.types)},
                ).all()
            )
            for column, oid in zip(copy.columns, copy.types, strict=True):
                declared = {
                    "integer": "int4",
                    "bigint": "int8",
                    "smallint": "int2",
                    "boolean": "bool",
                    "double precision": "float8",
                    "timestamp with time zone": "timestamptz",
                    "character varying": "varchar",
                }.get(catalog[column], catalog[column])
                assert names[oid] == sent_as.get(declared, declared), (copy.table, column)


def test_a_value_of_the_wrong_type_is_refused_with_its_column(
    backend: str, arena: arenadb.Arena, agents: list
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite stores a value of any type in any column")
    recorder = arena.start_game("SecretMafia-v0", _seats(agents))
    recorder.record_turn(seat=0, action="[vote] 1")
    recorder.record_turn(seat=1, latency_ms=12.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match=r"game_turns.latency_ms must be an integer"):
        recorder.flush()
    # Nothing of the batch was written, and the recorder can still close the game.
    assert _count(arena, "game_turns", recorder.game_id) == 0
    recorder.abort("bad input", keep_buffered=False)
    assert arena.game(recorder.game_id).status == "aborted"


def test_the_checkpoint_thread_leaves_when_idle_and_comes_back(tmp_path: Path) -> None:
    import sqlite3
    import time

    from arenadb.db.checkpoint import WalCheckpointer

    path = tmp_path / "wal.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("create table t (x)")
    checkpointer = WalCheckpointer(str(path), interval=0.01, idle_seconds=0.2)

    def wait_for(condition: Any) -> bool:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        return bool(condition())

    try:
        writer.execute("insert into t values (1)")
        checkpointer.poke()
        # Taken at once: on a loaded machine the thread may checkpoint and leave before the
        # next line runs.
        first = checkpointer._thread
        assert first is not None
        assert wait_for(lambda: checkpointer.checkpoints == 1)
        assert wait_for(lambda: checkpointer._thread is None)  # idle: gone
        first.join(5)
        assert not first.is_alive()
        writer.execute("insert into t values (2)")
        checkpointer.poke()  # a new thread, a new checkpoint
        assert wait_for(lambda: checkpointer.checkpoints == 2)
    finally:
        checkpointer.close()
        writer.close()
    assert checkpointer._thread is None


def test_no_background_checkpoint_starts_while_the_writer_is_in_a_transaction(
    tmp_path: Path,
) -> None:
    # The thread waits for the writer's transaction to end (on a 2-core machine the two would
    # otherwise take both cores from the writer's caller); the writer never waits for it.
    import sqlite3
    import time

    from arenadb.db.checkpoint import WalCheckpointer

    path = tmp_path / "wal.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("create table t (x)")
    checkpointer = WalCheckpointer(str(path), interval=0.01)
    try:
        with checkpointer.writing():
            writer.execute("insert into t values (1)")
            checkpointer.poke()
            # Many times the interval: a thread that did not wait would have checkpointed.
            time.sleep(0.3)
            assert checkpointer.checkpoints == 0
            # The writer is not held up: its next statement runs beside the waiting thread.
            writer.execute("insert into t values (2)")
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints == 1
    finally:
        checkpointer.close()
        writer.close()


def test_record_turn_takes_none_for_no_llm_calls_or_actions(
    arena: arenadb.Arena, agents: list
) -> None:
    recorder = arena.start_game("G", agents)
    seq = recorder.record_turn(seat=0, action="pass", llm_calls=None, actions=None)
    recorder.record_turn(seat=1, actions=[{"action_type": "move"}], llm_calls=None)
    recorder.finish(outcome="draw")
    assert seq == 0
    assert _count(arena, "game_turns", recorder.game_id) == 2
    assert _count(arena, "player_actions", recorder.game_id) == 1
    assert _count(arena, "llm_calls", recorder.game_id) == 0


def test_a_recorder_keeps_writing_after_its_arena_reconnects(
    arena: arenadb.Arena, agents: list
) -> None:
    # The recorder holds a RecorderContext, not the Arena; the context's batch connection is the
    # Arena's current one, so a recorder outlives `Arena.close()` as it always has.
    recorder = arena.start_game("G", agents)
    recorder.record_turn(seat=0)
    recorder.flush()
    first = arena.batch_connection
    arena.close()
    recorder.record_turn(seat=1)
    recorder.flush()
    assert arena.batch_connection is not first
    recorder.finish(outcome="draw")
    assert _count(arena, "game_turns", recorder.game_id) == 2
    assert not hasattr(recorder, "arena")
