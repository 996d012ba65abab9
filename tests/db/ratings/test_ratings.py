"""Rating updates when games finish, the rebuild from history, and parallel finishers; both
backends."""

from __future__ import annotations

import itertools
import multiprocessing
from collections import defaultdict

import pytest
import sqlalchemy as sa

from arenadb.db import session_scope
from arenadb.errors import ConflictError, NotFoundError
from arenadb.models import Game, Rating, RatingEvent
from arenadb.ratings.book import rate_game, rebuild_ratings
from tests.support.ratings_factory import (
    MAFIA_SIDES,
    finish_and_rate,
    finish_plans_worker,
    make_agents,
    make_game,
    make_game_types,
    random_history,
    ratings_snapshot,
)


def events(engine, **where):
    with engine.connect() as conn:
        query = sa.select(RatingEvent).order_by(RatingEvent.id)
        for column, value in where.items():
            query = query.where(getattr(RatingEvent, column) == value)
        return conn.execute(query).all()


def event_history(engine):
    """Events in id order, without ids and timestamps (what a rebuild must reproduce)."""
    fields = ("game_id", "agent_id", "seat", "system", "game_type_id")
    fields += ("mu_before", "sigma_before", "mu_after", "sigma_after")
    return [tuple(getattr(e, f) for f in fields) for e in events(engine)]


def assert_event_chains_unbroken(engine):
    """Each rating's events chain (before == previous after) and count its games: no update
    was lost or applied to a stale rating."""
    chains = defaultdict(list)
    for e in events(engine):
        chains[(e.agent_id, e.system, e.game_type_id)].append(e)
    snapshot = ratings_snapshot(engine)
    assert set(chains) == set(snapshot)
    for key, chain in chains.items():
        for previous, current in itertools.pairwise(chain):
            assert (current.mu_before, current.sigma_before) == (
                previous.mu_after,
                previous.sigma_after,
            ), key
        mu, sigma, games = snapshot[key][:3]
        assert (mu, sigma, games) == (chain[-1].mu_after, chain[-1].sigma_after, len(chain))


@pytest.fixture
def arena(engine):
    """Eight agents and three game types in the test database."""
    return make_agents(engine, 8), make_game_types(engine)


def test_finishing_a_team_game_rates_every_player_in_both_systems_and_scopes(engine, arena):
    agents, types = arena
    mafia_type = types["SecretMafia-v0"]
    game_id = make_game(engine, mafia_type, agents[:6], sides=MAFIA_SIDES)
    changes = finish_and_rate(engine, game_id, winning_side="village")
    assert len(changes) == 6 * 2 * 2
    snapshot = ratings_snapshot(engine)
    assert len(snapshot) == 24 and len(events(engine, game_id=game_id)) == 24
    for system in ("trueskill", "openskill"):
        for scope in (None, mafia_type):
            villager = snapshot[(agents[0], system, scope)]
            mafioso = snapshot[(agents[5], system, scope)]
            assert villager[0] > 25 > mafioso[0]
            assert villager[2:6] == (1, 1, 0, 0) and mafioso[2:6] == (1, 0, 0, 1)
            assert villager[6] == game_id
    first = events(engine, game_id=game_id, agent_id=agents[0], system="trueskill")
    assert [e.game_type_id for e in first] == [None, mafia_type]
    assert first[0].mu_before == 25.0 and first[0].mu_after > 25.0


@pytest.mark.parametrize(
    "ending",
    [
        {"outcome": "no_contest"},
        {"crashed": True},
        {"status": "failed"},
        {"status": "aborted", "outcome": None},
        {"unrated": True},
    ],
    ids=["no_contest", "crashed", "failed", "aborted", "unrated"],
)
def test_games_that_change_nothing(engine, arena, ending):
    agents, types = arena
    ending = dict(ending)
    rated = not ending.pop("unrated", False)
    game_id = make_game(engine, types["ColonelBlotto-v0"], agents[:2], rated=rated)
    changes = finish_and_rate(engine, game_id, ranks={0: 1, 1: 2}, **ending)
    assert changes == []
    assert ratings_snapshot(engine) == {} and events(engine) == []


