"""Migration 0003 goes up, down to its parent and up again, leaving the core tables alone."""

from __future__ import annotations

from arenadb.db import create_database
from arenadb.schema.migrations import downgrade, script_directory, upgrade
from tests.support.databases import table_names

SOCIAL_TABLES = {
    "users",
    "conversations",
    "conversation_participants",
    "messages",
    "knowledge_chunks",
    "knowledge_graphs",
    "coalitions",
    "coalition_members",
    "system_logs",
}


def test_migration_0003_up_down_up(fresh_settings):
    create_database(fresh_settings)
    assert "0003" in upgrade(fresh_settings, "0003").applied
    assert table_names(fresh_settings) >= SOCIAL_TABLES
    # 0001 on this branch; 0002 once the scenarios migration is merged in front of 0003.
    parent = script_directory().get_revision("0003").down_revision
    assert downgrade(fresh_settings, parent).applied == ["0003"]
    remaining = table_names(fresh_settings)
    assert not SOCIAL_TABLES & remaining and {"agents", "games"} <= remaining
    assert upgrade(fresh_settings, "0003").applied == ["0003"]
    assert table_names(fresh_settings) >= SOCIAL_TABLES
