"""THE resolver (`arenadb.catalog.refs`): every reference form, its errors, its case rule."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from arenadb.catalog.refs import (
    game_condition,
    resolve_agent_id,
    resolve_game_id,
    resolve_game_type_id,
    resolve_model_id,
)
from arenadb.errors import AmbiguousError, InvalidArgumentError, NotFoundError
from arenadb.models import Game, GameType
from tests.support.arena_factory import ArenaFactory

UUID_A = uuid.UUID("0eb35a3b-0000-4000-8000-000000000001")
UUID_B = uuid.UUID("0eb35a3c-0000-4000-8000-000000000002")


@pytest.fixture
def catalog(engine: sa.Engine) -> dict[str, int]:
    factory = ArenaFactory(engine)
    mafia = factory.game_type("SecretMafia-v0", seats=2)
    blotto = factory.game_type("ColonelBlotto-v0", seats=2)
    with engine.begin() as conn:
        for type_id, name in ((mafia, "Secret Mafia"), (blotto, "Colonel Blotto")):
            conn.execute(sa.update(GameType).where(GameType.id == type_id).values(name=name))
    model = factory.model("gpt-4.1", litellm_name="openai/gpt-4.1")
    other = factory.model("GPT-4.1-mini", litellm_name="openai/gpt-4.1-mini")
    alice = factory.agent("alice", model_id=model)
    twin_lower = factory.agent("bob", model_id=other)
    twin_upper = factory.agent("BOB", model_id=other)
    game_a = factory.game(mafia, [alice, twin_lower], game_uuid=UUID_A)
    game_b = factory.game(blotto, [alice, twin_upper], game_uuid=UUID_B)
    return {
        "mafia": mafia,
        "blotto": blotto,
        "model": model,
        "other": other,
        "alice": alice,
        "bob": twin_lower,
        "BOB": twin_upper,
        "game_a": game_a,
        "game_b": game_b,
    }


def test_a_game_by_id_uuid_and_unique_prefix(engine: sa.Engine, catalog: dict[str, int]) -> None:
    with engine.connect() as conn:
        for ref in (
            catalog["game_a"],
            str(catalog["game_a"]),
            f" {catalog['game_a']} ",
            UUID_A,
            str(UUID_A),
            UUID_A.hex,
            str(UUID_A).upper(),
            "0eb35a3b",
            "0EB35A3B-00",
        ):
            assert resolve_game_id(conn, ref) == catalog["game_a"], ref
        assert resolve_game_id(conn, "0eb35a3c") == catalog["game_b"]
        with pytest.raises(AmbiguousError, match="game prefix 0eb35a3 is ambiguous") as info:
            resolve_game_id(conn, "0eb35a3")
        assert str(UUID_A) in str(info.value) and str(UUID_B) in str(info.value)
        with pytest.raises(NotFoundError, match=r"^game 999999 not found$"):
            resolve_game_id(conn, 999999)
        with pytest.raises(NotFoundError, match=r"^game ffff not found$"):
            resolve_game_id(conn, "ffff")
        for bad in ("xyz!", "", True):
            with pytest.raises(InvalidArgumentError):
                resolve_game_id(conn, bad)  # type: ignore[arg-type]


def test_a_digit_only_uuid_prefix_names_its_game_and_short_digits_stay_ids(
    engine: sa.Engine, catalog: dict[str, int]
) -> None:
    """One 8-character UUID prefix in 40 is all digits: it must still name its game (the CI
    flake of a docs snippet that passed `uuid[:8]`), while `12` stays game 12, and a digit
    string that is both a game's id and another game's UUID prefix is ambiguous, never a guess."""
    games = {
        "54241114-aeea-4a5a-abc1-440950fd87f5": 1_000_001,  # an all-digit prefix
        "12345678-0000-4000-8000-000000000003": 87654321,  # a prefix that is another's id
        "fedcba98-0000-4000-8000-000000000004": 12345678,
    }
    with engine.begin() as conn:
        for text, game_id in games.items():
            row = {"id": game_id, "uuid": uuid.UUID(text), "game_type_id": catalog["mafia"]}
            conn.execute(sa.insert(Game).values(**row))
    digits = 1_000_001
    with engine.connect() as conn:
        assert resolve_game_id(conn, "54241114") == digits
        with pytest.raises(NotFoundError, match=r"^game 5424111 not found$"):
            resolve_game_id(conn, "5424111")  # 7 digits: an id only, never a prefix
        assert resolve_game_id(conn, str(catalog["game_a"])) == catalog["game_a"]
        assert resolve_game_id(conn, "87654321") == 87654321  # an id; no UUID starts so
        assert resolve_game_id(conn, "0087654321") == 87654321
        with pytest.raises(AmbiguousError, match=r"^game 12345678 is ambiguous: ") as info:
            resolve_game_id(conn, "12345678")
        assert "(id 12345678)" in str(info.value) and "(id 87654321)" in str(info.value)
        assert resolve_game_id(conn, 12345678) == 12345678  # an int is an id, whatever its size
        with pytest.raises(NotFoundError):  # past any id, but a UUID prefix
            resolve_game_id(conn, "1" * 30)
        with pytest.raises(InvalidArgumentError, match="is not a game id"):
            resolve_game_id(conn, "1" * 33)


def test_the_game_condition_is_a_range_of_the_uuid_index_for_a_prefix() -> None:
    condition, label = game_condition("0eb35a3b")
    assert label == "0eb35a3b" and "BETWEEN" in str(condition).upper()


def test_an_agent_by_id_or_alias(engine: sa.Engine, catalog: dict[str, int]) -> None:
    with engine.connect() as conn:
        for ref in (catalog["alice"], str(catalog["alice"]), "alice", "ALICE", " alice "):
            assert resolve_agent_id(conn, ref) == catalog["alice"], ref
        # An exact alias wins over one that differs only in case...
        assert resolve_agent_id(conn, "bob") == catalog["bob"]
        assert resolve_agent_id(conn, "BOB") == catalog["BOB"]
        # ...and a case-insensitive match that is not unique is ambiguous, never a guess.
        with pytest.raises(AmbiguousError, match="agent Bob is ambiguous") as info:
            resolve_agent_id(conn, "Bob")
        assert f"(id {catalog['bob']})" in str(info.value)
        with pytest.raises(NotFoundError, match=r"^agent nobody not found$"):
            resolve_agent_id(conn, "nobody")
        with pytest.raises(NotFoundError, match=r"^agent 999 not found$"):
            resolve_agent_id(conn, 999)
        with pytest.raises(InvalidArgumentError):
            resolve_agent_id(conn, "  ")


def test_a_model_by_id_name_or_litellm_name(engine: sa.Engine, catalog: dict[str, int]) -> None:
    with engine.connect() as conn:
        for ref in (catalog["model"], str(catalog["model"]), "gpt-4.1", "openai/gpt-4.1"):
            assert resolve_model_id(conn, ref) == catalog["model"], ref
        assert resolve_model_id(conn, "gpt-4.1-MINI") == catalog["other"]
        with pytest.raises(NotFoundError, match=r"^model o3 not found$"):
            resolve_model_id(conn, "o3")


def test_a_game_type_by_id_env_id_or_name(engine: sa.Engine, catalog: dict[str, int]) -> None:
    with engine.connect() as conn:
        for ref in (
            catalog["mafia"],
            str(catalog["mafia"]),
            "SecretMafia-v0",
            "secretmafia-v0",
            "Secret Mafia",
            "secret mafia",
        ):
            assert resolve_game_type_id(conn, ref) == catalog["mafia"], ref
        assert resolve_game_type_id(conn, "Colonel Blotto") == catalog["blotto"]
        with pytest.raises(NotFoundError, match=r"^game type Chess-v0 not found$"):
            resolve_game_type_id(conn, "Chess-v0")
        with pytest.raises(NotFoundError, match=r"^game type 99 not found$"):
            resolve_game_type_id(conn, 99)


def test_the_library_takes_every_form_too(db_settings, catalog: dict[str, int]) -> None:
    """`Arena.game` takes a prefix, `Arena.games` a type name, `agent_profile` an alias."""
    import arenadb
    from arenadb.ratings.leaderboard import agent_profile

    with arenadb.connect(settings=db_settings) as arena:
        assert arena.game("0eb35a3b").id == catalog["game_a"]
        with pytest.raises(AmbiguousError):
            arena.game("0eb35a3")
        assert [g.id for g in arena.games(game_type="Secret Mafia")] == [catalog["game_a"]]
        assert [g.id for g in arena.games(game_type=catalog["blotto"])] == [catalog["game_b"]]
        assert [g.id for g in arena.games(agent="alice")] == [catalog["game_b"], catalog["game_a"]]
        assert [t.seq for t in arena.turns("0eb35a3b")] == []
        # Recording into a type given by name uses that type rather than registering another.
        assert arena.game_type_id("Colonel Blotto") == catalog["blotto"]
        assert arena.model_id("openai/gpt-4.1") == catalog["model"]
        assert agent_profile(arena.engine, "alice").id == catalog["alice"]
