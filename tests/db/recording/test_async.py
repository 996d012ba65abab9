"""The async API (`arenadb.connect_async`) on both backends: games recorded concurrently in one
event loop equal the same games recorded synchronously, no database call runs on the loop,
cancellation leaves a game at its last committed batch, the read side and the errors."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

import arenadb
from arenadb import Seat, SeatResult
from arenadb.config import Settings
from arenadb.db import create_engine
from arenadb.db.batch_connection import BatchConnection
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
SIDES = ["mafia", "village", "village"]
TURNS = 12


def _register(arena: arenadb.Arena) -> list[int]:
    arena.register_model(
        "gpt-x", provider="openai", input_price_per_mtok=2, output_price_per_mtok=8
    )
    return [
        arena.register_agent(model="gpt-x", kind="plain", prompt=("mafia", f"prompt {i}")).id
        for i in range(3)
    ]


def _turn(seed: int, seq: int) -> dict[str, Any]:
    """Turn `seq` of game `seed`: the same keywords for the sync and the async recorder."""
    seat = seq % 3
    started = T0 + timedelta(minutes=seed, seconds=seq)
    turn: dict[str, Any] = {
        "seat": seat,
        "action": f"[vote] {(seed + seq) % 3}",
        "observation": f"game {seed} turn {seq}",
        "phase": "night" if seq % 2 else "day",
        "state": {"seed": seed, "turn": seq, "alive": [0, 1, 2][: 3 - seq % 2]},
        "llm_calls": [
            {
                "model": "gpt-x",
                "request": {"messages": [{"role": "user", "content": f"{seed}/{seq}"}]},
                "response": {"choices": [{"message": {"content": f"vote {seq}"}}]},
                "input_tokens": 100 + seq,
                "output_tokens": 10 + seed,
                "started_at": started,
                "finished_at": started + timedelta(milliseconds=250),
            }
        ],
    }
    if seq % 4 == 1:
        turn["actions"] = [{"action_type": "vote", "payload": {"target": seq % 3}}]
    if seq % 5 == 2:
        turn["recipients"] = [seat]
    return turn


def _finish(seed: int) -> dict[str, Any]:
    winner = SIDES[seed % 2]
    return {
        "outcome": "win",
        "winning_side": winner,
        "results": {
            s: SeatResult(reward=1.0 if side == winner else -1.0) for s, side in enumerate(SIDES)
        },
    }


def _seats(agents: list[int]) -> list[Seat]:
    return [Seat(agent, side=side) for agent, side in zip(agents, SIDES, strict=True)]


QUERIES = {
    "game": "select seed, status, outcome, winning_side from games where id = :g",
    "players": "select seat, agent_id, side, reward, rank, invalid_moves from game_players"
    " where game_id = :g order by seat",
    "turns": "select seq, turn_number, phase, seat, observation, action, valid, state_hash,"
    " visibility, recipients from game_turns where game_id = :g order by seq",
    "actions": "select turn_seq, idx, seat, action_type, payload from player_actions"
    " where game_id = :g order by turn_seq, idx",
    "llm_calls": "select turn_seq, seat, model_id, attempt, input_tokens, output_tokens, cost,"
    " started_at, request, response from llm_calls where game_id = :g order by turn_seq",
    "snapshots": "select turn, kind, sha256, state from game_snapshots where game_id = :g"
    " order by turn, kind",
}


def _stored(engine: sa.Engine, game_id: int) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.execute(sa.text(sql), {"g": game_id})]
            for name, sql in QUERIES.items()
        }


def _committed_turns(engine: sa.Engine, game_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("select count(*) from game_turns where game_id = :g"), {"g": game_id}
        ).scalar_one()


@pytest.fixture
def agents(db_settings: Settings) -> list[int]:
    with arenadb.connect(settings=db_settings) as arena:
        return _register(arena)


def test_games_recorded_concurrently_equal_the_same_games_recorded_synchronously(
    db_settings: Settings, agents: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    games = 32
    with arenadb.connect(settings=db_settings, batch_turns=5) as arena:
        sync_ids = {}
        for seed in range(games):
            recorder = arena.start_game(
                "SecretMafia-v0", _seats(agents), seed=seed, snapshot_every=4
            )
            for seq in range(TURNS):
                recorder.record_turn(**_turn(seed, seq))
            recorder.finish(**_finish(seed))
            sync_ids[seed] = recorder.game_id

    # Where every database call ran: batches (BatchConnection) and sessions (pool checkouts).
    callers: list[threading.Thread] = []
    for name in ("run", "run_session"):
        original = getattr(BatchConnection, name)

        def noting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            callers.append(threading.current_thread())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(BatchConnection, name, noting)

    async def play(arena: arenadb.AsyncArena, seed: int) -> int:
        recorder = await arena.start_game(
            "SecretMafia-v0", _seats(agents), seed=seed, snapshot_every=4
        )
        for seq in range(TURNS):
            await recorder.record_turn(**_turn(seed, seq))
            await asyncio.sleep(0)  # the LLM call of the next turn: the other games go on
        await recorder.finish(**_finish(seed))
        return recorder.game_id

    async def main() -> dict[int, int]:
        async with arenadb.connect_async(settings=db_settings, batch_turns=5) as arena:
            sa.event.listen(
                arena.sync.engine, "checkout", lambda *_: callers.append(threading.current_thread())
            )
            ids = await asyncio.gather(*(play(arena, seed) for seed in range(games)))
            return dict(enumerate(ids))

    async_ids = asyncio.run(main())

    assert callers, "no database call was seen"
    assert threading.main_thread() not in callers, "a database call ran on the event loop"
    engine = create_engine(db_settings, pooled=False)
    try:
        for seed in range(games):
            stored_async = _stored(engine, async_ids[seed])
            assert stored_async == _stored(engine, sync_ids[seed]), seed
            assert len(stored_async["turns"]) == TURNS
            assert stored_async["game"][0][1] == "completed"
    finally:
        engine.dispose()


def test_a_cancelled_task_leaves_the_game_at_its_last_committed_batch(
    db_settings: Settings, agents: list[int]
) -> None:
    async def main() -> None:
        async with arenadb.connect_async(
            settings=db_settings, batch_turns=5, flush_seconds=3600
        ) as arena:
            engine = arena.sync.engine
            recorder = await arena.start_game("SecretMafia-v0", _seats(agents), rated=False)
            for seq in range(10):  # turn 5 wrote turns 0-4; turns 5-9 are buffered
                await recorder.record_turn(**_turn(0, seq))
            assert await asyncio.to_thread(_committed_turns, engine, recorder.game_id) == 5

            # Cancelled while its turn waits on a thread to write the full buffer: the batch is
            # written whole (the call runs to its end), then the task sees its cancellation.
            with recorder.sync.lock:  # the flusher's place: the write has to wait for it
                task = asyncio.create_task(recorder.record_turn(**_turn(0, 10)))
                await asyncio.sleep(0.2)
                assert not task.done()
                task.cancel()
                await asyncio.sleep(0.05)
                assert not task.done(), "cancelled while its write was still running"
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.to_thread(_committed_turns, engine, recorder.game_id) == 10
            assert (recorder.next_seq, recorder.pending_rows > 0) == (11, True)

            # Cancelled between turns (during its LLM call): what was buffered is not written.
            async def runner() -> None:
                for seq in range(11, 13):
                    await recorder.record_turn(**_turn(0, seq))
                await asyncio.sleep(3600)

            task = asyncio.create_task(runner())
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.to_thread(_committed_turns, engine, recorder.game_id) == 10

            # A restarted runner resumes after the last committed batch.
            async with arenadb.connect_async(settings=db_settings) as restarted:
                point = await restarted.resume(recorder.game_id)
                assert point.next_seq == 10 and point.recorder is not None
                await point.recorder.record_turn(**_turn(0, 10))
                await point.recorder.abort("runner restarted")
            assert [t.seq for t in await arena.turns(recorder.game_id)] == list(range(11))

    asyncio.run(main())


def test_the_cancelled_recorder_goes_on_and_async_with_ends_as_with(
    db_settings: Settings, agents: list[int]
) -> None:
    async def main() -> None:
        async with arenadb.connect_async(settings=db_settings, flush_seconds=3600) as arena:
            recorder = await arena.start_game("SecretMafia-v0", _seats(agents), rated=False)
            task = asyncio.create_task(recorder.record_turn(**_turn(1, 0)))
            task.cancel()  # before it ran: the turn is not recorded
            with pytest.raises(asyncio.CancelledError):
                await task
            assert recorder.next_seq == 0
            for seq in range(3):
                await recorder.record_turn(**_turn(1, seq))
            await recorder.finish(**_finish(1))
            game = await arena.game(recorder.game_id)
            assert (game.status, len(await arena.turns(game.id))) == ("completed", 3)

            # Leaving the block writes the buffer and keeps the game running...
            async with await arena.start_game("SecretMafia-v0", _seats(agents)) as kept:
                await kept.record_turn(**_turn(2, 0))
            assert (await arena.game(kept.game_id)).status == "running"
            assert len(await arena.turns(kept.game_id)) == 1
            # ... and an exception fails it.
            with pytest.raises(RuntimeError):
                async with await arena.start_game("SecretMafia-v0", _seats(agents)) as failed:
                    await failed.record_turn(**_turn(3, 0))
                    raise RuntimeError("environment broke")
            game = await arena.game(failed.game_id)
            assert (game.status, game.error) == ("failed", "RuntimeError: environment broke")

            # close() writes the buffer and leaves the game running; resume carries on.
            closing = await arena.start_game("SecretMafia-v0", _seats(agents), rated=False)
            await closing.record_turn(**_turn(4, 0))
            await closing.close()
            assert closing.closed
            point = await arena.resume(closing.game_id)
            assert point.recorder is not None and point.next_seq == 1
            await point.recorder.finish(**_finish(4))

    asyncio.run(main())


def test_the_read_side_and_errors_are_the_sync_ones(
    db_settings: Settings, agents: list[int]
) -> None:
    async def main() -> None:
        async with arenadb.connect_async(settings=db_settings) as arena:
            model = await arena.register_model("gpt-y", provider="openai")
            assert model.id == await arena.model_id("gpt-y")
            recorder = await arena.start_game("SecretMafia-v0", _seats(agents), seed=7, rated=False)
            await recorder.record_turn(**_turn(7, 0))
            await recorder.record_llm_call(model="gpt-y", input_tokens=5, output_tokens=1)
            await recorder.record_action("note", payload={"x": 1})
            await recorder.snapshot({"final": False}, kind="manual")
            submitted = await recorder.submit_action(1, "[bid] 3")
            assert recorder.pending_actions() == [submitted]
            await recorder.resolve_turn(seat=None, action="resolved")
            await recorder.finish(**_finish(7))

            assert [g.id for g in await arena.games(limit=1)] == [recorder.game_id]
            game = await arena.game(recorder.game_id)
            assert (game.seed, [p.seat for p in game.players]) == (7, [0, 1, 2])
            turns = await arena.turns(game.id, with_actions=True)
            assert [len(t.actions) for t in turns] == [1, 1]
            assert [c.model_id for c in await arena.llm_calls(game.id, 0)] == [
                await arena.model_id("gpt-x"),
                model.id,
            ]
            assert {m.name for m in await arena.active_models()} == {"gpt-x", "gpt-y"}
            assert len(await arena.random_agents(2)) == 2
            with arenadb.connect(settings=db_settings) as sync_arena:
                assert sync_arena.game(game.id).finished_at == game.finished_at

            with pytest.raises(NotFoundError):
                await arena.game(999_999)
            with pytest.raises(ConflictError):
                await recorder.finish(**_finish(7))
            with pytest.raises(ConflictError):
                await arena.resume(game.id)
            other = await arena.start_game("SecretMafia-v0", _seats(agents))
            with pytest.raises(InvalidDataError):
                await other.record_turn(seat=9)
            await other.record_turn(seat=0)
            with pytest.raises(NotFoundError):
                await other.record_llm_call(model="no-such-model")
            await other.abort("done")

    asyncio.run(main())
