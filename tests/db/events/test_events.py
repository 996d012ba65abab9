"""The event queue, engines, scenarios and their CLI, on SQLite and PostgreSQL.

Time is controlled: every call gets an explicit `now`, so lock expiry and backoff are tested
without sleeping.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb import events as ev
from arenadb.cli import app
from arenadb.db import create_database, create_engine, session_scope
from arenadb.errors import ConflictError, InvalidArgumentError, InvalidDataError, NotFoundError
from arenadb.models import Event, EventType, ExecutionLog
from arenadb.schema.migrations import downgrade, upgrade

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
runner = CliRunner()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def queue(engine):
    """The test database's engine, with the core event types seeded."""
    with session_scope(engine, write=True) as session:
        ev.ensure_event_types(session, ev.read_event_types())
    return engine


def enqueue(engine, *events: ev.NewEvent) -> list[int]:
    with session_scope(engine, write=True) as session:
        return ev.enqueue_events(session, events)


def tick(priority: int = 0, **kw) -> ev.NewEvent:
    return ev.NewEvent("system.tick", {"tick": 1}, priority=priority, **kw)


def worker(engine, engine_type: str = "worker") -> uuid.UUID:
    return ev.register_engine(engine, engine_type, now=T0).id


# --------------------------------------------------------------------------------------------
# event types and enqueue


def test_core_event_types_seed_is_idempotent(engine):
    rows = ev.read_event_types()
    names = {r["name"] for r in rows}
    assert {"agent.message", "game.turn", "scenario.started", "system.tick"} <= names
    with session_scope(engine, write=True) as session:
        first = ev.ensure_event_types(session, rows)
    assert sorted(first.created) == sorted(names)
    changed = [{**r, "description": "new"} if r["name"] == "system.tick" else r for r in rows]
    with session_scope(engine, write=True) as session:
        second = ev.ensure_event_types(session, changed)
        assert second.created == [] and second.updated == ["system.tick"]
        assert len(second.unchanged) == len(names) - 1
        count = session.scalar(sa.select(sa.func.count()).select_from(EventType))
        assert count == len(names)


def test_ensure_event_types_rejects_malformed_rows(engine):
    with session_scope(engine, write=True) as session, pytest.raises(InvalidDataError):
        ev.ensure_event_types(session, [{"name": "x", "colour": "red"}])
    with session_scope(engine, write=True) as session, pytest.raises(InvalidDataError):
        ev.ensure_event_types(session, [{"category": "no name"}])


def test_enqueue_validates_type_payload_and_owner(queue):
    with session_scope(queue, write=True) as session:
        with pytest.raises(NotFoundError, match=r"no\.such"):
            ev.enqueue_event(session, "no.such")
        with pytest.raises(InvalidDataError, match="missing content"):
            ev.enqueue_event(session, "agent.message", {"channel": "all"})
        with pytest.raises(InvalidDataError, match="'content' must be string"):
            ev.enqueue_event(session, "agent.message", {"content": 3})
        with pytest.raises(InvalidArgumentError, match="not both"):
            ev.enqueue_event(session, "system.tick", scenario_run_id=1, game_id=1)
        event_id = ev.enqueue_event(session, "agent.message", {"content": "hi"}, source="seat:1")
    stored = ev.get_event(queue, event_id)
    assert (stored.status, stored.retry_count, stored.processing_history) == ("queued", 0, [])
    assert stored.source == "seat:1" and stored.payload == {"content": "hi"}


def test_database_rejects_an_event_of_both_a_run_and_a_game(queue):
    with session_scope(queue, write=True) as session:
        run = ev.start_scenario_run(session, name="r")
        type_id = session.scalar(sa.select(EventType.id).where(EventType.name == "system.tick"))
        run_id = run.id
    with pytest.raises(sa.exc.IntegrityError), queue.begin() as conn:
        conn.execute(
            sa.insert(Event.__table__).values(
                event_type_id=type_id, scenario_run_id=run_id, game_id=run_id
            )
        )
    with pytest.raises(sa.exc.IntegrityError), queue.begin() as conn:
        conn.execute(sa.insert(Event.__table__).values(event_type_id=type_id, status="processing"))


# --------------------------------------------------------------------------------------------
# claim order and filters


