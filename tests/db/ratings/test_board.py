"""The Bradley-Terry board on small arenas: reduction of team games, self-play, shared first
place, cost, compare and matrix; both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import arenadb
from arenadb import Seat, SeatResult
from arenadb.errors import InvalidArgumentError, NotFoundError
from arenadb.models import GameType, Rating, RatingEvent
from arenadb.ratings.board import bradley_terry_boards
from arenadb.ratings.book import rebuild_ratings
from arenadb.ratings.head_to_head import compare_agents, pairwise_matrix
from tests.support.ratings_factory import ratings_snapshot
from tests.support.skill_arena import register_agents


def duel(arena, env_id, a, b, *, first_wins=True, cost_a=None, cost_b=None, calls=True):
    recorder = arena.start_game(env_id, [a, b])
    if calls:
        recorder.record_llm_call(seat=0, cost=cost_a, turn_seq=None)
        recorder.record_llm_call(seat=1, cost=cost_b, turn_seq=None)
    ranks = (1, 2) if first_wins else (2, 1)
    recorder.finish(
        outcome="win", results={0: SeatResult(rank=ranks[0]), 1: SeatResult(rank=ranks[1])}
    )


@pytest.fixture
def arena(db_settings):
    with arenadb.connect(settings=db_settings, pooled=False) as arena:
        arena.register_game_type("Duel-v0", min_seats=2, max_seats=2)
        arena.register_game_type("Teams-v0", min_seats=6, max_seats=6, sides=["village", "mafia"])
        arena.register_game_type("Race-v0", min_seats=3, max_seats=3)
        yield arena


def test_self_play_and_both_sides_never_move_an_agent(engine, arena):
    a, b, c, d, e, f, g = register_agents(arena, 7, "sp")
    for _ in range(30):  # a plays itself, seat 0 always wins
        duel(arena, "Duel-v0", a, a)
    for _ in range(3):
        duel(arena, "Duel-v0", b, c)
    # g sits on both sides of a team game; the other agents are rated as usual.
    seats = [Seat(x, side="village") for x in (b, c, d, g)] + [
        Seat(g, side="mafia"),
        Seat(e, side="mafia"),
    ]
    arena.start_game("Teams-v0", seats).finish(outcome="win", winning_side="mafia")
    with engine.connect() as conn:
        moved = set(conn.execute(sa.select(Rating.agent_id).distinct()).scalars())
        evented = set(conn.execute(sa.select(RatingEvent.agent_id).distinct()).scalars())
    assert a not in moved and g not in moved and a not in evented and g not in evented
    assert {b, c, d, e} <= moved
    before = ratings_snapshot(engine)  # a rebuild replays the same rule
    rebuild_ratings(engine)
    assert ratings_snapshot(engine) == before
    boards = {board.game_type: board for board in bradley_terry_boards(engine, rounds=50)}
    assert set(boards) == {"Duel-v0", "Teams-v0"}  # one board per type; Race-v0 has no games
    duel_board = boards["Duel-v0"]
    assert {r.agent_id for r in duel_board.rows} == {b, c} and duel_board.games == 3
    team_board = boards["Teams-v0"]
    assert g not in {r.agent_id for r in team_board.rows}
    assert {r.agent_id for r in team_board.rows} == {b, c, d, e}
    winner = next(r for r in team_board.rows if r.agent_id == e)
    assert winner.wins == 1 and winner.win_rate == 1.0
    assert team_board.rows[0].agent_id == e  # the one rated mafia player beat 3 villagers
    assert f not in {r.agent_id for board in boards.values() for r in board.rows}


def test_a_team_game_counts_once_and_shared_first_follows_the_setting(engine, arena):
    a, b, c = register_agents(arena, 3, "race")
    for _ in range(4):
        recorder = arena.start_game("Race-v0", [a, b, c])
        recorder.finish(
            outcome="win",
            results={0: SeatResult(rank=1), 1: SeatResult(rank=1), 2: SeatResult(rank=3)},
        )
    (board,) = bradley_terry_boards(engine, game_type="Race-v0", rounds=20)
    rows = {r.agent_id: r for r in board.rows}
    assert rows[a].draws == 4 and rows[a].wins == 0 and rows[c].losses == 4  # default: draw
    assert rows[a].rating == pytest.approx(rows[b].rating) and rows[a].rating > rows[c].rating
    cells = {(m.agent_a_id, m.agent_b_id): m for m in pairwise_matrix(engine, game_type="Race-v0")}
    assert cells[(a, b)].draws == 4 and cells[(a, c)].wins == 4 and cells[(c, a)].losses == 4
    assert cells[(a, c)].games == 4 and cells[(a, c)].win_rate == 1.0
    assert cells[(a, b)].win_rate == 0.5 and len(cells) == 6
    with arena.session(write=True) as session:
        game_type = session.execute(sa.select(GameType).where(GameType.env_id == "Race-v0"))
        game_type.scalar_one().config = {"shared_first": "win", "provisional_games": 3}
    (board,) = bradley_terry_boards(engine, game_type="Race-v0", rounds=20)
    rows = {r.agent_id: r for r in board.rows}
    assert rows[a].wins == 4 and rows[b].wins == 4 and rows[a].draws == 0
    assert board.shared_first == "win" and board.provisional_games == 3
    # 4 games >= 3, but 4 identical games are a degenerate bootstrap: interval unknown, so
    # provisional all the same.
    assert all(r.provisional and r.ci_low is None and r.rank is None for r in board.rows)
    (board,) = bradley_terry_boards(engine, game_type="Race-v0", rounds=20, provisional_games=5)
    assert all(r.provisional for r in board.rows)


def test_cost_per_game_and_per_win_unknown_is_unknown(engine, arena):
    a, b, c = register_agents(arena, 3, "cost")
    duel(arena, "Duel-v0", a, b, cost_a=0.25, cost_b=None)  # b's cost unknown
    duel(arena, "Duel-v0", a, b, first_wins=False, cost_a=0.75, cost_b=0.5)
    duel(arena, "Duel-v0", c, a, calls=False)  # no call logged: c's and a's cost unknown
    (board,) = bradley_terry_boards(engine, game_type="Duel-v0", rounds=20)
    rows = {r.agent_id: r for r in board.rows}
    # b: one call unpriced, so its known cost is a lower bound; c: nothing priced, unknown.
    assert rows[b].cost == pytest.approx(0.5) and not rows[b].cost_complete
    assert rows[b].cost_per_game == pytest.approx(0.25) and rows[b].cost_per_win == 0.5
    assert rows[c].cost is None and rows[c].cost_per_game is None  # never $0
    assert rows[c].cost_per_win is None and not rows[c].cost_complete
    assert rows[a].cost == pytest.approx(1.0) and not rows[a].cost_complete  # game 3: no calls
    duel(arena, "Duel-v0", b, c, cost_a=0.5, cost_b=0.125)
    (board,) = bradley_terry_boards(engine, game_type="Duel-v0", rounds=20)
    rows = {r.agent_id: r for r in board.rows}
    assert rows[c].cost == pytest.approx(0.125) and not rows[c].cost_complete
    # Recount on a type where everything is priced.
    arena.register_game_type("Priced-v0", min_seats=2, max_seats=2)
    duel(arena, "Priced-v0", a, b, cost_a=0.25, cost_b=0.5)
    duel(arena, "Priced-v0", a, b, first_wins=False, cost_a=0.75, cost_b=0.5)
    duel(arena, "Priced-v0", b, a, first_wins=False, cost_a=0.5, cost_b=0.5)
    (board,) = bradley_terry_boards(engine, game_type="Priced-v0", rounds=20)
    rows = {r.agent_id: r for r in board.rows}
    assert rows[a].cost_complete and rows[b].cost_complete
    assert rows[a].cost == pytest.approx(1.5) and rows[a].cost_per_game == pytest.approx(0.5)
    assert rows[a].wins == 2 and rows[a].cost_per_win == pytest.approx(0.75)
    assert rows[b].cost == pytest.approx(1.5) and rows[b].wins == 1
    assert rows[b].cost_per_win == pytest.approx(1.5)


def test_compare_and_reproducible_intervals(engine, arena):
    a, b, c = register_agents(arena, 3, "cmp")
    for i in range(40):  # seats alternate, so no seat term is confounded with an agent
        first, second = (a, b) if i % 2 else (b, a)
        duel(arena, "Duel-v0", first, second, first_wins=(first == a) == (i % 5 != 0), calls=False)
        first, second = (b, c) if i % 2 else (c, b)
        duel(arena, "Duel-v0", first, second, first_wins=(i % 4 < 2) == (first == b), calls=False)
    result = compare_agents(engine, a, b, rounds=200, seed=4)
    assert (result.games, result.a_wins, result.b_wins, result.draws) == (40, 32, 8, 0)
    assert result.game_type == "Duel-v0"
    assert result.ci_low < result.probability < result.ci_high
    assert result.significant and result.ci_low > 0.5 and 0.6 < result.probability < 0.95
    reverse = compare_agents(engine, b, a, rounds=200, seed=4)
    assert reverse.probability == pytest.approx(1 - result.probability)
    again = compare_agents(engine, a, b, rounds=200, seed=4)
    assert (again.ci_low, again.ci_high) == (result.ci_low, result.ci_high)
    other = compare_agents(engine, a, b, rounds=200, seed=5)
    assert (other.ci_low, other.ci_high) != (result.ci_low, result.ci_high)
    near = compare_agents(engine, b, c, rounds=200, seed=4)
    assert not near.significant and near.a_wins == 20
    arena.register_game_type("Other-v0", min_seats=2, max_seats=2)
    duel(arena, "Other-v0", a, b, calls=False)
    with pytest.raises(InvalidArgumentError, match="several game types"):
        compare_agents(engine, a, b)
    assert compare_agents(engine, a, b, game_type="Duel-v0", rounds=10).games == 40
    with pytest.raises(NotFoundError, match="999"):
        compare_agents(engine, a, 999)
    assert compare_agents(engine, "cmp-0", "cmp-1", game_type="Duel-v0", rounds=10).games == 40
    with pytest.raises(InvalidArgumentError, match="two different agents"):
        compare_agents(engine, a, "cmp-0")
    with pytest.raises(NotFoundError, match="never played"):
        compare_agents(engine, a, register_agents(arena, 1, "idle")[0])


def _scanned_costs(conn, pool):
    """The board's cost column as it was computed before the seat rollup: every LLM call of
    the pool's games, joined to its seat's player (kept here to check the rollup against)."""
    from arenadb.models import GamePlayer, LLMCall
    from arenadb.ratings.board import AgentCost

    totals: dict[int, list] = {}
    for ids in (pool.game_ids[i : i + 500] for i in range(0, len(pool.game_ids), 500)):
        rows = conn.execute(
            sa.select(
                GamePlayer.agent_id,
                sa.func.count(LLMCall.id).label("calls"),
                sa.func.count(LLMCall.cost).label("priced"),
                sa.func.sum(LLMCall.cost).label("cost"),
                sa.func.count(sa.distinct(LLMCall.game_id)).label("logged"),
            )
            .join(
                GamePlayer,
                sa.and_(GamePlayer.game_id == LLMCall.game_id, GamePlayer.seat == LLMCall.seat),
            )
            .where(LLMCall.game_id.in_(ids))
            .group_by(GamePlayer.agent_id)
        )
        for r in rows:
            total = totals.setdefault(r.agent_id, [0, 0, 0.0, 0])
            total[0] += r.calls
            total[1] += r.priced
            total[2] += float(r.cost or 0.0)
            total[3] += r.logged
    costs = {}
    for agent_id, (n, priced, cost, logged) in totals.items():
        record = pool.records.get(agent_id)
        complete = record is not None and logged >= record.games and priced == n
        costs[agent_id] = AgentCost(cost if priced else None, complete)
    return costs


def _assert_costs_equal_a_scan(engine):
    from arenadb.ratings.board import _agent_costs, load_pools
    from arenadb.ratings.unified import merge_pools

    with engine.connect() as conn:
        pools = load_pools(conn, None)
        assert pools
        pools.append(merge_pools(pools)[0])
        for pool in pools:
            fast, scan = _agent_costs(conn, pool), _scanned_costs(conn, pool)
            assert fast.keys() == scan.keys(), pool.env_id
            for agent_id, want in scan.items():
                got = fast[agent_id]
                assert got.complete == want.complete, (pool.env_id, agent_id)
                assert (got.known is None) == (want.known is None), (pool.env_id, agent_id)
                if want.known is not None:
                    assert got.known == pytest.approx(want.known, rel=1e-12)
    return pools


def test_the_cost_column_from_the_seat_rollup_equals_a_scan_of_the_calls(engine, arena):
    """On a synthetic arena (three game types, unrated and crashed games, calls without a seat)
    and on the small one above: an unpriced call, a game without calls, an agent on both
    sides; after a clean of old game detail too."""
    from datetime import datetime, timedelta, timezone

    from arenadb.portability.upkeep import clean_database
    from tests.support.synthetic import build_arena

    build_arena(engine, games=120, agents=12, batch_games=40)
    a, b, c = register_agents(arena, 3, "scan")
    duel(arena, "Duel-v0", a, b, cost_a=0.25, cost_b=None)
    duel(arena, "Duel-v0", c, a, calls=False)
    duel(arena, "Duel-v0", b, b, cost_a=0.5, cost_b=0.5)  # self-play: no comparison
    pools = _assert_costs_equal_a_scan(engine)
    assert any(r.known is not None for r in _scanned_costs_of(engine, pools[0]).values())
    with engine.connect() as conn:
        finished = sorted(
            conn.execute(sa.text("SELECT finished_at FROM games WHERE finished_at IS NOT NULL"))
            .scalars()
            .all()
        )
    middle = finished[len(finished) // 2]
    if isinstance(middle, str):
        middle = datetime.fromisoformat(middle)
    if middle.tzinfo is None:
        middle = middle.replace(tzinfo=timezone.utc)
    clean_database(engine, before=middle + timedelta(seconds=1), what=["game-detail"])
    _assert_costs_equal_a_scan(engine)


def _scanned_costs_of(engine, pool):
    with engine.connect() as conn:
        return _scanned_costs(conn, pool)
