"""Inspection: games list, game info / replay, agents list, models stats, db stats; ops and CLI.

One arena per backend for the whole module (the tests only read): 60 synthetic games of three
shapes, plus hand-made games whose every value is asserted (see `arena_factory`).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_engine, drop_database
from arenadb.errors import AmbiguousError, InvalidArgumentError, NotFoundError
from arenadb.inspection.agents import list_agents
from arenadb.inspection.filters import parse_when
from arenadb.inspection.games import game_info, list_games
from arenadb.inspection.replay import game_replay
from arenadb.inspection.stats import db_stats
from arenadb.inspection.usage import models_stats, percentile
from arenadb.models import Game, GamePlayer, GameType, LLMCall, LLMModel, Rating
from arenadb.models.usage import LATENCY_ERROR
from tests.conftest import BACKENDS, _skip_without_pg
from tests.support.arena_factory import T0, ArenaFactory
from tests.support.synthetic import SyntheticArena, build_arena

runner = CliRunner()
UUID_A = uuid.UUID("abcdef00-0000-4000-8000-000000000001")
UUID_B = uuid.UUID("abcdef01-0000-4000-8000-000000000002")


@dataclass
class Arena:
    settings: Settings
    engine: sa.Engine
    synthetic: SyntheticArena
    known: int  # the hand-made game every number is checked on
    crashed: int
    alice: int
    bob: int


# Module scope: overrides conftest's per-test `backend`, so that one arena serves every test.
@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        _skip_without_pg()
    return request.param


@pytest.fixture(scope="module")
def arena(backend: str, _templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    if backend == "sqlite":
        settings = _templates.sqlite(Path(tmp_path_factory.mktemp("arena")) / "arena.db")
    else:
        settings = _templates.postgresql()
    engine = create_engine(settings)
    try:
        synthetic = build_arena(engine, games=60, seed=7, batch_games=25)
        factory = ArenaFactory(engine)
        duel = factory.game_type("Duel-v0", seats=2)
        model = factory.model("test-model", litellm_name="test/test-model")
        alice = factory.agent("alice", model_id=model)
        bob = factory.agent("bob", model_id=model)
        known = factory.game(
            duel,
            [alice, bob],
            game_uuid=UUID_A,
            sides=["red", "blue"],
            roles=["Knight", None],
            turns=[
                ("day", 0, "I attack [bold]left[/bold]", True),
                ("day", 1, "gibberish move", False),
                ("vote", None, "bob is eliminated", None),
            ],
            actions=[(0, "attack", {"lane": "left"})],
            llm_calls=[
                _call(model, 0, 0, 100, 10, 1, 0.5),
                _call(model, 0, 0, 200, 20, 2, 0.25, reasoning_tokens=5),
                _call(model, 1, 1, 300, 30, 3, None, status="error", error="rate limited"),
                _call(model, 1, 1, 400, 40, 4, 0.25),
                _call(None, 1, 1, None, 7, 7, None, request_model="mystery/model"),
            ],
            snapshots=[(3, "final"), (1, "periodic")],
            rating_changes=[(0, 1.5), (1, -1.5)],
        )
        crashed = factory.game(
            duel,
            [bob, alice],
            game_uuid=UUID_B,
            status="failed",
            started_at=T0 + timedelta(hours=1),
            outcome=None,
            winning_side=None,
            crashed=True,
            error="env exploded",
        )
        yield Arena(settings, engine, synthetic, known, crashed, alice, bob)
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_database(settings, missing_ok=True)


def _call(model_id, seq, seat, latency, tokens_in, tokens_out, cost, **extra):
    return {
        "model_id": model_id,
        "turn_seq": seq,
        "seat": seat,
        "latency_ms": latency,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cost": cost,
        **extra,
    }


def run(arena: Arena, *args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["--database-url", arena.settings.database_url, *args], env=env)


@contextmanager
def count_statements(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn, _cursor, statement, _params, _context, _executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _game_ids_of_type(arena: Arena, env_id: str) -> list[int]:
    with arena.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(Game.id)
                .join(GameType.__table__, GameType.id == Game.game_type_id)
                .where(GameType.env_id == env_id)
                .order_by(Game.id)
            ).scalars()
        )


# --------------------------------------------------------------------------- pure helpers


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7.0
    assert percentile([100, 200, 300, 400], 0.5) == 250.0
    assert percentile([100, 200, 300, 400], 0.95) == pytest.approx(385.0)


def test_parse_when_reads_iso_and_ages():
    assert parse_when("2026-03-01").isoformat() == "2026-03-01T00:00:00+00:00"
    assert parse_when("2026-03-01T12:00+02:00").hour == 10
    now = parse_when("2026-03-08")
    assert parse_when("7d", now=now) == parse_when("2026-03-01")
    assert parse_when("90m", now=now) == now - timedelta(minutes=90)
    with pytest.raises(InvalidArgumentError):
        parse_when("yesterday")


# --------------------------------------------------------------------------- games list


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("99999999999999d", "out of range"),
        ("9" * 5000 + "d", "out of range"),
        ("9999999999w", "out of range"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        ("9999-12-31T23:59:59-01:00", "out of range"),
        ("١٢d", "cannot read time"),
        ("²d", "cannot read time"),
        ("nan", "cannot read time"),
        ("", "cannot read time"),
    ],
)
def test_parse_when_refuses_what_no_calendar_holds(text, message):
    with pytest.raises(InvalidArgumentError, match=message):
        parse_when(text)


def test_games_list_is_newest_first_with_counts(arena: Arena):
    games = list_games(arena.engine, limit=50)
    assert [g.id for g in games] == sorted((g.id for g in games), reverse=True)
    assert len(games) == 50
    assert games[0].id == arena.crashed
    known = next(g for g in games if g.id == arena.known)
    assert (known.type, known.status, known.seats, known.turns) == ("Duel-v0", "completed", 2, 3)
    assert (known.outcome, known.winning_side, known.duration_s) == ("win", "red", 300.0)
    assert known.uuid == str(UUID_A)
    crashed = games[0]
    assert crashed.crashed and crashed.status == "failed" and crashed.duration_s == 300.0


def test_games_list_counts_match_the_rows(arena: Arena):
    games = list_games(arena.engine, limit=30)
    with arena.engine.connect() as conn:
        seats = dict(
            conn.execute(
                sa.select(GamePlayer.game_id, sa.func.count()).group_by(GamePlayer.game_id)
            ).all()
        )
        turns = dict(
            conn.execute(sa.text("SELECT game_id, count(*) FROM game_turns GROUP BY game_id")).all()
        )
    for game in games:
        assert game.seats == seats.get(game.id, 0)
        assert game.turns == turns.get(game.id, 0)


def test_games_list_pages(arena: Arena):
    everything = [g.id for g in list_games(arena.engine, limit=100)]
    page = [g.id for g in list_games(arena.engine, limit=10, offset=20)]
    assert page == everything[20:30]


def test_games_list_filters_agree_with_brute_force(arena: Arena):
    engine = arena.engine
    with engine.connect() as conn:
        players = conn.execute(
            sa.select(GamePlayer.game_id, GamePlayer.agent_id, LLMModel.name)
            .join_from(
                GamePlayer,
                sa.table("agents", sa.column("id"), sa.column("model_id")),
                sa.text("agents.id = game_players.agent_id"),
            )
            .join(LLMModel.__table__, sa.text("llm_models.id = agents.model_id"))
        ).all()
        games = conn.execute(sa.select(Game.id, Game.status, Game.started_at)).all()
    agent_id = arena.synthetic.agent_ids[3]
    by_agent = sorted({p.game_id for p in players if p.agent_id == agent_id}, reverse=True)
    assert [g.id for g in list_games(engine, agent=str(agent_id), limit=500)] == by_agent
    by_model = sorted({p.game_id for p in players if p.name == "o3-mini"}, reverse=True)
    assert [g.id for g in list_games(engine, model="o3-mini", limit=500)] == by_model
    failed = sorted((g.id for g in games if g.status == "failed"), reverse=True)
    assert [g.id for g in list_games(engine, status="failed", limit=500)] == failed
    assert arena.crashed in failed
    assert [g.id for g in list_games(engine, agent="alice")] == [arena.crashed, arena.known]
    assert [g.id for g in list_games(engine, model="test-model")] == [arena.crashed, arena.known]
    assert [g.id for g in list_games(engine, game_type="Duel-v0")] == [arena.crashed, arena.known]
    window = list_games(engine, since=T0, until=T0 + timedelta(minutes=30))
    assert [g.id for g in window] == [arena.known]
    assert [g.id for g in list_games(engine, since=T0 + timedelta(minutes=30))] == [arena.crashed]


def test_games_list_in_a_time_window_is_newest_started_first(engine: sa.Engine):
    """Within --since/--until a page is ordered by start time, then id (the start-time index
    serves it; by id, a window far back walked the primary key from the newest game)."""
    from sqlalchemy.orm import Session

    from arenadb.inspection.filters import GameFilter
    from arenadb.inspection.rows import list_game_rows
    from tests.support.synthetic import START

    build_arena(engine, games=40)
    with engine.begin() as conn:  # game 30 started before game 10: ids and starts disagree
        conn.execute(
            sa.update(Game).where(Game.id == 30).values(started_at=START + timedelta(minutes=29))
        )
        starts = conn.execute(
            sa.select(Game.id, Game.started_at).where(Game.started_at.is_not(None))
        ).all()
    since, until = START + timedelta(minutes=20), START + timedelta(minutes=100)
    inside = [(at, i) for i, at in starts if since <= at.replace(tzinfo=START.tzinfo) < until]
    expected = [i for _at, i in sorted(inside, reverse=True)]
    assert 30 in expected and expected.index(30) > expected.index(10)
    pages = [
        list_games(engine, since=since, until=until, limit=7, offset=o) for o in range(0, 35, 7)
    ]
    assert [g.id for page in pages for g in page] == expected
    with Session(engine) as session:
        rows = list_game_rows(session, GameFilter(since=since, until=until), limit=100)
    assert [g.id for g in rows] == expected
    assert [g.id for g in list_games(engine, limit=3)] == [40, 39, 38], "no window: by id"


def test_games_list_rejects_unknown_filters(arena: Arena):
    with pytest.raises(NotFoundError, match="agent nobody not found"):
        list_games(arena.engine, agent="nobody")
    with pytest.raises(NotFoundError, match="model nothing not found"):
        list_games(arena.engine, model="nothing")
    with pytest.raises(NotFoundError, match="game type Chess-v9 not found"):
        list_games(arena.engine, game_type="Chess-v9")
    with pytest.raises(InvalidArgumentError, match="unknown game status"):
        list_games(arena.engine, status="won")
    with pytest.raises(InvalidArgumentError):
        list_games(arena.engine, limit=0)


# --------------------------------------------------------------------------- game info


def test_game_info_of_the_known_game(arena: Arena):
    detail = game_info(arena.engine, arena.known)
    assert (detail.id, detail.uuid, detail.type, detail.status) == (
        arena.known,
        str(UUID_A),
        "Duel-v0",
        "completed",
    )
    assert (detail.turns, detail.invalid_turns) == (3, 1)
    assert (detail.llm_calls, detail.llm_errors, detail.last_llm_error) == (5, 1, "rate limited")
    assert (detail.input_tokens, detail.output_tokens, detail.reasoning_tokens) == (107, 17, 5)
    assert detail.cost == pytest.approx(1.0) and not detail.cost_complete  # 2 calls unpriced
    assert [(s.cost, s.cost_complete) for s in detail.seats] == [
        (pytest.approx(0.75), True),
        (pytest.approx(0.25), False),
    ]
    assert detail.latency_p50_ms == 250.0
    assert detail.latency_p95_ms == pytest.approx(385.0)
    assert detail.duration_s == 300.0 and not detail.crashed
    assert [(s.seat, s.agent, s.model, s.side, s.role) for s in detail.seats] == [
        (0, "alice", "test-model", "red", "Knight"),
        (1, "bob", "test-model", "blue", None),
    ]
    assert [s.rating_change for s in detail.seats] == [1.5, -1.5]
    assert [s.invalid_moves for s in detail.seats] == [0, 1]
    assert [(s.llm_calls, s.input_tokens) for s in detail.seats] == [(2, 30), (3, 77)]
    assert [(s.turn, s.kind) for s in detail.snapshots] == [(1, "periodic"), (3, "final")]
    assert detail.turn_list is None


def test_game_info_turns_and_crash(arena: Arena):
    detail = game_info(arena.engine, arena.known, with_turns=True)
    assert detail.turn_list is not None
    assert [(t.seq, t.seat, t.agent, t.valid) for t in detail.turn_list] == [
        (0, 0, "alice", True),
        (1, 1, "bob", False),
        (2, None, None, None),
    ]
    crashed = game_info(arena.engine, str(arena.crashed))
    assert crashed.crashed and crashed.error == "env exploded" and crashed.status == "failed"
    assert crashed.turns == 0 and crashed.latency_p50_ms is None
    assert crashed.cost is None  # no call logged: unknown, never a made-up $0


def test_game_lookup_by_uuid_and_prefix(arena: Arena):
    engine = arena.engine
    assert game_info(engine, str(UUID_A)).id == arena.known
    assert game_info(engine, UUID_A.hex.upper()).id == arena.known
    assert game_info(engine, "abcdef00").id == arena.known
    assert game_info(engine, "ABCDEF01-00").id == arena.crashed
    with pytest.raises(AmbiguousError, match="abcdef0 is ambiguous") as excinfo:
        game_info(engine, "abcdef0")
    assert str(UUID_A) in str(excinfo.value) and str(UUID_B) in str(excinfo.value)
    with pytest.raises(NotFoundError, match=r"^game 999999 not found$"):
        game_info(engine, 999999)
    with pytest.raises(NotFoundError, match="not found"):
        game_info(engine, "fedcba98")
    with pytest.raises(InvalidArgumentError):
        game_info(engine, "not-a-game")


def test_replay_has_every_turn_with_player_actions(arena: Arena):
    replay = game_replay(arena.engine, arena.known)
    assert [t.action for t in replay.turns] == [
        "I attack [bold]left[/bold]",
        "gibberish move",
        "bob is eliminated",
    ]
    assert replay.turns[0].actions == [
        {
            "idx": 0,
            "seat": None,
            "type": "attack",
            "payload": {"lane": "left"},
            "result": None,
            "valid": None,
        }
    ]
    assert replay.turns[1].observation == "observation 1"
    assert [s.agent for s in replay.seats] == ["alice", "bob"]


# --------------------------------------------------------------------------- agents, models, db


def test_agents_list_shows_last_game_and_rating(arena: Arena):
    agents = list_agents(arena.engine, limit=100)
    assert [a.id for a in agents] == sorted(a.id for a in agents)
    with arena.engine.connect() as conn:
        rows = conn.execute(sa.select(GamePlayer.agent_id, GamePlayer.game_id)).all()
        ratings = dict(
            conn.execute(
                sa.select(Rating.agent_id, Rating.games).where(
                    Rating.system == "trueskill", Rating.game_type_id.is_(None)
                )
            ).all()
        )
    games: dict[int, set[int]] = defaultdict(set)
    for agent_id, game_id in rows:
        games[agent_id].add(game_id)
    for agent in agents:
        assert agent.last_game_id == (max(games[agent.id]) if games[agent.id] else None)
        assert agent.rated_games == ratings.get(agent.id, 0)
    alice = next(a for a in agents if a.alias == "alice")
    assert (alice.model, alice.last_game_id, alice.rating_mu) == ("test-model", arena.crashed, None)
    synthetic = next(a for a in agents if a.id == arena.synthetic.agent_ids[0])
    assert synthetic.rating_mu is not None and synthetic.rated_games > 0
    assert {a.alias for a in list_agents(arena.engine, model="test-model")} == {"alice", "bob"}
    assert list_agents(arena.engine, active=False) == []
    assert [a.id for a in list_agents(arena.engine, limit=3, offset=2)] == [
        a.id for a in agents[2:5]
    ]


@pytest.mark.parametrize("exact", [False, True], ids=["rollup", "exact"])
def test_models_stats_agree_with_brute_force(arena: Arena, exact: bool):
    with arena.engine.connect() as conn:
        calls = conn.execute(
            sa.select(
                LLMModel.name,
                LLMCall.request_model,
                LLMCall.status,
                LLMCall.latency_ms,
                LLMCall.input_tokens,
                LLMCall.output_tokens,
                LLMCall.reasoning_tokens,
                LLMCall.cost,
            ).outerjoin(LLMModel.__table__, LLMModel.id == LLMCall.model_id)
        ).all()
    expected: dict[str, list] = defaultdict(list)
    for call in calls:
        expected[call.name or call.request_model].append(call)
    stats = {s.model: s for s in models_stats(arena.engine, exact=exact)}
    # The rollup's percentiles come from its histogram: within its stated bucket error.
    error = 0.0 if exact else LATENCY_ERROR
    close = (lambda v: pytest.approx(v)) if exact else (lambda v: pytest.approx(v, rel=error))
    assert set(expected) <= set(stats)
    assert stats["mystery/model"].id is None and stats["mystery/model"].calls == 1
    for name, rows in expected.items():
        got = stats[name]
        latencies = sorted(r.latency_ms for r in rows if r.latency_ms is not None)
        assert got.calls == len(rows)
        assert got.errors == sum(1 for r in rows if r.status != "ok")
        assert got.input_tokens == sum(r.input_tokens or 0 for r in rows)
        assert got.output_tokens == sum(r.output_tokens or 0 for r in rows)
        assert got.reasoning_tokens == sum(r.reasoning_tokens or 0 for r in rows)
        priced = [r.cost for r in rows if r.cost is not None]
        assert got.cost == (pytest.approx(sum(priced)) if priced else None)
        assert got.cost_unknown == len(rows) - len(priced)
        assert got.cost_complete == (len(priced) == len(rows))
        assert got.latency_error == error
        assert got.latency_p50_ms == (close(percentile(latencies, 0.5)) if latencies else None)
        assert got.latency_p95_ms == (close(percentile(latencies, 0.95)) if latencies else None)
    test_model = stats["test-model"]
    assert (test_model.calls, test_model.errors, test_model.error_rate) == (4, 1, 0.25)
    assert (test_model.cost, test_model.cost_unknown) == (1.0, 1)
    assert (test_model.latency_p50_ms, test_model.latency_p95_ms) == (close(250), close(385))
    assert stats["mystery/model"].cost is None and stats["mystery/model"].cost_unknown == 1


def test_db_stats_counts_rows(arena: Arena):
    stats = db_stats(arena.engine, exact=True)
    assert not stats.estimated and not any(t.estimated for t in stats.tables)
    tables = {t.table: t for t in stats.tables}
    synthetic = arena.synthetic
    assert tables["games"].rows == synthetic.games + 2
    assert tables["llm_calls"].rows == synthetic.llm_calls + 5
    assert tables["game_turns"].rows == synthetic.turns + 3
    assert tables["alembic_version"].rows == 1
    assert tables["llm_calls"].size_bytes and tables["llm_calls"].size_bytes > 0
    assert stats.size_bytes and stats.size_bytes >= tables["llm_calls"].size_bytes


def test_db_stats_estimates_are_labelled_and_near_the_counts(arena: Arena):
    """The default: estimates, flagged per table, of the right order of magnitude (PostgreSQL's
    after ANALYZE, which arenadb's bulk loads and autovacuum run)."""
    engine = arena.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
    exact = {t.table: t.rows for t in db_stats(engine, exact=True).tables}
    stats = db_stats(engine)
    assert stats.estimated
    tables = {t.table: t for t in stats.tables}
    assert set(tables) == set(exact)
    for name in ("games", "game_turns", "llm_calls", "game_players"):
        assert tables[name].estimated, name
        assert exact[name] / 3 <= tables[name].rows <= exact[name] * 3, name
    if engine.dialect.name == "sqlite":
        assert tables["llm_calls"].size_bytes is None  # dbstat reads every page: --exact only
        assert stats.size_bytes
    else:
        assert tables["llm_calls"].size_bytes


# --------------------------------------------------------------------------- no N+1


def test_statement_counts_do_not_grow_with_pages_seats_or_turns(arena: Arena):
    engine = arena.engine

    def statements(call) -> int:
        with count_statements(engine) as seen:
            call()
        return len(seen)

    small = statements(lambda: list_games(engine, limit=2))
    # The page, its counts, and the winners of its 1v1 / free-for-all games.
    assert statements(lambda: list_games(engine, limit=50)) == small <= 3
    assert statements(lambda: list_games(engine, limit=50, agent="alice", model="o3-mini")) <= 4
    # Two seats and no turns, two seats and three turns, six seats, four seats with snapshots.
    games = [
        arena.crashed,
        arena.known,
        _game_ids_of_type(arena, "SecretMafia-v0")[0],
        _game_ids_of_type(arena, "FourX-v0")[0],
    ]
    info_counts = {statements(lambda g=g: game_info(engine, g)) for g in games}
    assert len(info_counts) == 1 and info_counts.pop() <= 5
    turn_counts = {statements(lambda g=g: game_info(engine, g, with_turns=True)) for g in games}
    assert len(turn_counts) == 1
    replay_counts = {statements(lambda g=g: game_replay(engine, g)) for g in games}
    assert len(replay_counts) == 1 and replay_counts.pop() <= 5
    assert statements(lambda: list_agents(engine, limit=2)) == statements(
        lambda: list_agents(engine, limit=50)
    )
    assert statements(lambda: models_stats(engine)) <= 4
    assert statements(lambda: db_stats(engine)) <= 8


# --------------------------------------------------------------------------- CLI


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["games", "list", "--limit", "5"], "Duel-v0"),
        (
            ["games", "list", "--agent", "alice", "--type", "Duel-v0", "--since", "2030-01-01"],
            "win: red",
        ),
        (["game", "info", "{known}"], "rate limited"),
        (["game", "info", "{known}", "--turns"], "gibberish move"),
        (["game", "replay", "{known}"], "gibberish move"),
        (["agents", "list"], "alice"),
        (["models", "stats"], "test-model"),
        (["db", "stats"], "llm_calls"),
    ],
)
def test_cli_tables(arena: Arena, args: list[str], expect: str):
    result = run(arena, *(a.format(known=arena.known) for a in args))
    assert result.exit_code == 0, result.output
    assert expect in result.stdout


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        (["games", "list", "--limit", "7"], {"id", "status", "uuid", "type", "seats", "turns"}),
        (["agents", "list"], {"id", "alias", "model", "rated_games", "last_game_id"}),
        (["models", "stats"], {"id", "model", "calls", "latency_p95_ms", "error_rate"}),
        (["db", "stats"], {"table", "rows", "size_bytes", "estimated"}),
    ],
)
def test_cli_lists_as_json_and_csv(arena: Arena, args: list[str], fields: set[str]):
    result = run(arena, *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list) and data and fields <= set(data[0])
    result = run(arena, *args, "--csv")
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout)
    assert len(rows) == len(data) and fields <= set(rows[0])
    assert result.stderr == ""


