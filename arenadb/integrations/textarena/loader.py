"""TextArena itself, imported only when the integration is used."""

from __future__ import annotations

from typing import Any


def textarena() -> Any:
    """The `textarena` module, or an ImportError that says how to install it."""
    try:
        import textarena
    except ImportError as exc:  # pragma: no cover - the dev environment has it
        raise ImportError(
            "arenadb.integrations.textarena needs TextArena: pip install arenadb[textarena]"
        ) from exc
    return textarena


def base_env(env: Any) -> Any:
    """The environment under all of TextArena's wrappers."""
    wrapper = textarena().Wrapper
    while isinstance(env, wrapper):
        env = env.env
    return env
