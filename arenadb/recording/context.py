"""What a GameRecorder needs from the Arena that made it, and nothing more; call costs.

The recorder used to hold the whole `Arena` and reach into seven of its attributes; the Arena
now builds this small context instead, so recording never imports the facade.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arenadb.config import Settings
from arenadb.db.batch_connection import BatchConnection
from arenadb.db.writer import Writer

ModelPrices = tuple[float | None, float | None]


@dataclass(frozen=True)
class RecorderContext:
    """The batch connection, model lookups, batch defaults and clock of a recorder."""

    # A function, not the connection: `Arena.close()` drops its connection and a recorder used
    # afterwards must write through the one the Arena opens next.
    batch_connection: Callable[[], BatchConnection]
    writer: Writer
    # An LLMModel, its id or its registered name -> its id (NotFoundError when unknown).
    model_id: Callable[[Any], int]
    # A model id -> its (input, output) price per million tokens.
    model_prices: Callable[[int], ModelPrices]
    # Masks passwords in error messages and names the database in them.
    settings: Settings
    batch_turns: int = 1000
    flush_seconds: float = 1.0
    snapshot_every: int = 10
    # Seconds, only ever compared with each other (when the last batch was written).
    clock: Callable[[], float] = time.monotonic


def call_cost(
    input_tokens: int | None,
    output_tokens: int | None,
    input_price: float | None,
    output_price: float | None,
) -> float | None:
    """The cost of an LLM call from its tokens and its model's prices per million tokens;
    None (unknown) when tokens were reported that the model has no price for."""
    if (input_tokens and input_price is None) or (output_tokens and output_price is None):
        return None
    return ((input_tokens or 0) * (input_price or 0.0)) / 1_000_000 + (
        (output_tokens or 0) * (output_price or 0.0)
    ) / 1_000_000
