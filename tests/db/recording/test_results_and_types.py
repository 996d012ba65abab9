"""Seat results merge into seat info, invalid moves come from the turns, game types are updated
on re-registration and checked at start, and an agent's config is part of its identity."""

from __future__ import annotations

import pytest

import arenadb
from arenadb import Seat, SeatResult
from arenadb.config import Settings
from arenadb.errors import ConflictError, InvalidDataError


@pytest.fixture
def arena(db_settings: Settings):
    with arenadb.connect(settings=db_settings) as arena:
        yield arena


def _agent(arena: arenadb.Arena, n: int = 0, config: dict | None = None, alias: str | None = None):
    return arena.register_agent(
        model="m", kind="plain", prompt=("p", f"prompt {n}"), config=config, alias=alias
    )


def test_seat_result_info_merges_into_seat_info(arena):
    a, b = _agent(arena, 0), _agent(arena, 1)
    game = arena.start_game(
        "Duel-v0", [Seat(a, info={"persona": "calm", "x": 1}), Seat(b, info={"persona": "bold"})]
    )
    game.finish(
        outcome="win",
        results={0: SeatResult(reward=1, info={"x": 2, "reason": "won"}), 1: SeatResult(reward=-1)},
    )
    players = arena.game(game.game_id).players
    assert players[0].info == {"persona": "calm", "x": 2, "reason": "won"}
    assert players[1].info == {"persona": "bold"}


def test_invalid_moves_are_counted_from_turns_unless_given(arena):
    a, b, c = _agent(arena, 0), _agent(arena, 1), _agent(arena, 2)
    game = arena.start_game("Trio-v0", [a, b, c])
    for seat, valid in [(0, False), (0, False), (1, False), (1, True), (2, None), (0, True)]:
        game.record_turn(seat=seat, action="x", valid=valid)
    game.finish(outcome="draw", results={1: SeatResult(invalid_moves=5)})
    players = arena.game(game.game_id).players
    assert [p.invalid_moves for p in players] == [2, 5, 0]


def test_register_game_type_takes_config_description_and_updates(arena):
    first = arena.register_game_type(
        "Mafia-v9", min_seats=6, max_seats=15, sides=["village"], description="old"
    )
    assert first.sides == ["village"] and first.description == "old"
    again = arena.register_game_type(
        "Mafia-v9",
        sides=["Village", "Mafia"],
        roles=["Villager", "Mafia", "Doctor"],
        config={"mafia_ratio": 0.25},
        description="Secret Mafia",
    )
    assert again.id == first.id
    assert again.sides == ["Village", "Mafia"] and again.roles == ["Villager", "Mafia", "Doctor"]
    assert again.config == {"mafia_ratio": 0.25} and again.description == "Secret Mafia"
    assert (again.min_seats, again.max_seats) == (6, 15)  # not given: kept


def test_start_game_checks_seats_against_the_type(arena):
    agents = [_agent(arena, n) for n in range(6)]
    arena.register_game_type("Mafia-v9", min_seats=6, max_seats=15, sides=["Village", "Mafia"])
    with pytest.raises(InvalidDataError, match="6 to 15 seats, not 2"):
        arena.start_game("Mafia-v9", agents[:2])
    seats = [Seat(a, side="Village") for a in agents]
    seats[3] = Seat(agents[3], side="mafia")
    with pytest.raises(InvalidDataError, match="side 'mafia' is not a side of Mafia-v9"):
        arena.start_game("Mafia-v9", seats)
    assert arena.games() == []  # nothing written
    seats[3] = Seat(agents[3], side="Mafia")
    arena.start_game("Mafia-v9", seats).finish(outcome="win", winning_side="Mafia")