def test_claim_takes_highest_priority_then_oldest(queue):
    ids = enqueue(queue, tick(0), tick(5), tick(1), tick(5), tick(0))
    me = worker(queue)
    claimed = []
    while (event := ev.claim_next_event(queue, me, now=at(1))) is not None:
        claimed.append(event.id)
        assert event.locked_by == me and event.lock_until == at(1 + 300)
        assert event.event_type == "system.tick" and event.attempt == 1
    assert claimed == [ids[1], ids[3], ids[2], ids[0], ids[4]]
    assert {e.status for e in ev.list_events(queue)} == {"processing"}


def test_claim_filters_by_engine_type_and_event_type(queue):
    [turn] = enqueue(queue, ev.NewEvent("game.turn", {"turn": 1}))
    [narrate] = enqueue(queue, ev.NewEvent("narrator.narrate", priority=9))
    me = worker(queue)
    assert ev.claim_next_event(queue, me, engine_type="actor", now=at(1)).id == turn
    assert ev.claim_next_event(queue, me, engine_type="actor", now=at(1)) is None
    assert ev.claim_next_event(queue, me, event_types=["game.turn"], now=at(1)) is None
    assert ev.claim_next_event(queue, me, event_types=["narrator.narrate"], now=at(1)).id == narrate


def test_scheduled_event_waits_for_not_before(queue):
    [later] = enqueue(queue, tick(not_before=at(60)))
    me = worker(queue)
    assert ev.claim_next_event(queue, me, now=at(59)) is None
    assert ev.claim_next_event(queue, me, now=at(60)).id == later


def test_unregistered_engine_cannot_claim(queue):
    enqueue(queue, tick())
    with pytest.raises(NotFoundError, match="not registered"):
        ev.claim_next_event(queue, uuid.uuid4(), now=at(1))
    assert ev.list_events(queue)[0].status == "queued"


# --------------------------------------------------------------------------------------------
# complete, fail, retries


def test_complete_records_result_and_history(queue):
    [event_id] = enqueue(queue, tick())
    me, other = worker(queue), worker(queue)
    ev.claim_next_event(queue, me, now=at(1))
    with pytest.raises(ConflictError, match="not held by engine"):
        ev.complete_event(queue, event_id, other, {"x": 1}, now=at(2))
    outcome = ev.complete_event(queue, event_id, me, {"answer": 42}, now=at(3))
    assert outcome.status == "completed"
    done = ev.get_event(queue, event_id)
    assert done.status == "completed" and done.result == {"answer": 42}
    assert done.completed_at == at(3) and done.locked_by is None and done.lock_until is None
    [entry] = done.processing_history
    assert entry["outcome"] == "completed" and entry["result"] == {"answer": 42}
    assert entry["engine_id"] == str(me)
    assert datetime.fromisoformat(entry["claimed_at"]) == at(1)
    assert datetime.fromisoformat(entry["finished_at"]) == at(3)
    with pytest.raises(ConflictError, match="completed"):
        ev.complete_event(queue, event_id, me, now=at(4))
    with pytest.raises(NotFoundError):
        ev.complete_event(queue, 999_999, me, now=at(4))


def test_failures_back_off_30_60_120_then_fail(queue):
    [event_id] = enqueue(queue, tick())
    me = worker(queue)
    clock = 0.0
    for attempt, delay in enumerate((30, 60, 120), start=1):
        event = ev.claim_next_event(queue, me, now=at(clock))
        assert event is not None and event.id == event_id and event.attempt == attempt
        outcome = ev.fail_event(queue, event_id, me, f"boom {attempt}", now=at(clock + 1))
        assert outcome.status == "queued" and outcome.retry_count == attempt
        assert outcome.next_retry_at == at(clock + 1 + delay)
        # Not a moment before the backoff delay is over.
        assert ev.claim_next_event(queue, me, now=at(clock + delay)) is None
        clock += 1 + delay
    assert ev.claim_next_event(queue, me, now=at(clock)).attempt == 4
    final = ev.fail_event(queue, event_id, me, "boom 4", now=at(clock + 1))
    assert final.status == "failed" and final.retry_count == 4
    assert ev.claim_next_event(queue, me, now=at(clock + 10_000)) is None
    stored = ev.get_event(queue, event_id)
    assert stored.status == "failed" and stored.last_error == "boom 4"
    assert [h["error"] for h in stored.processing_history] == [f"boom {i}" for i in (1, 2, 3, 4)]