def test_draw_and_free_for_all(engine, arena):
    agents, types = arena
    draw = make_game(engine, types["ColonelBlotto-v0"], agents[:2])
    finish_and_rate(engine, draw, outcome="draw")
    ffa = make_game(engine, types["Poker-v0"], agents[2:6])
    finish_and_rate(engine, ffa, rewards={0: 1.0, 1: 9.0, 2: -3.0, 3: 1.0})
    snap = ratings_snapshot(engine)
    a, b = snap[(agents[0], "trueskill", None)], snap[(agents[1], "trueskill", None)]
    assert a[2:6] == (1, 0, 1, 0) and b[2:6] == (1, 0, 1, 0)
    assert a[0] == pytest.approx(b[0]) and a[1] < 25 / 3  # a draw is information, not nothing
    mu = {i: snap[(agents[2 + i], "openskill", None)][0] for i in range(4)}
    assert mu[1] > mu[0] > mu[2] and mu[0] == pytest.approx(mu[3])
    assert snap[(agents[3], "openskill", None)][2:6] == (1, 1, 0, 0)


def test_rating_a_game_twice_is_refused(engine, arena):
    agents, types = arena
    game_id = make_game(engine, types["ColonelBlotto-v0"], agents[:2])
    finish_and_rate(engine, game_id, ranks={0: 1, 1: 2})
    with (
        pytest.raises(ConflictError, match="already rated"),
        session_scope(engine, write=True) as session,
    ):
        rate_game(session, game_id)
    with pytest.raises(NotFoundError), session_scope(engine, write=True) as session:
        rate_game(session, 999_999)


def test_rebuild_reproduces_incremental_ratings_exactly(engine, arena):
    agents, types = arena
    for plan in random_history(engine, types, agents, 40, seed=7):
        game_id = plan.pop("game_id")
        finish_and_rate(engine, game_id, **plan)
    incremental, history = ratings_snapshot(engine), event_history(engine)
    assert incremental and len(history) > 300
    assert_event_chains_unbroken(engine)

    progress: list[tuple[int, int]] = []
    result = rebuild_ratings(
        engine, progress=lambda _what, done, total: progress.append((done, total))
    )
    assert ratings_snapshot(engine) == incremental
    assert event_history(engine) == history
    assert result.events == len(history) and result.ratings == len(incremental)
    assert progress[-1] == (result.games, result.games) and result.games >= 35

    # One system, one game type: the rest is left alone, the rebuilt part is the same.
    rebuild_ratings(engine, systems=["openskill"])
    rebuild_ratings(engine, game_type="SecretMafia-v0")
    assert ratings_snapshot(engine) == incremental
    assert_event_chains_unbroken(engine)
    # A second full rebuild replays the order the first one wrote.
    rebuild_ratings(engine)
    assert ratings_snapshot(engine) == incremental


def test_rebuild_written_in_many_chunks_is_the_same(engine, arena, monkeypatch):
    # PostgreSQL writes a rebuild's events in chunks from a second thread: small chunks and a
    # short queue make this history take many of them, in order, with the caller waiting.
    from arenadb.db.bulk import BackgroundCopy

    agents, types = arena
    for plan in random_history(engine, types, agents, 30, seed=11):
        game_id = plan.pop("game_id")
        finish_and_rate(engine, game_id, **plan)
    incremental, history = ratings_snapshot(engine), event_history(engine)
    monkeypatch.setattr(BackgroundCopy, "CHUNK_ROWS", 7)
    monkeypatch.setattr(BackgroundCopy, "QUEUED_CHUNKS", 1)
    result = rebuild_ratings(engine)
    assert result.events == len(history) > 10 * 7
    assert ratings_snapshot(engine) == incremental
    assert event_history(engine) == history


def test_rebuild_gives_the_connection_back_with_foreign_keys_on(db_settings, arena, backend):
    # SQLite skips foreign-key lookups while a rebuild writes (write_transaction's
    # check_foreign_keys=False); the pooled connection must come back with its checks.
    if backend != "sqlite":
        pytest.skip("PostgreSQL always checks foreign keys")
    from arenadb.db import create_engine

    agents, types = arena
    one = create_engine(db_settings, pool_size=1, max_overflow=0)
    try:
        for plan in random_history(one, types, agents, 8, seed=3):
            game_id = plan.pop("game_id")
            finish_and_rate(one, game_id, **plan)
        result = rebuild_ratings(one)
        assert result.events > 0
        with one.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        with pytest.raises(NotFoundError):  # fails inside the transaction
            rebuild_ratings(one, game_type="NoSuchGame-v0")
        with one.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # ... and a bad reference is refused again.
            with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
                conn.exec_driver_sql(
                    "insert into rating_events (game_id, agent_id, seat, system, mu_before, "
                    "sigma_before, mu_after, sigma_after) values (9999, 1, 0, 'trueskill', "
                    "25, 8, 26, 7)"
                )
    finally:
        one.dispose()


