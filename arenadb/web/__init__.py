"""`arenadb serve`: a read-only web view of leaderboards, games, replays, agents and models.

Built on Starlette + Jinja2 (autoescaping everything) and served by uvicorn; all three come with
the optional extra `arenadb[web]` and are imported only by `arenadb serve` (and this package).
Every page has a JSON twin (the same path + `.json`) holding what the CLI's `--json` prints.
"""

from __future__ import annotations

from arenadb.errors import ArenaDBError

INSTALL_HINT = "pip install 'arenadb[web]'"
WEB_MODULES = ("starlette", "jinja2", "uvicorn")


class WebExtraMissingError(ArenaDBError):
    """The web extra is not installed."""


def check_web_extra() -> None:
    """Raise WebExtraMissingError (one line: how to install) unless the web stack imports."""
    import importlib.util

    missing = [name for name in WEB_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise WebExtraMissingError(f"arenadb serve needs {', '.join(missing)}: {INSTALL_HINT}")
