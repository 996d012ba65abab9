"""`migrate check`, what CI runs: the migrations themselves, on a scratch database.

One head; upgrade from empty to head; the result matches the models (autogenerate's comparison
plus CHECK constraints and triggers); down to base and up again. Every failure of the migrations
is a problem in the report (exit 3), never an error that blames the target database; only a
target or server that cannot be reached is an error (exit 1). The target, when it exists, is
checked for pending migrations, an unknown revision, and drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arenadb.config import Settings
from arenadb.db.admin import database_exists
from arenadb.db.engine import create_engine
from arenadb.errors import CheckFailedError, IntegrityCheckError, MigrationFailedError
from arenadb.schema import revisions
from arenadb.schema.compare import schema_differences
from arenadb.schema.migrations import (
    current_revisions,
    downgrade,
    pending_revisions,
    script_directory,
    upgrade,
)
from arenadb.schema.scratch import remove_stale_scratch, scratch_database

_MIGRATION_FAILURES = (MigrationFailedError, IntegrityCheckError)


@dataclass
class CheckReport:
    ok: bool
    heads: list[str]
    scratch_backend: str
    problems: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    upgrade: bool = False
    round_trip: bool = False
    failed_revision: str | None = None
    stale_scratch_removed: list[str] = field(default_factory=list)
    target: str | None = None
    target_checked: bool = False
    target_revision: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    target_differences: list[str] = field(default_factory=list)


def live_differences(settings: Settings) -> list[str]:
    """Drift between the database's live schema and the models (a catalogue read)."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return schema_differences(conn)
    finally:
        engine.dispose()


def _check_scratch(settings: Settings, report: CheckReport) -> None:
    with scratch_database(settings) as scratch:
        try:
            upgrade(scratch, "head")
        except _MIGRATION_FAILURES as failed:
            report.failed_revision = getattr(failed, "revision", None)
            report.problems.append(f"upgrade from empty to head failed: {failed}")
            return
        report.upgrade = True
        report.differences = live_differences(scratch)
        if report.differences:
            report.problems.append(
                f"models and migrations differ ({len(report.differences)} differences): "
                "write a migration"
            )
        try:
            downgrade(scratch, "base")
            upgrade(scratch, "head")
        except _MIGRATION_FAILURES as failed:
            report.failed_revision = getattr(failed, "revision", None)
            report.problems.append(f"up -> down to base -> up failed: {failed}")
            return
        report.round_trip = True


def _check_target(settings: Settings, report: CheckReport) -> None:
    report.target = settings.masked_url
    if not database_exists(settings):
        return
    report.target_checked = True
    script = script_directory()
    current = current_revisions(settings)
    report.target_revision = current
    strange = revisions.unknown_in_database(script, current)
    if strange:
        report.problems.append(
            f"{settings.masked_url} is at revision {', '.join(strange)}, which "
            f"this arenadb does not know (it knows {revisions.describe_code(script)})"
        )
        return
    report.pending = [p.revision for p in pending_revisions(current)]
    if report.pending:
        report.problems.append(
            f"{len(report.pending)} pending migrations on {settings.masked_url}: "
            "run `arenadb migrate up`"
        )
        return
    report.target_differences = live_differences(settings)
    if report.target_differences:
        report.problems.append(
            f"{settings.masked_url} differs from the models "
            f"({len(report.target_differences)} differences)"
        )


def check_migrations(settings: Settings, *, check_target: bool = True) -> CheckReport:
    """Heads, upgrade, model drift and up/down/up on a scratch database; the target if any.

    Raises CheckFailedError (exit 3) carrying the report when anything is wrong.
    """
    heads = list(script_directory().get_heads())
    report = CheckReport(ok=True, heads=heads, scratch_backend=settings.backend)
    report.stale_scratch_removed = remove_stale_scratch(settings)
    if len(heads) > 1:
        report.problems.append(f"{len(heads)} heads ({', '.join(heads)}): merge them")
    else:
        _check_scratch(settings, report)
    if check_target:
        _check_target(settings, report)
    report.ok = not report.problems
    if not report.ok:
        raise CheckFailedError("; ".join(report.problems), details=report)
    return report