def test_custom_retry_delays_and_no_retry(queue):
    first, second = enqueue(queue, tick(), tick())
    me = worker(queue)
    ev.claim_next_event(queue, me, now=at(0))
    outcome = ev.fail_event(queue, first, me, "slow down", retry_delays=(5,), now=at(1))
    assert outcome.next_retry_at == at(6)
    ev.claim_next_event(queue, me, now=at(1))
    outcome = ev.fail_event(queue, second, me, "bad input", retry=False, now=at(2))
    assert outcome.status == "failed" and outcome.retry_count == 1


# --------------------------------------------------------------------------------------------
# expired locks


def test_expired_lock_is_taken_over_by_the_next_claim(queue):
    [event_id] = enqueue(queue, tick())
    dead, alive = worker(queue), worker(queue)
    ev.claim_next_event(queue, dead, lock_seconds=10, now=at(0))
    assert ev.claim_next_event(queue, alive, now=at(9)) is None  # still locked
    taken = ev.claim_next_event(queue, alive, now=at(11))
    assert taken is not None and taken.id == event_id
    assert taken.retry_count == 1 and taken.attempt == 2 and "lock expired" in taken.last_error
    # The late engine wakes up: its work must not overwrite the new owner's.
    with pytest.raises(ConflictError, match="not held"):
        ev.complete_event(queue, event_id, dead, now=at(12))
    ev.complete_event(queue, event_id, alive, {"ok": True}, now=at(13))
    expired, completed = ev.get_event(queue, event_id).processing_history
    assert expired["outcome"] == "lock_expired" and expired["engine_id"] == str(dead)
    assert datetime.fromisoformat(expired["finished_at"]) == at(11)
    assert completed["outcome"] == "completed" and completed["engine_id"] == str(alive)


def test_extend_lock_keeps_the_event(queue):
    [event_id] = enqueue(queue, tick())
    me, other = worker(queue), worker(queue)
    ev.claim_next_event(queue, me, lock_seconds=10, now=at(0))
    assert ev.extend_lock(queue, event_id, me, lock_seconds=10, now=at(8)) == at(18)
    assert ev.claim_next_event(queue, other, now=at(12)) is None


def test_reclaim_expired_requeues_then_fails_an_event_that_keeps_killing_engines(queue):
    [event_id] = enqueue(queue, tick())
    me = worker(queue)
    assert ev.reclaim_expired(queue, now=at(0)) == []
    clock = 0
    for expected_retries in (1, 2, 3):
        ev.claim_next_event(queue, me, lock_seconds=10, now=at(clock))
        assert ev.reclaim_expired(queue, now=at(clock + 5)) == []
        [outcome] = ev.reclaim_expired(queue, now=at(clock + 11))
        assert (outcome.status, outcome.retry_count) == ("queued", expected_retries)
        clock += 20
    # The last attempt's lock expires: no retries left, so a claim leaves it alone...
    ev.claim_next_event(queue, me, lock_seconds=10, now=at(clock))
    assert ev.claim_next_event(queue, me, now=at(clock + 11)) is None
    assert ev.event_stats(queue, now=at(clock + 11)).expired_locks == 1
    # ...and the sweep marks it failed.
    [outcome] = ev.reclaim_expired(queue, now=at(clock + 11))
    assert (outcome.status, outcome.retry_count) == ("failed", 4)
    history = ev.get_event(queue, event_id).processing_history
    assert [h["outcome"] for h in history] == ["lock_expired"] * 4


def test_manual_retry_resets_the_budget_and_keeps_history(queue):
    failed_id, queued_id = enqueue(queue, tick(1), tick(0))
    me = worker(queue)
    ev.claim_next_event(queue, me, now=at(0))
    ev.fail_event(queue, failed_id, me, "fatal", retry=False, now=at(1))
    with pytest.raises(ConflictError, match="queued, not failed"):
        ev.retry_events(queue, [queued_id], now=at(2))
    with pytest.raises(NotFoundError):
        ev.retry_events(queue, [999_999], now=at(2))
    with pytest.raises(InvalidArgumentError):
        ev.retry_events(queue)
    [outcome] = ev.retry_events(queue, all_failed=True, now=at(3))
    assert (outcome.id, outcome.status, outcome.retry_count) == (failed_id, "queued", 0)
    retried = ev.get_event(queue, failed_id)
    assert retried.status == "queued" and retried.retry_count == 0
    assert [h["outcome"] for h in retried.processing_history] == ["failed", "manual_retry"]
    assert retried.processing_history[1]["previous_retry_count"] == 1
    assert ev.claim_next_event(queue, me, now=at(4)).id == failed_id