def test_cli_games_list_json_values(arena: Arena):
    result = run(arena, "--json", "games", "list", "--type", "Duel-v0")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(g["id"], g["status"], g["crashed"]) for g in data] == [
        (arena.crashed, "failed", True),
        (arena.known, "completed", False),
    ]
    assert data[1]["seats"] == 2 and data[1]["turns"] == 3 and data[1]["winning_side"] == "red"


def test_cli_game_info_json_and_csv(arena: Arena):
    result = run(arena, "game", "info", str(UUID_A), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["id"], data["status"], data["uuid"]) == (arena.known, "completed", str(UUID_A))
    assert data["seats"][0]["rating_change"] == 1.5 and "turn_list" not in data
    result = run(arena, "game", "info", "abcdef00", "--turns", "--json")
    assert [t["valid"] for t in json.loads(result.stdout)["turn_list"]] == [True, False, None]
    result = run(arena, "game", "info", str(arena.known), "--csv")
    assert result.exit_code == 0, result.output
    (row,) = _csv(result.stdout)
    assert row["id"] == str(arena.known) and row["status"] == "completed"
    assert json.loads(row["seats"])[1]["agent"] == "bob"


def test_cli_replay_json_csv_and_text(arena: Arena):
    result = run(arena, "game", "replay", str(arena.known), "--json")
    data = json.loads(result.stdout)
    assert data["id"] == arena.known and data["status"] == "completed"
    assert data["turns"][0]["actions"][0]["payload"] == {"lane": "left"}
    result = run(arena, "game", "replay", str(arena.known), "--csv")
    rows = _csv(result.stdout)
    assert [r["valid"] for r in rows] == ["true", "false", ""]  # issue 15: CSV booleans
    # Text from the game is shown as written, never read as Rich markup.
    result = run(arena, "game", "replay", str(arena.known), "--observations")
    assert "I attack [bold]left[/bold]" in result.stdout
    assert "INVALID" in result.stdout and "observation 1" in result.stdout
    assert result.stdout.index("gibberish move") < result.stdout.index("bob is eliminated")


