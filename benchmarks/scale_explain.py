"""The server's own time for each read-only query of `benchmarks/scale.py`, on a kept arena.

On a loaded machine a query's wall-clock time is mostly waiting for a core; PostgreSQL's
EXPLAIN ANALYZE (planning + execution) of every SELECT a query issues is much less disturbed.
Run on an arena kept by `scale.py --keep` (PostgreSQL only):

    python benchmarks/scale_explain.py postgresql://postgres@HOST/arenadb_bench_scale_X [SKIP;...]

Prints per query the statements, their summed server time and the slowest one. The live
Bradley-Terry board (computed in Python), export and clean (they write) are left out.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
import scale

from arenadb.config import load_settings
from arenadb.db import create_engine

SKIP = {*scale.ONCE, "agents top (bt)", "baseline: SELECT 1"}
TIMES = re.compile(r"(Planning|Execution) Time: ([\d.]+) ms")


def main() -> int:
    skip = SKIP | set(sys.argv[2].split(";") if len(sys.argv) > 2 else ())
    engine = create_engine(load_settings(sys.argv[1], environ={}, cwd="/"))
    if engine.dialect.name != "postgresql":
        raise SystemExit("EXPLAIN ANALYZE timings: PostgreSQL only")
    seen: list[tuple[str, Any]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, params))

    ops = scale.operations(engine, Path(tempfile.mkdtemp(prefix="arenadb_explain_")))
    for name, (call, _argv) in ops.items():
        if name in skip:
            continue
        call()
        seen.clear()
        call()
        selects = [s for s in seen if s[0].lstrip().upper().startswith(("SELECT", "WITH"))]
        seen.clear()
        total, worst, worst_sql = 0.0, 0.0, ""
        with engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            for statement, params in selects:
                cursor.execute("EXPLAIN (ANALYZE) " + statement, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                ms = sum(float(t) for _kind, t in TIMES.findall(plan))
                total += ms
                if ms > worst:
                    worst, worst_sql = ms, " ".join(statement.split())[:70]
        print(
            f"{name:28} {len(selects):2} statements {total:9.2f} ms  slowest {worst:8.2f} ms: "
            f"{worst_sql}",
            flush=True,
        )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
