"""Get-or-create registration: models, kinds, prompts (fork on change), agents, game types."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

import arenadb
from arenadb.catalog import registration as registry
from arenadb.config import Settings
from arenadb.errors import ConflictError, NotFoundError
from arenadb.models import Agent, LLMModel, Prompt


@pytest.fixture
def arena(db_settings: Settings):
    with arenadb.connect(settings=db_settings) as arena:
        yield arena


def test_model_and_kind_are_created_once_and_kept_current(arena: arenadb.Arena) -> None:
    first = arena.register_model("gpt-x", provider="openai")
    again = arena.register_model("gpt-x", input_price_per_mtok=2.5)
    assert again.id == first.id
    assert (again.provider, again.input_price_per_mtok) == ("openai", 2.5)
    kind = arena.register_kind("plain", description="no tools")
    assert arena.register_kind("plain").id == kind.id
    with arena.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LLMModel)) == 1


def test_prompt_forks_on_change_and_never_duplicates(arena: arenadb.Arena) -> None:
    v1 = arena.register_prompt("mafia", "You are a villager.")
    assert (v1.version, v1.forked_from_id) == (1, None)
    assert arena.register_prompt("mafia", "You are a villager.").id == v1.id
    v2 = arena.register_prompt("mafia", "You are a careful villager.")
    assert (v2.version, v2.forked_from_id) == (2, v1.id)
    # Going back to old text is the old version, not a new one.
    assert arena.register_prompt("mafia", "You are a villager.").id == v1.id
    v3 = arena.register_prompt("mafia", "Third text.")
    assert (v3.version, v3.forked_from_id) == (3, v2.id)
    other = arena.register_prompt("blotto", "You are a villager.")
    assert (other.version, other.forked_from_id) == (1, None)
    assert [(p.name, p.version) for p in arena.active_prompts(latest_only=True)] == [
        ("blotto", 1),
        ("mafia", 3),
    ]
    assert len(arena.active_prompts()) == 4


@pytest.mark.parametrize(
    "change",
    [
        "content = 'Another text.'",
        "sha256 = '" + "0" * 64 + "'",
        "name = 'renamed'",
        "version = 7",
    ],
)
def test_the_database_refuses_to_change_a_prompt(arena: arenadb.Arena, change: str) -> None:
    # Raw SQL, past the ORM's own guard: the trigger of migration 0005 refuses it.
    prompt = arena.register_prompt("mafia", "You are a villager.")
    with (
        pytest.raises(sa.exc.IntegrityError, match="prompts are immutable"),
        arena.engine.begin() as conn,
    ):
        conn.execute(sa.text(f"update prompts set {change} where id = :id"), {"id": prompt.id})
    with arena.engine.begin() as conn:
        # What may change still does; setting a column to its own value is no change.
        conn.execute(
            sa.text("update prompts set active = false, content = content where id = :id"),
            {"id": prompt.id},
        )
        row = conn.execute(
            sa.text("select content, active from prompts where id = :id"), {"id": prompt.id}
        ).one()
    assert tuple(row) == ("You are a villager.", False)


def test_agent_is_unique_per_kind_model_prompt(arena: arenadb.Arena) -> None:
    agent = arena.register_agent(model="gpt-x", kind="plain", prompt=("mafia", "v1"), alias="A")
    assert agent.kind.name == "plain" and agent.model.name == "gpt-x"
    assert agent.prompt.version == 1
    same = arena.register_agent(model="gpt-x", kind="plain", prompt=("mafia", "v1"))
    assert same.id == agent.id and same.alias == "A"
    forked = arena.register_agent(model="gpt-x", kind="plain", prompt=("mafia", "v2"))
    assert forked.id != agent.id and forked.prompt.forked_from_id == agent.prompt_id
    with pytest.raises(ConflictError, match="already taken"):
        arena.register_agent(model="gpt-x", kind="cot", prompt=agent.prompt_id, alias="A")
    with pytest.raises(ConflictError, match="already registered as 'A'"):
        arena.register_agent(model="gpt-x", kind="plain", prompt=agent.prompt_id, alias="B")
    with pytest.raises(NotFoundError, match="prompt 999 not found"):
        arena.register_agent(model="gpt-x", kind="plain", prompt=999)
    # The failed registrations left nothing behind and the session stayed usable.
    with arena.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Agent)) == 2


def test_get_or_create_is_safe_when_another_writer_wins_the_race(
    db_settings: Settings, engine: sa.Engine
) -> None:
    """A second writer inserting the same model while the first holds it uncommitted gets the
    first writer's row (PostgreSQL: unique violation in a savepoint, then re-select; SQLite:
    the write lock makes the second wait, then find it)."""
    from arenadb.db import session_scope

    inserted = threading.Event()
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with session_scope(engine, write=True) as session:
                results["first"] = registry.get_or_create_model(session, "raced").id
                session.flush()
                inserted.set()
                threading.Event().wait(0.5)  # hold the row uncommitted for a while
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            inserted.set()

    def second() -> None:
        inserted.wait(5)
        try:
            with session_scope(engine, write=True) as session:
                results["second"] = registry.get_or_create_model(session, "raced").id
                # The transaction is still usable after the rolled-back savepoint.
                session.add(LLMModel(name="after-race"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    assert results["first"] == results["second"]
    with engine.connect() as conn:
        names = conn.execute(sa.text("select name from llm_models order by name")).scalars()
        assert list(names) == ["after-race", "raced"]


def test_concurrent_prompt_forks_get_distinct_versions(engine: sa.Engine) -> None:
    """Two writers forking one prompt name with different texts both succeed, one after the
    other, with versions 2 and 3 (the loser of the version race retries)."""
    from arenadb.db import session_scope

    with session_scope(engine, write=True) as session:
        registry.register_prompt(session, "p", "base")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def fork(text: str) -> None:
        try:
            barrier.wait(5)
            with session_scope(engine, write=True) as session:
                registry.register_prompt(session, "p", text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fork, args=(t,)) for t in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(Prompt).order_by(Prompt.version)).all()
        assert [p.version for p in rows] == [1, 2, 3]
        assert rows[1].forked_from_id == rows[0].id and rows[2].forked_from_id == rows[1].id


def test_game_type_registration(arena: arenadb.Arena) -> None:
    game_type = arena.register_game_type("SecretMafia-v0", min_seats=6, max_seats=6)
    assert arena.register_game_type("SecretMafia-v0").id == game_type.id
    assert (game_type.min_seats, game_type.max_seats) == (6, 6)
