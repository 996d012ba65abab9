"""THE spelling of an age: a count and a unit, `90s`, `15m`, `12h`, `7d`, `2w`.

`--since 7d` and `clean --before 90d` (that long ago) and `engines mark-stale --older-than 15m`
(a duration) read it alike. Imports stay light: `arenadb.cli.options` parses with it.
"""

from __future__ import annotations

import re
from datetime import timedelta

_AGE = re.compile(r"(\d+)\s*([smhdw])", re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
AGE_EXAMPLES = "90m, 12h, 7d, 2w"
# More digits than any timedelta holds; int() of 5,000 digits would fail on its own.
_DIGITS_MAX = 15


def parse_age(text: str) -> timedelta | None:
    """The duration `text` spells as an age (case and outer spaces ignored), None if it is no
    age; OverflowError when it is one longer than any timedelta."""
    match = _AGE.fullmatch(text.strip().lower())
    if match is None:
        return None
    if len(match.group(1)) > _DIGITS_MAX:
        raise OverflowError(text)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