def test_stats_count_by_status_type_and_readiness(queue):
    a, b, _c, _d = enqueue(
        queue, tick(), tick(), ev.NewEvent("game.turn", {"turn": 1}), tick(not_before=at(99))
    )
    me = worker(queue)
    ev.claim_next_event(queue, me, event_types=["system.tick"], now=at(1))
    ev.complete_event(queue, a, me, now=at(2))
    ev.claim_next_event(queue, me, event_types=["system.tick"], lock_seconds=5, now=at(3))
    stats = ev.event_stats(queue, now=at(10))
    assert stats.total == 4
    assert stats.by_status == {"queued": 2, "processing": 1, "completed": 1, "failed": 0}
    assert (stats.ready, stats.waiting_retry, stats.expired_locks) == (1, 1, 1)
    assert stats.oldest_ready_at is not None
    by_type = {t.event_type: t for t in stats.by_type}
    assert by_type["system.tick"].completed == 1 and by_type["system.tick"].processing == 1
    assert by_type["game.turn"].queued == 1
    assert ev.list_events(queue, engine_id=me)[0].id == b


# --------------------------------------------------------------------------------------------
# engines


@pytest.mark.parametrize("age", [-100, 0, float("nan"), float("inf"), 1e308])
def test_an_age_that_would_mark_every_engine_stale_is_refused(queue, age):
    engine_id = ev.register_engine(queue, "actor", now=T0).id
    with pytest.raises(InvalidArgumentError, match="heartbeat age must be more than 0"):
        ev.mark_stale_engines(queue, older_than=age, now=at(1))
    with pytest.raises(InvalidArgumentError, match="heartbeat age"):
        ev.list_engines(queue, stale_after=age, now=at(1))
    assert [e.id for e in ev.list_engines(queue, status="active", now=at(1))] == [engine_id]


def test_a_heartbeat_from_the_future_is_no_sign_of_life(queue):
    """An engine whose clock runs a day fast looked alive (negative age) until that day came."""
    fast = ev.register_engine(queue, "actor", name="fast", now=T0).id
    ev.heartbeat(queue, fast, now=at(86_400))
    near = ev.register_engine(queue, "actor", name="near", now=at(130)).id  # 30 s ahead: fine
    listed = {e.id: e for e in ev.list_engines(queue, stale_after=60, now=at(100))}
    assert listed[fast].stale and not listed[near].stale
    assert ev.mark_stale_engines(queue, older_than=60, now=at(100)) == [fast]


def test_engines_register_heartbeat_go_stale_and_stop(queue):
    old = ev.register_engine(queue, "actor", name="old", static_config={"max": 5}, now=T0).id
    new = ev.register_engine(queue, "narrator", now=at(90)).id
    with pytest.raises(ConflictError):
        ev.register_engine(queue, "actor", engine_id=old, now=T0)
    ev.heartbeat(queue, old, workload=3, dynamic_state={"cpu": 0.5}, now=at(10))
    listed = {e.id: e for e in ev.list_engines(queue, stale_after=60, now=at(100))}
    assert listed[old].stale and listed[old].status == "active"  # silent, not marked yet
    assert listed[old].current_workload == 3 and listed[old].dynamic_state == {"cpu": 0.5}
    assert listed[old].static_config == {"max": 5} and listed[old].heartbeat_age_s == 90
    assert not listed[new].stale

    assert ev.mark_stale_engines(queue, older_than=60, now=at(100)) == [old]
    assert ev.mark_stale_engines(queue, older_than=60, now=at(100)) == []
    assert [e.id for e in ev.list_engines(queue, status="stale", now=at(100))] == [old]
    ev.heartbeat(queue, old, now=at(101))  # it was only slow: active again
    assert ev.list_engines(queue, status="stale", now=at(101)) == []

    [event_id] = enqueue(queue, tick())
    ev.claim_next_event(queue, old, now=at(102))
    assert {e.id: e.processing for e in ev.list_engines(queue, now=at(102))}[old] == 1
    ev.stop_engine(queue, old)
    with pytest.raises(ConflictError, match="stopped"):
        ev.heartbeat(queue, old, now=at(103))
    # A cleanly stopped engine's event is free at once, not in five minutes.
    assert ev.claim_next_event(queue, new, now=at(103)).id == event_id
    with pytest.raises(NotFoundError):
        ev.heartbeat(queue, uuid.uuid4(), now=at(103))


