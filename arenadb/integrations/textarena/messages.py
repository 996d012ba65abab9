"""What each player was shown during a step: TextArena's messages, grouped with their recipients.

TextArena keeps one message queue per player and fills it with `State.add_observation(message,
observation_type, from_id, to_id)` (`to_id` -1: every player). The recorder hooks that method on
the game's state and groups consecutive identical messages sent to several players (a Mafia-only
vote is one call per Mafia member) into one message with its recipients.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

EVERYONE = -1


@dataclass
class Message:
    """One message and the players it went to (`recipients` None: every player)."""

    sender: int
    text: str
    kind: str
    recipients: set[int] | None = field(default_factory=set)

    def add(self, to_id: int) -> None:
        if to_id == EVERYONE or self.recipients is None:
            self.recipients = None
        else:
            self.recipients.add(to_id)

    @property
    def observation(self) -> str:
        """The text as a seatless turn records it: a player's message names its sender."""
        return f"[Player {self.sender}] {self.text}" if self.sender >= 0 else self.text


class MessageLog:
    """Collects the messages the state sends, from the moment `hook(state)` is called."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def hook(self, state: Any) -> None:
        original: Callable[..., Any] = state.add_observation

        def add_observation(
            message: str, observation_type: Any, from_id: int = EVERYONE, to_id: int = EVERYONE
        ) -> Any:
            result = original(
                message=message, observation_type=observation_type, from_id=from_id, to_id=to_id
            )
            # What the players got: the state filters role tags out of player actions.
            text = state.logs[-1][1] if getattr(state, "logs", None) else message
            self.add(from_id, text, getattr(observation_type, "name", str(observation_type)), to_id)
            return result

        state.add_observation = add_observation

    def add(self, sender: int, text: str, kind: str, to_id: int) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and (last.sender, last.text, last.kind) == (sender, text, kind):
            last.add(to_id)
            return
        message = Message(sender, text, kind)
        message.add(to_id)
        self.messages.append(message)

    def take(self) -> list[Message]:
        """The messages since the last call, in the order they were sent."""
        taken, self.messages = self.messages, []
        return taken


def split_action(messages: list[Message], player_id: int) -> tuple[set[int] | None, list[Message]]:
    """Who saw the move `player_id` just made, and the step's other messages. The environment's
    echo of the move (its PLAYER_ACTION message) says who saw it: everyone when broadcast, the
    Mafia for a night vote; without an echo, the player alone."""
    for index, message in enumerate(messages):
        if message.sender == player_id and message.kind == "PLAYER_ACTION":
            return message.recipients, messages[:index] + messages[index + 1 :]
    return {player_id}, messages


def visibility(recipients: set[int] | None, num_players: int) -> dict[str, Any]:
    """The recorder's visibility arguments: none for a turn every player saw, else its
    recipients (private)."""
    if recipients is None or recipients >= set(range(num_players)):
        return {}
    return {"recipients": sorted(recipients)}


def queued_messages(observations: Mapping[int, list[Any]], logs: list[Any]) -> list[Message]:
    """The messages already queued per player (those of `reset()`), in the order the state
    logged them, each with the players whose queue holds it."""
    held: dict[tuple[int, str], tuple[str, set[int]]] = {}
    for player_id in sorted(observations):
        for sender, text, kind in observations[player_id]:
            entry = held.setdefault((sender, text), (getattr(kind, "name", str(kind)), set()))
            entry[1].add(player_id)
    order = [(sender, text) for sender, text in logs if (sender, text) in held]
    order += [key for key in held if key not in set(order)]  # not logged: after the rest
    out: list[Message] = []
    everyone = set(observations)
    for key in dict.fromkeys(order):
        kind, players = held[key]
        out.append(Message(key[0], key[1], kind, None if players == everyone else players))
    return out


def jsonable(value: Any) -> Any:
    """`value` as JSON data: enums by value, sets and tuples as lists, keys as text; other
    objects by their `str`."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    return str(value)
