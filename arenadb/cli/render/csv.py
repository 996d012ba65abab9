"""CSV on stdout. The header depends on the command, never on the data: an empty result has
the same header as a full one, so a script can read either."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def csv_cell(value: Any) -> Any:
    """Booleans as `true`/`false` (as in JSON), nested values as JSON, None as empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_csv(rows: Sequence[Mapping[str, Any]], header: Sequence[str]) -> None:
    """`rows` (plain values) under `header`; keys outside the header are left out."""
    writer = csv.DictWriter(sys.stdout, fieldnames=list(header), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