# --------------------------------------------------------------------------------------------
# scenarios, logs, a caller's own transaction


def test_scenario_run_events_and_execution_logs(queue):
    with session_scope(queue, write=True) as session:
        ev.create_scenario_template(
            session,
            "debate",
            config={"rounds": 3},
            agent_roles=[{"role": "pro"}, {"role": "con"}],
            event_flow=[{"step": 1, "event": "agent.message"}],
        )
        with pytest.raises(ConflictError):
            ev.create_scenario_template(session, "debate")
    with session_scope(queue, write=True) as session:
        run = ev.start_scenario_run(session, "debate", name="debate #1")
        event_id = ev.enqueue_event(
            session, "agent.message", {"content": "opening"}, scenario_run_id=run.id
        )
        run_id = run.id
    me = worker(queue)
    event = ev.claim_next_event(queue, me)
    assert event is not None and event.scenario_run_id == run_id
    # The handler's own writes and the completion commit together, or not at all.
    with session_scope(queue, write=True) as session:
        ev.log_execution(
            session,
            "answered",
            scenario_run_id=run_id,
            engine_id=me,
            event_id=event_id,
            data={"tokens": 12},
        )
        ev.complete_event(session, event_id, me, {"reply": "rebuttal"})
    with session_scope(queue, write=True) as session:
        run = ev.finish_scenario_run(session, run_id, results={"winner": "pro"})
        assert run.status == "completed"
        with pytest.raises(ConflictError):
            ev.finish_scenario_run(session, run_id)
        [log] = session.scalars(sa.select(ExecutionLog)).all()
        assert (log.scenario_run_id, log.engine_id, log.event_id) == (run_id, me, event_id)
    assert ev.list_events(queue, scenario_run_id=run_id)[0].status == "completed"
    with session_scope(queue, write=True) as session, pytest.raises(NotFoundError):
        ev.start_scenario_run(session, "nope")


def test_failed_transaction_leaves_the_event_claimed(queue):
    [event_id] = enqueue(queue, tick())
    me = worker(queue)
    ev.claim_next_event(queue, me)
    with pytest.raises(RuntimeError), session_scope(queue, write=True) as session:
        ev.complete_event(session, event_id, me, {"reply": "x"})
        raise RuntimeError("handler's write failed")
    assert ev.get_event(queue, event_id).status == "processing"


# --------------------------------------------------------------------------------------------
# CLI


def cli(settings, *args: str):
    # Wide enough that Rich tables do not wrap the cells the assertions look for.
    return runner.invoke(
        app, ["--database-url", settings.database_url, *args], env={"COLUMNS": "200"}
    )