def test_cli_replay_marks_invalid_moves_in_red(arena: Arena):
    # FORCE_COLOR makes Rich emit colours as on a terminal; --no-pager keeps the output here.
    result = run(arena, "game", "replay", str(arena.known), "--no-pager", env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if "gibberish move" in x]
    assert "\x1b[1;31mgibberish move" in line
    (valid,) = [x for x in result.stdout.splitlines() if "I attack" in x]
    assert "31m" not in valid


def test_cli_long_replay_is_not_paged_without_a_terminal(arena: Arena):
    fourx = _game_ids_of_type(arena, "FourX-v0")[0]
    result = run(arena, "game", "replay", str(fourx), env={"PAGER": "false"})
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") > 50 and "turn 15" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["game", "info", "999"], "error: game 999 not found\n"),
        (["game", "replay", "999"], "error: game 999 not found\n"),
        (["--json", "game", "info", "999"], "error: game 999 not found\n"),
        (["game", "info", "abcdef0"], "error: game prefix abcdef0 is ambiguous"),
        (["games", "list", "--agent", "nobody"], "error: agent nobody not found\n"),
    ],
)
def test_cli_errors_go_to_stderr_with_exit_1(arena: Arena, args: list[str], message: str):
    result = run(arena, *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(message)


def test_cli_usage_errors_exit_2(arena: Arena):
    for args in (
        ["games", "list", "--status", "won"],
        ["games", "list", "--since", "yesterday"],
        ["game", "info", "xyz!"],
        ["games", "list", "--json", "--csv"],
    ):
        result = run(arena, *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""


@pytest.mark.parametrize(
    "command",
    [
        ["games", "list"],
        ["game", "info"],
        ["game", "replay"],
        ["agents", "list"],
        ["models", "stats"],
        ["db", "stats"],
    ],
)
def test_inspection_commands_have_help(command: list[str]):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "--json" in result.stdout and "--csv" in result.stdout


def test_cli_on_an_empty_database(db_settings: Settings):
    for args in (["games", "list"], ["agents", "list"], ["models", "stats"]):
        result = runner.invoke(app, ["--database-url", db_settings.database_url, *args])
        assert result.exit_code == 0, result.output
        assert result.stderr == "(no rows)\n"
        result = runner.invoke(app, ["--database-url", db_settings.database_url, "--json", *args])
        assert json.loads(result.stdout) == []


def test_replays_are_paged_only_on_a_terminal_when_longer_than_the_screen():
    from rich.console import Console

    from arenadb.cli.render.games import should_page

    terminal = Console(file=io.StringIO(), force_terminal=True, height=40)
    pipe = Console(file=io.StringIO(), force_terminal=False, height=40)
    assert should_page(terminal, 41)
    assert not should_page(terminal, 40)
    assert not should_page(terminal, 41, enabled=False)
    assert not should_page(pipe, 1_000)


def test_unknown_cost_is_unknown_in_every_format(arena: Arena):
    """Never $0.0000 / 0.0 for what nobody priced: "unknown" or a lower bound in tables,
    null in JSON, an empty CSV cell."""
    info = run(arena, "game", "info", str(arena.known))
    assert info.exit_code == 0, info.output
    assert "≥ $1.0000" in info.stdout and "$0.7500" in info.stdout and "≥ $0.2500" in info.stdout
    crashed = run(arena, "game", "info", str(arena.crashed))
    assert "unknown" in crashed.stdout and "$0.0000" not in crashed.stdout
    as_json = json.loads(run(arena, "game", "info", str(arena.crashed), "--json").stdout)
    assert as_json["cost"] is None and all(s["cost"] is None for s in as_json["seats"])
    stats = run(arena, "models", "stats")
    mystery = next(line for line in stats.stdout.splitlines() if "mystery/model" in line)
    assert "unknown" in mystery and "$0.0000" not in mystery
    by_name = {m["model"]: m for m in json.loads(run(arena, "models", "stats", "--json").stdout)}
    assert by_name["mystery/model"]["cost"] is None
    assert by_name["test-model"]["cost_complete"] is False
    rows = {r["model"]: r for r in _csv(run(arena, "models", "stats", "--csv").stdout)}
    assert rows["mystery/model"]["cost"] == ""


def test_db_stats_cli_estimated_exact_and_bad_flags(backend, db_settings, cli_env):
    """A fresh database (PostgreSQL: never analysed, reltuples -1): estimates of 0, labelled;
    --exact: the counts, unlabelled; --json with --csv: one line, exit 2."""
    from arenadb.cli import app
    from arenadb.db import create_engine as make_engine

    runner = CliRunner()
    estimated = runner.invoke(app, ["db", "stats", "--json"], env=cli_env)
    assert estimated.exit_code == 0, estimated.output
    rows = {r["table"]: r for r in json.loads(estimated.stdout)}
    assert rows["games"]["estimated"] is True and rows["games"]["rows"] == 0
    assert all(r["rows"] >= 0 for r in rows.values())
    table = runner.invoke(app, ["db", "stats"], env=cli_env)
    assert table.exit_code == 0 and "~" in table.stdout and "--exact" in table.stderr
    engine = make_engine(db_settings)
    try:
        build_arena(engine, games=12)
        exact = {t.table: t.rows for t in db_stats(engine, exact=True).tables}
    finally:
        engine.dispose()
    counted = runner.invoke(app, ["db", "stats", "--exact", "--json"], env=cli_env)
    assert counted.exit_code == 0, counted.output
    rows = {r["table"]: r for r in json.loads(counted.stdout)}
    assert {t: r["rows"] for t, r in rows.items()} == exact and exact["games"] == 12
    assert not any(r["estimated"] for r in rows.values())
    plain = runner.invoke(app, ["db", "stats", "--exact"], env=cli_env)
    assert plain.exit_code == 0 and "~" not in plain.stdout and plain.stderr == ""
    bad = runner.invoke(app, ["db", "stats", "--exact", "--json", "--csv"], env=cli_env)
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.output
