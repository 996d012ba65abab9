"""THE page rule of every list (CLI options, library reads, web query strings): 1 to MAX_LIMIT
rows from a non-negative offset, refused in the same words wherever it is checked.

Imports stay light (arenadb.errors only): `arenadb.cli.options` bounds its `--limit` with it.
"""

from __future__ import annotations

from arenadb.errors import InvalidArgumentError

MAX_LIMIT = 10_000
# The page a list shows when no limit is given: every command's `--limit`, every library read
# and every web page that pages (tests/cli/test_agreement.py walks the command tree for it).
DEFAULT_LIMIT = 50


def check_page(limit: int, offset: int) -> None:
    """A page of a list: 1 to MAX_LIMIT rows, from a non-negative offset."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if offset < 0:
        raise InvalidArgumentError(f"offset cannot be negative, not {offset}")
