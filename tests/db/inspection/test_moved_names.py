"""The read side's old import paths keep working for one release, each with a warning."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.catalog import active
from arenadb.inspection import agents, filters, games, queries, replay, rows, stats, usage
from tests.support.arena_factory import ArenaFactory


@pytest.mark.parametrize(
    ("module", "name", "new"),
    [
        (queries, "game_by_ref", rows),
        (queries, "game_turns", rows),
        (queries, "turn_llm_calls", rows),
        (queries, "active_models", active),
        (queries, "random_agents", active),
        (games, "list_agents", agents),
        (games, "models_stats", usage),
        (games, "db_stats", stats),
        (games, "parse_when", filters),
        (games, "game_replay", replay),
    ],
)
def test_a_moved_name_warns_and_is_the_new_one(module, name: str, new) -> None:
    with pytest.warns(DeprecationWarning, match=f"moved to {new.__name__}.{name}"):
        moved = getattr(module, name)
    assert moved is getattr(new, name)


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = games.no_such_function  # type: ignore[attr-defined]


def test_the_old_session_list_games_selects_through_the_one_filter(engine: sa.Engine) -> None:
    factory = ArenaFactory(engine)
    duel = factory.game_type("Duel-v0")
    alice, bob = factory.agent("alice"), factory.agent("bob")
    first = factory.game(duel, [alice, bob], winning_side="red")
    second = factory.game(duel, [bob, alice], status="running", winning_side=None)
    with Session(engine) as session, pytest.warns(DeprecationWarning):
        assert [g.id for g in queries.list_games(session)] == [second, first]
        assert [g.id for g in queries.list_games(session, status=["running"])] == [second]
        assert [g.id for g in queries.list_games(session, winning_side="red")] == [first]
        assert [g.id for g in queries.list_games(session, game_type_id=duel)] == [second, first]
        assert [g.id for g in queries.list_games(session, agent_id=alice, limit=1)] == [second]
