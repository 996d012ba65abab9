"""Bulk upsert of knowledge chunks: one INSERT ... ON CONFLICT per batch vs a row at a time.

The baseline is what MiniPilot's repository did: for each chunk, SELECT it by (source,
external_id), then UPDATE it or INSERT it through the ORM. Both run in one transaction, on a
fresh database per backend, over three passes: first import (all inserts), the same import again
(nothing changed), and an import where every chunk's content changed.

    python benchmarks/knowledge_upsert.py [--rows 5000] [--postgres-url postgresql://.../x]

The PostgreSQL URL names a server; a throwaway `arenadb_bench_*` database is created and dropped.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from arenadb.config import Settings, load_settings
from arenadb.db import create_database, create_engine, drop_database, session_scope
from arenadb.models import KnowledgeChunk
from arenadb.schema.migrations import upgrade
from arenadb.social.knowledge import bulk_upsert_knowledge_chunks
from arenadb.urls import parse_url


def row_at_a_time(session: Any, chunks: list[dict[str, Any]]) -> None:
    for chunk in chunks:
        existing = session.scalar(
            sa.select(KnowledgeChunk).where(
                KnowledgeChunk.source == chunk["source"],
                KnowledgeChunk.external_id == chunk["external_id"],
            )
        )
        if existing is None:
            session.add(KnowledgeChunk(**chunk))
        else:
            existing.title, existing.content = chunk["title"], chunk["content"]
        session.flush()


def make_chunks(n: int, version: int) -> list[dict[str, Any]]:
    return [
        {
            "source": "bench",
            "external_id": f"doc-{i}",
            "title": f"Chunk {i}",
            "content": f"version {version} of chunk {i} " + "lorem ipsum " * 20,
        }
        for i in range(n)
    ]


def timed(engine: Any, work: Callable[[Any], None]) -> float:
    start = time.perf_counter()
    with session_scope(engine, write=True) as session:
        work(session)
    return time.perf_counter() - start


def run_backend(name: str, settings: Settings, rows: int) -> None:
    create_database(settings, if_not_exists=True)
    upgrade(settings)
    engine = create_engine(settings)
    passes = [("insert", make_chunks(rows, 1)), ("unchanged", make_chunks(rows, 1)),
              ("update", make_chunks(rows, 2))]  # fmt: skip
    try:
        results = {}
        for label, method in (("row-at-a-time", row_at_a_time), ("bulk", None)):
            with session_scope(engine, write=True) as session:
                session.execute(sa.delete(KnowledgeChunk))
            for phase, chunks in passes:
                if method is None:
                    seconds = timed(engine, lambda s, c=chunks: bulk_upsert_knowledge_chunks(s, c))
                else:
                    seconds = timed(engine, lambda s, c=chunks, m=method: m(s, c))
                results[(label, phase)] = seconds
        for phase, _ in passes:
            base, bulk = results[("row-at-a-time", phase)], results[("bulk", phase)]
            print(
                f"{name:10} {phase:9} rows={rows}  row-at-a-time {base * 1000:8.1f} ms"
                f"  bulk {bulk * 1000:7.1f} ms  speed-up x{base / bulk:5.1f}"
            )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = load_settings(f"sqlite:///{Path(folder) / 'bench.db'}", environ={})
        run_backend("sqlite", sqlite, args.rows)
    if args.postgres_url:
        name = f"arenadb_bench_{uuid.uuid4().hex[:10]}"
        pg = load_settings(parse_url(args.postgres_url).with_database(name).render(), environ={})
        try:
            run_backend("postgresql", pg, args.rows)
        finally:
            drop_database(pg, missing_ok=True)


if __name__ == "__main__":
    main()
