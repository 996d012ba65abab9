"""Payload text of the synthetic arenas (`tests.support.synthetic`): LLM requests, responses
and observations of a chosen size, cut from game talk so that they compress as such text does."""

from __future__ import annotations

from typing import Any

MAFIA_LINES = [
    "I think Player {t} is suspicious.",
    "I was protecting Player {t} last night.",
    "Let's not rush: Player {t} has been quiet.",
    "I vote for Player {t}.",
    "Trust me, I am a villager.",
]

# Text the payloads are cut from: game talk, so that it compresses as such text does.
_TALK = " ".join(line.format(t=t) for t in range(6) for line in MAFIA_LINES) + " "
_TALK *= 1 + 65_536 // len(_TALK)


def filler(size: int, offset: int) -> str:
    if size <= 0:
        return ""
    start = (offset * 37) % (len(_TALK) - size) if size < len(_TALK) else 0
    return " " + _TALK[start : start + size]


def payloads(size: int, offset: int, failed: bool) -> dict[str, Any]:
    """Request messages of about `size` bytes and a response of a quarter of it (none: {})."""
    if size <= 0:
        return {}
    request = {
        "messages": [
            {"role": "system", "content": "You are playing a game. Answer with one move."},
            {"role": "user", "content": filler(size - 120, offset)},
        ]
    }
    response = None if failed else {"role": "assistant", "content": filler(size // 4, offset)}
    return {"request": request, "response": response}
