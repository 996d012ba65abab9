"""Knowledge chunks (upserted by source + external id) and knowledge graphs with access checks.

Bulk upserts are ONE `INSERT ... ON CONFLICT (source, external_id) DO UPDATE` statement per
batch, on SQLite and PostgreSQL alike; a row whose title, content and meta did not change is left
alone (its `updated_at` keeps telling when it last really changed).

    with session_scope(engine, write=True) as session:
        result = bulk_upsert_knowledge_chunks(session, [
            {"source": "rules", "external_id": "mafia/night", "title": "Night", "content": "..."},
            {"source": "rules", "content": "a chunk without an id of its own"},
        ])
        graph = create_knowledge_graph(session, name="suspicions", owner_agent_id=7)
        assert can_access(graph, 7) and not can_access(graph, 8)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from arenadb.db.fulltext import SOURCES, match_condition
from arenadb.db.paging import DEFAULT_LIMIT, check_choice, fetch_by_id, paged
from arenadb.errors import ConfigError, ConflictError, InvalidDataError, NotFoundError
from arenadb.models import KNOWLEDGE_GRAPH_TYPES, Agent, KnowledgeChunk, KnowledgeGraph, utcnow

DEFAULT_BATCH_SIZE = 500
# Seven bound parameters per row; SQLite allows 32766 per statement, psycopg 65535.
MAX_BATCH_SIZE = 4000
CHUNK_FIELDS = ("source", "external_id", "title", "content", "meta")

# --- knowledge chunks ------------------------------------------------------------------------


def content_external_id(content: str) -> str:
    """The external id of a chunk that has none: a hash of its content ("sha256:<hex>")."""
    return "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass
class BulkUpsertResult:
    """What a bulk upsert did: chunks given, distinct keys, rows inserted or changed, batches."""

    received: int
    distinct: int
    written: int
    batches: int


def _chunk_row(chunk: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(chunk) - set(CHUNK_FIELDS)
    if unknown:
        raise InvalidDataError(f"unknown knowledge chunk field(s): {', '.join(sorted(unknown))}")
    source, content = chunk.get("source"), chunk.get("content")
    if not source or not isinstance(source, str):
        raise InvalidDataError("a knowledge chunk needs a source")
    if content is None or not isinstance(content, str):
        raise InvalidDataError(f"a knowledge chunk of source {source!r} needs text content")
    return {
        "source": source,
        "external_id": chunk.get("external_id") or content_external_id(content),
        "title": chunk.get("title"),
        "content": content,
        "meta": chunk.get("meta"),
    }


def _dialect_insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert
    raise ConfigError(f"knowledge upserts support sqlite and postgresql, not {dialect}")


def _upsert_statement(session: Session) -> Any:
    """INSERT ... ON CONFLICT (source, external_id) DO UPDATE ... RETURNING id, without values:
    built the same way every time, so SQLAlchemy compiles it once and caches it."""
    table = KnowledgeChunk.__table__
    stmt = _dialect_insert(session)(table)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[table.c.source, table.c.external_id],
        set_={
            "title": new.title,
            "content": new.content,
            "meta": new.meta,
            "updated_at": new.updated_at,
        },
        # Unchanged rows are not rewritten: no dead tuples, and updated_at stays truthful.
        where=sa.or_(
            table.c.content != new.content,
            table.c.title.is_distinct_from(new.title),
            table.c.meta.is_distinct_from(new.meta),
        ),
    ).returning(table.c.id)


def _execute_batch(session: Session, statement: Any, rows: list[dict[str, Any]]) -> int:
    """Send `rows` as ONE multi-row statement; returns how many rows were inserted or changed.

    The rows go as a parameter list and SQLAlchemy's "insertmanyvalues" renders them into a
    single INSERT ... VALUES (...), (...) per page; the page is set to the batch, so each batch
    is exactly one statement (tests/test_social.py counts them). RETURNING yields exactly the
    rows inserted or changed (psycopg's rowcount is -1 for this statement).
    """
    now = utcnow()
    params = [{**row, "created_at": now, "updated_at": now} for row in rows]
    connection = session.connection().execution_options(insertmanyvalues_page_size=len(rows))
    return len(connection.execute(statement, params).fetchall())


def bulk_upsert_knowledge_chunks(
    session: Session,
    chunks: Iterable[Mapping[str, Any]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> BulkUpsertResult:
    """Insert or update chunks by (source, external_id), one statement per `batch_size` chunks.

    Each chunk is a mapping with `source`, `content` and optionally `external_id` (default: a
    hash of the content), `title`, `meta`. When a key appears twice, the last one wins.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidDataError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
    # PostgreSQL refuses to update one row twice in a statement; the last version wins anyway.
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    received = 0
    for chunk in chunks:
        received += 1
        row = _chunk_row(chunk)
        by_key[(row["source"], row["external_id"])] = row
    rows = list(by_key.values())
    statement = _upsert_statement(session)
    written = batches = 0
    for start in range(0, len(rows), batch_size):
        written += _execute_batch(session, statement, rows[start : start + batch_size])
        batches += 1
    return BulkUpsertResult(received=received, distinct=len(rows), written=written, batches=batches)


def upsert_knowledge_chunk(
    session: Session,
    source: str,
    content: str,
    *,
    external_id: str | None = None,
    title: str | None = None,
    meta: dict[str, Any] | None = None,
) -> KnowledgeChunk:
    """Insert or update one chunk by (source, external_id) and return it as stored."""
    row = _chunk_row(
        {
            "source": source,
            "content": content,
            "external_id": external_id,
            "title": title,
            "meta": meta,
        }
    )
    _execute_batch(session, _upsert_statement(session), [row])
    stmt = (
        sa.select(KnowledgeChunk)
        .where(
            KnowledgeChunk.source == row["source"],
            KnowledgeChunk.external_id == row["external_id"],
        )
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one()


def get_knowledge_chunk(session: Session, chunk_id: int) -> KnowledgeChunk:
    return fetch_by_id(session, KnowledgeChunk, chunk_id, "knowledge chunk")


def get_knowledge_chunk_by_external_id(
    session: Session, external_id: str, *, source: str | None = None
) -> KnowledgeChunk | None:
    """The chunk with this external id (in `source`, or the first in any source)."""
    stmt = sa.select(KnowledgeChunk).where(KnowledgeChunk.external_id == external_id)
    if source is not None:
        stmt = stmt.where(KnowledgeChunk.source == source)
    return session.scalars(stmt.order_by(KnowledgeChunk.id).limit(1)).first()


def list_knowledge_chunks(
    session: Session,
    *,
    source: str | None = None,
    text: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[KnowledgeChunk]:
    """Chunks by source then external id; `text` keeps those whose title or content has every
    word of it, found through the full-text index (`arenadb search --in knowledge` ranks them)."""
    stmt = sa.select(KnowledgeChunk)
    if source is not None:
        stmt = stmt.where(KnowledgeChunk.source == source)
    if text:
        dialect = session.get_bind().dialect.name
        stmt = stmt.where(match_condition(dialect, SOURCES["knowledge"], text))
    order = (KnowledgeChunk.source, KnowledgeChunk.external_id)
    return list(session.scalars(paged(stmt.order_by(*order), limit, offset)))


@dataclass
class KnowledgeChunkSummary:
    """A chunk as `arenadb knowledge list` shows it: its size, then the full content."""

    id: int
    source: str
    external_id: str | None
    title: str | None
    chars: int
    updated_at: datetime | None
    content: str
    meta: Any
    created_at: datetime | None


def list_knowledge_summaries(
    session: Session,
    *,
    source: str | None = None,
    text: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[KnowledgeChunkSummary]:
    """`list_knowledge_chunks` as plain summaries (usable after the session closes)."""
    return [
        KnowledgeChunkSummary(
            id=c.id,
            source=c.source,
            external_id=c.external_id,
            title=c.title,
            chars=len(c.content),
            updated_at=c.updated_at,
            content=c.content,
            meta=c.meta,
            created_at=c.created_at,
        )
        for c in list_knowledge_chunks(
            session, source=source, text=text, limit=limit, offset=offset
        )
    ]


def search_knowledge_chunks_by_source(
    session: Session, source: str, *, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> list[KnowledgeChunk]:
    return list_knowledge_chunks(session, source=source, limit=limit, offset=offset)


def count_knowledge_chunks(session: Session, *, source: str | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(KnowledgeChunk)
    if source is not None:
        stmt = stmt.where(KnowledgeChunk.source == source)
    return session.scalar(stmt) or 0


def delete_knowledge_chunk(session: Session, chunk_id: int) -> None:
    session.delete(get_knowledge_chunk(session, chunk_id))
    session.flush()


def delete_knowledge_source(session: Session, source: str) -> int:
    """Delete every chunk of a source (before a clean re-import); returns how many."""
    result = session.execute(sa.delete(KnowledgeChunk).where(KnowledgeChunk.source == source))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- knowledge graphs ------------------------------------------------------------------------


def can_access(graph: KnowledgeGraph, agent_id: int) -> bool:
    """May this agent read the graph? Global and public graphs: anyone; otherwise the owner and
    the agents on its access list."""
    if graph.type == "global" or graph.is_public:
        return True
    if graph.owner_agent_id == agent_id:
        return True
    return agent_id in (graph.access_list or [])


def can_edit(graph: KnowledgeGraph, agent_id: int) -> bool:
    """May this agent change the graph? Its owner; for a shared graph, also its access list."""
    if graph.owner_agent_id == agent_id:
        return True
    return graph.type == "shared" and agent_id in (graph.access_list or [])


def _agent_ids(session: Session, ids: Iterable[Any]) -> list[int]:
    cleaned: list[int] = []
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidDataError(f"an access list holds agent ids, not {value!r}")
        cleaned.append(value)
    wanted = sorted(set(cleaned))
    if wanted:
        found = set(session.scalars(sa.select(Agent.id).where(Agent.id.in_(wanted))))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFoundError(f"agent {missing[0]} not found")
    return wanted


def create_knowledge_graph(
    session: Session,
    *,
    name: str,
    owner_agent_id: int | None = None,
    type: str = "personal",
    description: str | None = None,
    nodes: list[Any] | None = None,
    edges: list[Any] | None = None,
    is_public: bool = False,
    access_list: Iterable[int] = (),
) -> KnowledgeGraph:
    """A new graph. Personal and shared graphs need an owner; names are unique per owner."""
    check_choice("knowledge graph type", type, KNOWLEDGE_GRAPH_TYPES)
    if owner_agent_id is None and type != "global":
        raise InvalidDataError(f"a {type} knowledge graph needs an owner agent")
    if owner_agent_id is not None:
        _agent_ids(session, [owner_agent_id])
    if get_knowledge_graph_by_name(session, name, owner_agent_id=owner_agent_id) is not None:
        owner = f"agent {owner_agent_id}" if owner_agent_id is not None else "nobody"
        raise ConflictError(f"knowledge graph {name!r} owned by {owner} already exists")
    graph = KnowledgeGraph(
        name=name,
        owner_agent_id=owner_agent_id,
        type=type,
        description=description,
        nodes=list(nodes or []),
        edges=list(edges or []),
        is_public=is_public,
        access_list=_agent_ids(session, access_list),
    )
    session.add(graph)
    session.flush()
    return graph


def get_knowledge_graph(session: Session, graph_id: int) -> KnowledgeGraph:
    return fetch_by_id(session, KnowledgeGraph, graph_id, "knowledge graph")


def get_knowledge_graph_by_name(
    session: Session, name: str, *, owner_agent_id: int | None = None
) -> KnowledgeGraph | None:
    """The graph of this name owned by this agent (None: the ownerless one)."""
    owner = (
        KnowledgeGraph.owner_agent_id.is_(None)
        if owner_agent_id is None
        else KnowledgeGraph.owner_agent_id == owner_agent_id
    )
    return session.scalar(sa.select(KnowledgeGraph).where(KnowledgeGraph.name == name, owner))


def _on_access_list(session: Session, agent_id: int) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        as_jsonb = sa.type_coerce(KnowledgeGraph.access_list, postgresql.JSONB)
        return as_jsonb.contains([agent_id])
    return sa.text(
        "EXISTS (SELECT 1 FROM json_each(knowledge_graphs.access_list) AS a"
        " WHERE a.value = :access_agent_id)"
    ).bindparams(access_agent_id=agent_id)


def list_knowledge_graphs(
    session: Session,
    *,
    owner_agent_id: int | None = None,
    type: str | None = None,
    accessible_to: int | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[KnowledgeGraph]:
    """Graphs in id order; `accessible_to=agent_id` keeps those `can_access` allows."""
    stmt = sa.select(KnowledgeGraph)
    if owner_agent_id is not None:
        stmt = stmt.where(KnowledgeGraph.owner_agent_id == owner_agent_id)
    if type is not None:
        stmt = stmt.where(
            KnowledgeGraph.type == check_choice("knowledge graph type", type, KNOWLEDGE_GRAPH_TYPES)
        )
    if accessible_to is not None:
        stmt = stmt.where(
            sa.or_(
                KnowledgeGraph.type == "global",
                KnowledgeGraph.is_public.is_(True),
                KnowledgeGraph.owner_agent_id == accessible_to,
                _on_access_list(session, accessible_to),
            )
        )
    return list(session.scalars(paged(stmt.order_by(KnowledgeGraph.id), limit, offset)))


def update_knowledge_graph(
    session: Session,
    graph_id: int,
    *,
    nodes: list[Any] | None = None,
    edges: list[Any] | None = None,
    description: str | None = None,
    is_public: bool | None = None,
) -> KnowledgeGraph:
    """Replace the fields that are given (None leaves a field as it is)."""
    graph = get_knowledge_graph(session, graph_id)
    if nodes is not None:
        graph.nodes = list(nodes)
    if edges is not None:
        graph.edges = list(edges)
    if description is not None:
        graph.description = description
    if is_public is not None:
        graph.is_public = is_public
    session.flush()
    return graph


def grant_access(session: Session, graph_id: int, agent_id: int) -> KnowledgeGraph:
    """Put an agent on a graph's access list (no-op if it is there already)."""
    graph = get_knowledge_graph(session, graph_id)
    graph.access_list = _agent_ids(session, [*graph.access_list, agent_id])
    session.flush()
    return graph


def revoke_access(session: Session, graph_id: int, agent_id: int) -> KnowledgeGraph:
    """Take an agent off a graph's access list (no-op if it is not there)."""
    graph = get_knowledge_graph(session, graph_id)
    graph.access_list = [a for a in graph.access_list if a != agent_id]
    session.flush()
    return graph


def delete_knowledge_graph(session: Session, graph_id: int) -> None:
    session.delete(get_knowledge_graph(session, graph_id))
    session.flush()
