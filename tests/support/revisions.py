"""The migration revisions in order, so tests need no edit when a revision is added."""

from __future__ import annotations

from arenadb.schema.migrations import script_directory


def revisions_after(revision: str) -> list[str]:
    """The revisions after `revision` up to the head, oldest first."""
    ordered = [r.revision for r in reversed(list(script_directory().walk_revisions()))]
    return ordered[ordered.index(revision) + 1 :]


def head() -> str:
    return str(script_directory().get_heads()[0])
