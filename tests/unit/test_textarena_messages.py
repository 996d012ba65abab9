"""Who saw a TextArena move, and how a message is recorded (no environment, no database)."""

from __future__ import annotations

import pytest

pytest.importorskip("textarena")
from arenadb.integrations.textarena.messages import (
    Message,
    split_action,
    visibility,
)


def test_the_echo_of_a_move_says_who_saw_it_and_is_not_a_message_of_its_own():
    prompt = Message(-1, "Night 1: vote", "GAME_MESSAGE", {0, 3})
    echo = Message(0, "[3]", "PLAYER_ACTION", {0, 3})
    later = Message(0, "[3]", "PLAYER_ACTION", None)
    recipients, others = split_action([prompt, echo, later], 0)
    assert recipients == {0, 3}
    assert others == [prompt, later]


def test_a_move_without_an_echo_was_seen_by_its_player_alone():
    other_player = Message(1, "hello", "PLAYER_ACTION", None)
    assert split_action([other_player], 0) == ({0}, [other_player])


def test_visibility_names_recipients_only_when_someone_did_not_see_it():
    assert visibility(None, 3) == {}
    assert visibility({0, 1, 2}, 3) == {}
    assert visibility({2, 0}, 3) == {"recipients": [0, 2]}


def test_a_players_message_names_its_sender():
    assert Message(2, "I vote 4", "PLAYER_ACTION").observation == "[Player 2] I vote 4"
    assert Message(-1, "Day breaks", "GAME_MESSAGE").observation == "Day breaks"