def test_two_configs_are_two_agents(arena):
    cold = _agent(arena, 0, config={"temperature": 0.2})
    hot = _agent(arena, 0, config={"temperature": 0.7})
    plain, empty = _agent(arena, 0), _agent(arena, 0, config={})
    assert cold.id != hot.id and plain.id == empty.id and plain.id not in (cold.id, hot.id)
    assert _agent(arena, 0, config={"temperature": 0.2}).id == cold.id
    named = _agent(arena, 1, config={"t": 1}, alias="one")
    with pytest.raises(ConflictError, match="alias 'one'"):
        _agent(arena, 1, config={"t": 2}, alias="one")
    from arenadb.catalog.refs import resolve_agent_id

    with arena.session() as session:
        assert resolve_agent_id(session, "one") == named.id


def test_turns_carry_visibility_recipients_and_invalid_reason(arena):
    a, b, c = _agent(arena, 0), _agent(arena, 1), _agent(arena, 2)
    game = arena.start_game("Trio-v0", [a, b, c])
    game.record_turn(seat=None, observation="Night falls.")
    game.record_turn(seat=0, action="[2]", recipients=[2, 0])
    game.record_turn(seat=1, action="[9]", invalid_reason="no player 9", recipients=[1])
    game.record_turn(seat=None, observation="rng=42", visibility="system")
    with pytest.raises(InvalidDataError, match="needs its recipients"):
        game.record_turn(seat=0, visibility="private")
    with pytest.raises(InvalidDataError, match="no seat 7"):
        game.record_turn(seat=0, recipients=[7])
    with pytest.raises(InvalidDataError, match="visibility must be one of"):
        game.record_turn(seat=0, visibility="secret")
    game.finish(outcome="draw")
    turns = arena.turns(game.game_id)
    assert [(t.visibility, t.recipients) for t in turns] == [
        ("public", None),
        ("private", [0, 2]),
        ("private", [1]),
        ("system", None),
    ]
    assert (turns[2].valid, turns[2].invalid_reason) == (False, "no player 9")
    assert [p.invalid_moves for p in arena.game(game.game_id).players] == [0, 1, 0]


def test_a_due_snapshot_skipped_without_state_is_taken_at_the_next_state(arena):
    a, b = _agent(arena, 0), _agent(arena, 1)
    game = arena.start_game("Duel-v0", [a, b], snapshot_every=2)
    game.record_turn(seat=0, state={"n": 1})
    game.record_turn(seat=None)  # the 2nd turn: due, but no state
    game.record_turn(seat=1, state={"n": 3})  # taken here, after 3 turns
    game.record_turn(seat=0, state={"n": 4})  # and on schedule again
    game.finish(outcome="draw")
    import sqlalchemy as sa

    with arena.engine.connect() as conn:
        taken = conn.execute(
            sa.text("select turn from game_snapshots where game_id = :g order by turn"),
            {"g": game.game_id},
        ).scalars()
        assert list(taken) == [3, 4]


def test_agents_differing_in_config_and_turn_visibility_survive_export_and_import(
    arena, tmp_path, backend, _templates
):
    from arenadb.db import create_database, drop_database
    from arenadb.portability.export import export_games
    from arenadb.portability.importing import import_games
    from arenadb.schema.migrations import upgrade
    from tests.conftest import pg_settings, unique_pg_name

    cold = _agent(arena, 0, config={"temperature": 0.2})
    hot = _agent(arena, 0, config={"temperature": 0.7})
    game = arena.start_game("Duel-v0", [cold, hot])
    game.record_turn(seat=0, action="[x]", recipients=[0], invalid_reason="bad")
    game.finish(outcome="draw")
    path = tmp_path / "games.jsonl"
    export_games(arena.engine, path)
    if backend == "sqlite":
        target = arenadb.load_settings(f"sqlite:///{tmp_path / 'copy.db'}")
    else:
        target = pg_settings(unique_pg_name())
    create_database(target)
    try:
        upgrade(target, "head")
        with arenadb.connect(settings=target) as copy:
            import_games(copy.engine, path)
            (imported,) = copy.games()
            configs = [p.agent.config for p in copy.game(imported.id).players]
            assert configs == [{"temperature": 0.2}, {"temperature": 0.7}]
            (turn,) = copy.turns(imported.id)
            assert (turn.recipients, turn.invalid_reason, turn.valid) == ([0], "bad", False)
    finally:
        drop_database(target, missing_ok=True)
