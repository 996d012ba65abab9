"""Fixtures of the web tests: the demo arena (seeded once per module and backend) and a client.

The app under test is the real one (`create_app`) on a real database, driven through
Starlette's TestClient; the browser tests start a real `arenadb serve` (see test_browser.py).
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arenadb.config import Settings
from tests.conftest import _skip_without_pg

pytest.importorskip(
    "starlette", reason="the web extra is not installed: pip install 'arenadb[web]'"
)

BACKEND_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def demo_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _templates: Any
) -> Iterator[Settings]:
    """A migrated database of each backend holding the demo seed (read by many tests)."""
    from arenadb.db import drop_database
    from arenadb.seeding.seeder import seed_database

    if request.param == "postgresql":
        _skip_without_pg()
        settings = _templates.postgresql()
    else:
        settings = _templates.sqlite(tmp_path_factory.mktemp("web") / "demo.db")
    seed_database(settings, "demo")
    try:
        yield settings
    finally:
        if request.param == "postgresql":
            drop_database(settings, missing_ok=True, any_database=True)


def client_for(settings: Settings, **options: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # StarletteDeprecationWarning: httpx2 preferred; httpx works
        from starlette.testclient import TestClient

    from arenadb.web.app import create_app

    return TestClient(create_app(settings, **options))


@pytest.fixture(scope="module")
def demo_client(demo_settings: Settings) -> Iterator[Any]:
    with client_for(demo_settings) as client:
        yield client


def chromium_path() -> str | None:
    """Debian's chromium (what .ci/run installs), or CHROMIUM_PATH."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit and Path(explicit).exists():
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")
