"""arenadb: the database, and the command-line tool that manages it, for LLM-agent arenas.

The package root stays import-light (the CLI imports it on every start); the library API is
loaded on first use of one of its names.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it; imported lazily by __getattr__.
_LAZY = {
    "Settings": "arenadb.config",
    "load_settings": "arenadb.config",
    "connect": "arenadb.arena",
    "Arena": "arenadb.arena",
    "connect_async": "arenadb.async_arena",
    "AsyncArena": "arenadb.async_arena",
    "GameRecorder": "arenadb.recording.recorder",
    "AsyncGameRecorder": "arenadb.recording.async_recorder",
    "ResumePoint": "arenadb.recording.lifecycle",
    "Seat": "arenadb.recording.types",
    "SeatResult": "arenadb.recording.types",
    "canonical_json": "arenadb.db.json",
    "state_hash": "arenadb.db.json",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'arenadb' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
