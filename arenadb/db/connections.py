"""The connections one Arena holds: its engine, its read engine and the recorders' batch connection.

Each is opened on first use (never at import time, nor by `arenadb.connect()`), once whatever the
number of threads sharing the Arena; `close()` releases them all and the next use opens them
again.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.engine import Engine

from arenadb.config import Settings
from arenadb.db.batch_connection import BatchConnection


class Connections:
    """The engine, the read engine and the batch connection of one Arena, opened lazily."""

    def __init__(self, settings: Settings, *, durable_batches: bool, **engine_options: Any) -> None:
        self.settings = settings
        self.durable_batches = durable_batches
        self._engine_options = engine_options
        self._engine: Engine | None = None
        self._read_engine: Engine | None = None
        self._batch_connection: BatchConnection | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The engine on the settings' database (the primary)."""
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    from arenadb.db.engine import create_engine

                    self._engine = create_engine(self.settings, **self._engine_options)
                engine = self._engine
        return engine

    @property
    def read_engine(self) -> Engine:
        """The read replica's engine (read-only) when the settings name one, else `engine`."""
        if self.settings.read_url is None:
            return self.engine
        engine = self._read_engine
        if engine is None:
            with self._lock:
                if self._read_engine is None:
                    from arenadb.db.replica import read_engine

                    self._read_engine = read_engine(self.settings, **self._engine_options)
                engine = self._read_engine
        return engine

    @property
    def batch_connection(self) -> BatchConnection:
        """The one connection the recorders write their batches through."""
        held = self._batch_connection
        if held is None:
            # The engine first: it takes the same (non-reentrant) lock when it is created, which
            # is the case after close().
            engine = self.engine
            with self._lock:
                if self._batch_connection is None:
                    self._batch_connection = BatchConnection(engine, durable=self.durable_batches)
                held = self._batch_connection
        return held

    def close(self) -> None:
        """Close the batch connection and dispose of both engines; the next use reopens them."""
        with self._lock:
            if self._batch_connection is not None:
                self._batch_connection.close()
                self._batch_connection = None
            for engine in (self._engine, self._read_engine):
                if engine is not None:
                    engine.dispose()
            self._engine = self._read_engine = None