def test_a_failed_background_chunk_is_raised_and_nothing_is_kept(engine, arena, backend):
    if backend != "postgresql":
        pytest.skip("SQLite writes the events in one executemany, in this thread")
    from datetime import datetime, timezone

    import psycopg

    from arenadb.db.bulk import BackgroundCopy, bulk_writer
    from arenadb.ratings.book import EVENT_COLUMNS
    from arenadb.ratings.replay import RATING_EVENTS

    agents, types = arena
    game_id = make_game(engine, types["ColonelBlotto-v0"], agents[:2])
    now = datetime.now(timezone.utc)

    def row(game: int) -> tuple:
        return (game, agents[0], 0, "trueskill", None, 25.0, 8.3, 26.0, 8.0, now)

    with (
        pytest.raises(psycopg.errors.ForeignKeyViolation, match="rating_events"),
        engine.begin() as conn,
        bulk_writer(conn, RATING_EVENTS, EVENT_COLUMNS, background=True) as write,
    ):
        write([row(game_id)] * BackgroundCopy.CHUNK_ROWS)  # a good chunk
        write([row(game_id + 1000)] * BackgroundCopy.CHUNK_ROWS)  # no such game
        write([row(game_id)] * 10)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(RatingEvent)).scalar() == 0


def test_rebuild_includes_games_never_rated_and_drops_games_no_longer_rated(engine, arena):
    agents, types = arena
    blotto = types["ColonelBlotto-v0"]
    rated = make_game(engine, blotto, agents[:2])
    finish_and_rate(engine, rated, ranks={0: 1, 1: 2})
    # Finished before ratings existed: completed, but never rated.
    with session_scope(engine, write=True) as session:
        old = session.get(Game, make_game(engine, blotto, agents[1:3]))
        old.status, old.outcome, old.winning_side = "completed", "win", None
        for player in old.players:
            player.rank = player.seat + 1
    rebuild_ratings(engine, systems=["trueskill"])
    snap = ratings_snapshot(engine)
    assert snap[(agents[1], "trueskill", None)][2] == 2
    assert snap[(agents[1], "openskill", None)][2] == 1  # openskill was not rebuilt
    # Marking a game unrated and rebuilding removes its effect.
    with session_scope(engine, write=True) as session:
        session.get(Game, rated).rated = False
    rebuild_ratings(engine)
    snap = ratings_snapshot(engine)
    assert (agents[0], "trueskill", None) not in snap
    assert snap[(agents[1], "openskill", blotto)][2:6] == (1, 1, 0, 0)


def test_parallel_finishers_end_with_the_sequential_rebuild_result(engine, db_settings, arena):
    """4 processes finish 80 games concurrently: no lost update, and a rebuild agrees exactly."""
    agents, types = arena
    plans = random_history(engine, types, agents, 80, seed=11)
    chunks = [plans[i::4] for i in range(4)]
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(4), context.Queue()
    workers = [
        context.Process(
            target=finish_plans_worker, args=(db_settings.database_url, chunk, start, results)
        )
        for chunk in chunks
    ]
    for worker in workers:
        worker.start()
    counts = [results.get(timeout=240) for _ in workers]  # None from a worker that failed
    for worker in workers:
        worker.join(timeout=60)
    assert None not in counts and [w.exitcode for w in workers] == [0] * 4
    rated = sum(counts)
    assert rated >= 60
    assert_event_chains_unbroken(engine)
    with engine.connect() as conn:
        played = conn.execute(
            sa.select(sa.func.count())
            .select_from(RatingEvent)
            .where(RatingEvent.system == "trueskill")
        ).scalar_one()
        games_counted = conn.execute(
            sa.select(sa.func.sum(Rating.games)).where(Rating.system == "trueskill")
        ).scalar_one()
    assert games_counted == played
    parallel = ratings_snapshot(engine)
    rebuild_ratings(engine)
    assert ratings_snapshot(engine) == parallel
