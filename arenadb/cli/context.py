"""The CLI's context object: what the root callback collected, shared by every command."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arenadb.config import Settings


@dataclass
class AppContext:
    """What the root callback collected; settings are resolved on first use."""

    database_url: str | None = None
    env_file: Path | None = None
    json: bool = False
    csv: bool = False
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from arenadb.config import load_settings

            self._settings = load_settings(self.database_url, self.env_file)
        return self._settings

    def mask(self, text: str) -> str:
        from arenadb.urls import mask_text

        secrets = self._settings.secrets() if self._settings else []
        return mask_text(text, secrets)
