"""What a GameRecorder needs from the Arena that made it, and nothing more.

The recorder used to hold the whole `Arena` and reach into seven of its attributes; the Arena
now builds this small context instead, so recording never imports the facade.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arenadb.catalog.prices import PriceHistory
from arenadb.config import Settings
from arenadb.db.batch_connection import BatchConnection
from arenadb.db.writer import Writer
from arenadb.recording.flusher import Flusher


@dataclass(frozen=True)
class RecorderContext:
    """The batch connection, model lookups, batch defaults and clock of a recorder."""

    # A function, not the connection: `Arena.close()` drops its connection and a recorder used
    # afterwards must write through the one the Arena opens next.
    batch_connection: Callable[[], BatchConnection]
    writer: Writer
    # An LLMModel, its id or its registered name -> its id (NotFoundError when unknown).
    model_id: Callable[[Any], int]
    # A model id -> its dated prices, held in memory: a call is priced by its day.
    model_prices: Callable[[int], PriceHistory]
    # Masks passwords in error messages and names the database in them.
    settings: Settings
    batch_turns: int = 1000
    flush_seconds: float = 1.0
    snapshot_every: int = 10
    # Seconds (when the last batch was written); the flusher also waits by its differences.
    clock: Callable[[], float] = time.monotonic
    # Writes due batches in the background (one thread per Arena); None: only at the next turn.
    flusher: Flusher | None = None
