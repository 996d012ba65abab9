"""The optional analysis extra: pyarrow, pandas (and duckdb to query a dataset)."""

from __future__ import annotations

import importlib
from types import ModuleType

from arenadb.errors import ConfigError


def require(module: str) -> ModuleType:
    """Import `module` of the `analysis` extra, or say in one line how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise ConfigError(
            f"{top} is not installed: pip install 'arenadb[analysis]' (pyarrow, pandas, duckdb)"
        ) from None
