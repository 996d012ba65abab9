"""Where the migrations and seed files are, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(installed: str, source: str) -> Path:
    # A wheel carries them inside the package (see pyproject's force-include); a checkout or an
    # editable install has them at the top of the repository.
    for candidate in (_PACKAGE / installed, _PACKAGE.parent / source):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"arenadb's {source}/ folder is missing from this installation")


def migrations_dir() -> Path:
    return _find("_migrations", "migrations")


def seeds_dir() -> Path:
    return _find("_seeds", "seeds")