def test_cli_events_list_stats_retry(db_settings, queue):
    first, second, _ = enqueue(queue, tick(2), tick(1), ev.NewEvent("game.turn", {"turn": 1}))
    me = worker(queue)
    ev.claim_next_event(queue, me)
    ev.fail_event(queue, first, me, "gave up", retry=False)

    result = cli(db_settings, "events", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == [3, second, first]
    assert rows[2]["status"] == "failed" and rows[2]["processing_history"][0]["error"] == "gave up"

    result = cli(db_settings, "--json", "events", "list", "-s", "queued", "-t", "game.turn")
    assert [r["event_type"] for r in json.loads(result.stdout)] == ["game.turn"]
    result = cli(db_settings, "events", "list", "--status", "nope")
    assert result.exit_code == 2 and "status must be one of" in result.stderr
    result = cli(db_settings, "events", "list")
    assert result.exit_code == 0 and "gave up" in result.stdout

    result = cli(db_settings, "events", "stats", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["by_status"] == {"queued": 2, "processing": 0, "completed": 0, "failed": 1}
    assert cli(db_settings, "events", "stats").exit_code == 0

    result = cli(db_settings, "events", "retry", str(second))
    assert result.exit_code == 1 and "not failed" in result.stderr
    result = cli(db_settings, "events", "retry")
    assert result.exit_code == 2
    result = cli(db_settings, "events", "retry", "--failed", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"requeued": [first]}
    assert ev.get_event(queue, first).status == "queued"

    result = cli(db_settings, "events", "show", "999999")
    assert result.exit_code == 1 and result.stderr.strip() == "error: event 999999 not found"


def test_cli_engines_list_shows_stale(db_settings, queue):
    stale = ev.register_engine(queue, "actor", name="sleepy", now=at(-3600)).id
    fresh = ev.register_engine(queue, "actor", name="awake").id
    result = cli(db_settings, "engines", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows[str(stale)]["stale"] is True and rows[str(fresh)]["stale"] is False
    result = cli(db_settings, "engines", "list")
    assert result.exit_code == 0 and "active (stale)" in result.stdout

    result = cli(db_settings, "engines", "mark-stale", "--json")
    assert json.loads(result.stdout) == {"marked_stale": [str(stale)]}
    result = cli(db_settings, "--json", "engines", "list", "--status", "stale")
    assert [r["name"] for r in json.loads(result.stdout)] == ["sleepy"]


def test_cli_refuses_a_missing_database(fresh_settings):
    result = cli(fresh_settings, "events", "list")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    if fresh_settings.url.sqlite_path is not None:
        assert not fresh_settings.url.sqlite_path.exists()


def test_every_events_command_has_help():
    for group, commands in {
        "events": ["list", "show", "stats", "retry", "reclaim"],
        "engines": ["list", "mark-stale"],
    }.items():
        for command in commands:
            result = runner.invoke(app, [group, command, "--help"])
            assert result.exit_code == 0 and len(result.stdout) > 100


# --------------------------------------------------------------------------------------------
# migration 0002


def test_migration_0002_up_down_up(fresh_settings):
    queue_tables = {
        "scenario_templates",
        "scenario_runs",
        "event_types",
        "events",
        "engines",
        "execution_logs",
    }
    create_database(fresh_settings)
    upgrade(fresh_settings, "0001")
    engine = create_engine(fresh_settings, pooled=False)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO game_types (env_id) VALUES ('SecretMafia-v0')"))
        assert upgrade(fresh_settings, "0002").applied == ["0002"]
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert queue_tables <= tables
            claim_index = {i["name"] for i in sa.inspect(conn).get_indexes("events")}
            assert "ix_events_claim" in claim_index

        assert downgrade(fresh_settings, "0001").applied == ["0002"]
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert not queue_tables & tables
            assert {"games", "agents", "ratings", "game_types"} <= tables
            kept = conn.execute(sa.text("SELECT env_id FROM game_types")).scalars().all()
            assert kept == ["SecretMafia-v0"]

        assert upgrade(fresh_settings, "0002").applied == ["0002"]
        with engine.connect() as conn:
            assert queue_tables <= set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_claim_query_is_served_by_the_claim_index(queue):
    enqueue(queue, *(tick(i % 3) for i in range(50)))
    with queue.connect() as conn:
        dialect = conn.dialect.name
        from arenadb.events.base import now_expr
        from arenadb.events.claim import _claim_candidate

        candidate = _claim_candidate(now_expr(conn, None), None, None, 3, dialect=dialect)
        sql = str(candidate.compile(conn, compile_kwargs={"literal_binds": True}))
        if dialect == "sqlite":
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_events_claim'"
            ).scalar_one()
            plan = " ".join(str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        else:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_events_claim'"
            ).scalar_one()
            # A 50-row table is cheaper to sort than to walk an index: forbid the shortcuts to
            # see that the index can serve the query (predicate implied, order matched).
            conn.exec_driver_sql("SET LOCAL enable_sort = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
            conn.rollback()
    # What autogenerate cannot compare on every backend, checked on the live schema.
    assert "priority DESC" in definition and "WHERE" in definition and "processing" in definition
    assert "ix_events_claim" in plan and "Sort" not in plan and "TEMP B-TREE" not in plan


def test_events_table_is_vacuumed_like_a_queue(backend, engine):
    if backend != "postgresql":
        pytest.skip("autovacuum settings are PostgreSQL's")
    with engine.connect() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'events'"
        ).scalar_one()
    assert "autovacuum_analyze_scale_factor=0.01" in options
