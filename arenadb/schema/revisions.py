"""Revision ids read from a database or a command line, checked against the migrations we ship.

Alembic answers an id it does not know, a target in the wrong direction or two heads with
exceptions that name neither what the database has nor what the code knows. Every such case is
resolved here first and refused in one line that names both, before Alembic is asked to move.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic.script import ScriptDirectory

from arenadb.errors import ConflictError, InvalidArgumentError

SYMBOLIC = ("head", "heads", "base")


def known(script: ScriptDirectory) -> list[str]:
    """Every revision id, oldest first."""
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def describe_code(script: ScriptDirectory) -> str:
    """What this arenadb knows, for error messages: `revisions 0001..0005, head 0005`."""
    ids = known(script)
    span = f"{ids[0]}..{ids[-1]}" if len(ids) > 1 else (ids[0] if ids else "none")
    return f"revisions {span}, head {', '.join(script.get_heads())}"


def ancestors(script: ScriptDirectory, revision: str | None) -> set[str]:
    """`revision` and every revision below it (empty for base)."""
    if revision is None:
        return set()
    return {r.revision for r in script.iterate_revisions(revision, "base")}


def unknown_in_database(script: ScriptDirectory, current: Sequence[str]) -> list[str]:
    ids = set(known(script))
    return [rev for rev in current if rev not in ids]


def require_known_current(script: ScriptDirectory, current: Sequence[str], where: str) -> None:
    """Refuse a database whose alembic_version names a revision these migrations lack."""
    strange = unknown_in_database(script, current)
    if strange:
        raise ConflictError(
            f"database {where} is at revision {', '.join(strange)}, which this arenadb does not "
            f"know (it knows {describe_code(script)}): a newer arenadb or a hand edit wrote it"
        )


def single_head(script: ScriptDirectory) -> str:
    heads = list(script.get_heads())
    if len(heads) != 1:
        raise ConflictError(
            f"the migrations have {len(heads)} heads ({', '.join(heads)}): merge them into one "
            "revision, or name the head to go to"
        )
    return heads[0]


def resolve(script: ScriptDirectory, revision: str) -> str | None:
    """An explicit revision id for `revision` (None for base); refuses an unknown one."""
    if revision == "base":
        return None
    if revision == "head":
        return single_head(script)
    ids = known(script)
    if revision in ids:
        return revision
    matches = [rev for rev in ids if rev.startswith(revision)] if revision else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InvalidArgumentError(f"revision {revision!r} is ambiguous: {', '.join(matches)}")
    raise InvalidArgumentError(
        f"unknown revision {revision!r}: this arenadb knows {describe_code(script)}"
    )


def _relative_steps(revision: str, sign: str) -> int | None:
    if revision.startswith(sign) and revision[1:].isascii() and revision[1:].isdigit():
        return int(revision[1:])
    return None


def _single_current(script: ScriptDirectory, current: Sequence[str], where: str) -> str | None:
    if len(current) > 1:
        raise ConflictError(
            f"database {where} is at several revisions ({', '.join(current)}): name a revision"
        )
    return current[0] if current else None


def upgrade_target(
    script: ScriptDirectory, current: Sequence[str], revision: str, where: str
) -> str:
    """The Alembic target of an upgrade from `current` to `revision`, checked for direction."""
    require_known_current(script, current, where)
    if revision == "heads":
        return revision
    steps = _relative_steps(revision, "+")
    if steps is not None:
        here = _single_current(script, current, where)
        path = [r for r in known(script) if r not in ancestors(script, here)]
        if steps > len(path):
            raise ConflictError(
                f"database {where} is at {here or 'base'}, {len(path)} revisions below head: "
                f"cannot go up {steps}"
            )
        return path[steps - 1] if steps else (here or "base")
    target = resolve(script, revision)
    below = ancestors(script, target)
    for rev in current:
        if rev != target and rev not in below:
            if target is None or target in ancestors(script, rev):
                raise ConflictError(
                    f"database {where} is at {rev}; {revision} is below it: an upgrade "
                    "cannot go there (downgrade instead)"
                )
            raise ConflictError(f"database {where} is at {rev}; {revision} is not above it")
    return target or "base"


def downgrade_target(
    script: ScriptDirectory, current: Sequence[str], revision: str, where: str
) -> str:
    """The Alembic target of a downgrade from `current` to `revision`, checked for direction."""
    require_known_current(script, current, where)
    steps = _relative_steps(revision, "-")
    if steps is not None:
        here = _single_current(script, current, where)
        depth = len(ancestors(script, here))
        if steps > depth:
            raise ConflictError(
                f"database {where} is at {here or 'base'}, {depth} revisions above base: "
                f"cannot go down {steps}"
            )
        below = known(script)
        path = [r for r in below if r in ancestors(script, here)]
        return path[depth - steps - 1] if depth - steps > 0 else "base"
    target = resolve(script, revision)
    if target is None:
        return "base"
    for rev in current:
        if rev != target and target not in ancestors(script, rev):
            raise ConflictError(
                f"database {where} is at {rev}; {revision} is not below it: a downgrade "
                "cannot go there"
                + (" (upgrade instead)" if rev in ancestors(script, target) else "")
            )
    if not current:
        raise ConflictError(f"database {where} is at base; {revision} is not below it")
    return target


def offline_range(
    script: ScriptDirectory, revision_range: str, down: bool | None
) -> tuple[str, bool]:
    """Alembic's `from:to` for offline SQL and whether it is a downgrade.

    The direction follows the range (`0001:0004` goes up, `0004:0001` down); `down` True or
    False insists on one direction and refuses a range that goes the other way.
    """
    lower, sep, upper = revision_range.partition(":")
    if not sep:
        raise InvalidArgumentError(
            f"revision range {revision_range!r} needs FROM:TO, e.g. base:head or head:base"
        )
    start, end = resolve(script, lower), resolve(script, upper)
    if start == end:
        raise InvalidArgumentError(
            f"revision range {revision_range!r} is empty: FROM and TO are one revision"
        )
    goes_down = end is None or (start is not None and end in ancestors(script, start))
    if not goes_down and not (start is None or start in ancestors(script, end)):
        raise InvalidArgumentError(
            f"revision range {revision_range!r}: {lower} and {upper} are on different branches"
        )
    if down is not None and down != goes_down:
        wanted = "a downgrade goes from the higher revision to the lower, e.g. head:base"
        if not down:
            wanted = "an upgrade goes from the lower revision to the higher, e.g. base:head"
        raise InvalidArgumentError(
            f"revision range {revision_range!r} goes {'down' if goes_down else 'up'}: {wanted}"
        )
    return f"{start or 'base'}:{end or 'base'}", goes_down
