"""`arenadb conversations list`, `arenadb conversation show ID`, `arenadb knowledge list`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption, LimitOption, OffsetOption, id_option
from arenadb.cli.render.output import (
    info,
    output_format,
    print_json,
    render_object,
    render_rows,
)
from arenadb.limits import DEFAULT_LIMIT

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


# The same values as arenadb.models (not imported here: `arenadb --help` must stay fast);
# tests/test_social_cli.py checks they agree.
class ConversationType(str, Enum):
    direct = "direct"
    group = "group"
    broadcast = "broadcast"
    system = "system"


class ConversationStatus(str, Enum):
    active = "active"
    archived = "archived"


class SenderType(str, Enum):
    agent = "agent"
    user = "user"
    system = "system"


def _value(choice: Enum | None) -> str | None:
    return None if choice is None else str(choice.value)


conversations_app = typer.Typer(help="Conversations among agents and users.", no_args_is_help=True)
conversation_app = typer.Typer(help="One conversation and its messages.", no_args_is_help=True)
knowledge_app = typer.Typer(help="Knowledge chunks agents retrieve.", no_args_is_help=True)


@contextmanager
def _read_session(ctx: typer.Context) -> Iterator[Session]:
    from arenadb.db import engine_scope, session_scope

    settings = app_context(ctx).settings()
    with engine_scope(settings, pooled=False) as engine, session_scope(engine) as session:
        yield session


@conversations_app.command("list")
def list_conversations(
    ctx: typer.Context,
    game: Annotated[
        str | None, typer.Option("--game", help="Only this game's (id, UUID or UUID prefix).")
    ] = None,
    type_: Annotated[
        ConversationType | None, typer.Option("--type", help="Only this type.")
    ] = None,
    status: Annotated[
        ConversationStatus | None, typer.Option("--status", help="Only this status.")
    ] = None,
    user: Annotated[int | None, id_option("--user", help="Only those this user owns.")] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Only those this agent (id or alias) takes part in."),
    ] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Conversations, newest first, with their participant and message counts."""
    from arenadb.social.conversation_views import ConversationSummary, list_conversation_summaries

    fmt = output_format(ctx, json_output, csv_output)
    with _read_session(ctx) as session:
        rows = list_conversation_summaries(
            session,
            game_id=game,
            type=_value(type_),
            status=_value(status),
            user_id=user,
            agent_id=agent,
            limit=limit,
            offset=offset,
        )
    columns = ["id", "type", "title", "status", "game_id", "participants", "messages"]
    render_rows(
        rows,
        [*columns, "last_message_at"],
        fmt,
        title="conversations",
        csv_fields=ConversationSummary,
    )


MESSAGE_COLUMNS = ["id", "created_at", "sender", "message_type", "content"]


@conversation_app.command("show")
def show_conversation(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="ID", help="Conversation id or UUID.")],
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    sender_type: Annotated[
        SenderType | None, typer.Option("--sender-type", help="Only these messages.")
    ] = None,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """A conversation: what it is, who is in it, and its messages (oldest first; CSV: the
    messages, as `game replay --csv` gives the turns)."""
    from arenadb.social.conversation_views import MessageView, conversation_detail

    fmt = output_format(ctx, json_output, csv_output)
    with _read_session(ctx) as session:
        detail = conversation_detail(
            session, ref, limit=limit, offset=offset, sender_type=_value(sender_type)
        )
    if fmt == "json":
        print_json(detail)
        return
    if fmt == "csv":
        render_rows(detail.messages, MESSAGE_COLUMNS, fmt, csv_fields=MessageView)
        return
    summary = detail.conversation
    render_object(summary.__dict__, fmt, title=f"conversation {summary.id}")
    render_rows(detail.participants, ["kind", "name", "agent_id", "user_id", "role"], fmt)
    render_rows(detail.messages, MESSAGE_COLUMNS, fmt)
    shown = len(detail.messages)
    if shown and shown < summary.messages:
        info(f"messages {offset + 1}-{offset + shown} of {summary.messages} (--limit, --offset)")
    elif not shown and summary.messages:
        info(f"no messages after offset {offset}: the conversation has {summary.messages}")


@knowledge_app.command("list")
def list_knowledge(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Title or content contains this.")
    ] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Knowledge chunks by source and external id."""
    from arenadb.social.knowledge import KnowledgeChunkSummary, list_knowledge_summaries

    fmt = output_format(ctx, json_output, csv_output)
    with _read_session(ctx) as session:
        rows = list_knowledge_summaries(
            session, source=source, text=search, limit=limit, offset=offset
        )
    render_rows(
        rows,
        ["id", "source", "external_id", "title", "chars", "updated_at"],
        fmt,
        title="knowledge",
        csv_fields=KnowledgeChunkSummary,
    )
