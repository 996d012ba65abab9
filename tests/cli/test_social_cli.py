"""`arenadb conversations list`, `conversation show`, `knowledge list`: tables, JSON, CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.cli.commands import social as social_cmd
from arenadb.db import session_scope
from arenadb.models import CONVERSATION_STATUSES, CONVERSATION_TYPES, SENDER_TYPES
from arenadb.social import conversations as cv
from arenadb.social import knowledge as kn
from tests.support.social_helpers import make_agents, make_game

runner = CliRunner()


def run(settings, *args):
    return runner.invoke(app, ["--database-url", settings.database_url, *args])


@pytest.fixture
def talk(engine):
    """A game's day-phase conversation with 3 messages, a direct one, and 3 knowledge chunks."""
    with session_scope(engine, write=True) as s:
        agents = make_agents(s, ["villager-1", "mafia-1"])
        game_id = make_game(s)
        day = cv.create_conversation(
            s, title="Day 1", game_id=game_id, participants=list(agents.values())
        )
        cv.add_message(s, day.id, "system", "Day 1 begins.")
        cv.add_message(
            s,
            day.id,
            "agent",
            "I trust nobody.",
            agent_id=agents["villager-1"],
            meta={"input_tokens": 10, "output_tokens": 5},
        )
        cv.add_message(s, day.id, "agent", "Vote seat 3.", agent_id=agents["mafia-1"])
        cv.create_conversation(s, type="direct", title="whisper", participants=[agents["mafia-1"]])
        kn.bulk_upsert_knowledge_chunks(
            s,
            [
                {"source": "rules", "external_id": "day", "title": "Day", "content": "Discuss."},
                {"source": "rules", "external_id": "night", "content": "Mafia act."},
                {"source": "faq", "external_id": "q1", "content": "Who wins?"},
            ],
        )
        return {"day": day.id, "uuid": str(day.uuid), "game": game_id}  # fmt: skip


def test_cli_choices_match_the_models():
    assert tuple(t.value for t in social_cmd.ConversationType) == CONVERSATION_TYPES
    assert tuple(t.value for t in social_cmd.ConversationStatus) == CONVERSATION_STATUSES
    assert tuple(t.value for t in social_cmd.SenderType) == SENDER_TYPES


def test_conversations_list(db_settings, talk):
    result = run(db_settings, "conversations", "list")
    assert result.exit_code == 0, result.output
    assert "Day 1" in result.stdout and "whisper" in result.stdout
    result = run(db_settings, "conversations", "list", "--game", str(talk["game"]), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["id"], r["participants"], r["messages"]) for r in rows] == [(talk["day"], 2, 3)]
    result = run(db_settings, "--json", "conversations", "list", "--type", "direct")
    assert [r["title"] for r in json.loads(result.stdout)] == ["whisper"]
    result = run(db_settings, "conversations", "list", "--limit", "1", "--offset", "1", "--csv")
    assert [r["title"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["Day 1"]
    result = run(db_settings, "conversations", "list", "--type", "telepathy")
    assert result.exit_code == 2


def test_conversation_show(db_settings, talk):
    result = run(db_settings, "conversation", "show", str(talk["day"]))
    assert result.exit_code == 0, result.output
    for text in ("Day 1", "villager-1", "mafia-1", "I trust nobody.", "Vote seat 3."):
        assert text in result.stdout
    result = run(db_settings, "conversation", "show", talk["uuid"], "--json", "--limit", "2")
    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert detail["conversation"]["messages"] == 3
    assert (detail["conversation"]["input_tokens"], detail["conversation"]["output_tokens"]) == (
        10, 5,
    )  # fmt: skip
    assert [m["sender"] for m in detail["messages"]] == ["system", "villager-1"]
    assert detail["messages"][1]["meta"] == {"input_tokens": 10, "output_tokens": 5}
    assert "messages 1-2 of 3" not in result.stdout  # stdout stays JSON
    result = run(db_settings, "conversation", "show", "99999")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: conversation 99999 not found"


def test_knowledge_list(db_settings, talk):
    result = run(db_settings, "knowledge", "list")
    assert result.exit_code == 0, result.output
    assert "rules" in result.stdout and "faq" in result.stdout
    result = run(db_settings, "knowledge", "list", "--source", "rules", "--json")
    rows = json.loads(result.stdout)
    assert [(r["external_id"], r["content"]) for r in rows] == [
        ("day", "Discuss."), ("night", "Mafia act."),
    ]  # fmt: skip
    result = run(db_settings, "knowledge", "list", "--search", "wins", "--csv")
    assert [r["external_id"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["q1"]


@pytest.mark.parametrize(
    "command", [["conversations", "list"], ["conversation", "show"], ["knowledge", "list"]]
)
def test_social_commands_have_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "--json" in result.stdout and len(result.stdout.splitlines()) > 5
