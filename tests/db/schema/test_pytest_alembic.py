"""pytest-alembic's built-in tests (single head, upgrade, model/DDL match, up-down consistency)
on both backends, handed an Engine as the Alembic cookbook does: env.py must accept it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_alembic.tests import (  # noqa: F401  (collected here, on our fixtures)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.engine import Engine

from arenadb.config import Settings
from arenadb.db import create_database, create_engine
from arenadb.schema.migrations import alembic_config as arenadb_alembic_config


@pytest.fixture
def alembic_config():
    return arenadb_alembic_config()


@pytest.fixture
def alembic_engine(fresh_settings: Settings) -> Iterator[Engine]:
    create_database(fresh_settings)
    engine = create_engine(fresh_settings, pooled=False)
    yield engine
    engine.dispose()
