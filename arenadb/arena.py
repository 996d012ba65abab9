"""The library entry point an arena runner uses: `arenadb.connect()` -> `Arena`.

    import arenadb

    with arenadb.connect("sqlite:///arena.db") as arena:
        agent = arena.register_agent(model="gpt-4o-mini", kind="plain",
                                     prompt=("mafia", "You are playing Secret Mafia..."))
        game = arena.start_game("SecretMafia-v0", [agent] * 6)
        seq = game.record_turn(seat=0, action="[vote] 3", state=env_state,
                               llm_calls=[{"request": messages, "response": reply}])
        game.finish(outcome="win", winning_side="village", results={0: {"reward": 1}})

An `Arena` holds the settings and one engine (created on first use, never at import time) and
small caches (game type and model ids, model prices). It is safe to share between threads; each
game's `GameRecorder` belongs to one thread. In a new process, connect again (engines do not
survive fork).
"""

from __future__ import annotations

import dataclasses
import uuid as uuid_module
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from arenadb.catalog.cache import CachedCatalog
from arenadb.config import Settings, load_settings
from arenadb.db.batch_connection import BatchConnection
from arenadb.db.connections import Connections
from arenadb.db.writer import writer_for
from arenadb.inspection.library import ReadSide
from arenadb.models import (
    Agent,
    AgentKind,
    GameType,
    LLMModel,
    Prompt,
)
from arenadb.recording.context import RecorderContext
from arenadb.recording.flusher import Flusher
from arenadb.recording.lifecycle import (
    ResumePoint,
    load_resume_point,
    recorder_for_running_game,
    start_game,
)
from arenadb.recording.recorder import GameRecorder
from arenadb.recording.types import Seat
from arenadb.urls import parse_url


def connect(
    url: str | None = None,
    *,
    read_url: str | None = None,
    settings: Settings | None = None,
    durable_batches: bool = True,
    batch_turns: int = 1000,
    flush_seconds: float = 1.0,
    **engine_options: Any,
) -> Arena:
    """An `Arena` on `url`, or on the configured database (flag > environment > .env > default).

    `settings` (from `arenadb.load_settings`) replaces URL resolution entirely; extra keyword
    arguments go to the engine factory (e.g. `pooled=False`). `batch_turns` and `flush_seconds`
    are the recorders' default batch policy (see `arenadb.recording.recorder`);
    `durable_batches=False` lets batch commits return before their WAL reaches the disk on
    PostgreSQL (`BatchConnection`). `read_url` (default: ARENADB_READ_URL) is a read replica
    for the read side (`arena.games()`, `arena.game()`, ...); writes always go to `url`.
    """
    if settings is None:
        settings = load_settings(url, read_url=read_url)
    else:
        if url is not None:
            settings = settings.with_url(url)
        if read_url is not None:
            settings = dataclasses.replace(settings, read_url=parse_url(read_url))
    return Arena(
        settings,
        durable_batches=durable_batches,
        batch_turns=batch_turns,
        flush_seconds=flush_seconds,
        **engine_options,
    )


class Arena(ReadSide):
    """A connection to an arena database: registration, recording, and the read side."""

    def __init__(
        self,
        settings: Settings,
        *,
        durable_batches: bool = True,
        batch_turns: int = 1000,
        flush_seconds: float = 1.0,
        **engine_options: Any,
    ) -> None:
        self.settings = settings
        self._connections = Connections(settings, durable_batches=durable_batches, **engine_options)
        self._catalog = CachedCatalog(self.session)
        self.batch_turns = batch_turns
        self.flush_seconds = flush_seconds
        # Commits what recorders buffered within flush_seconds, even without a next turn.
        self._flusher = Flusher()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, created on first use."""
        return self._connections.engine

    @property
    def read_engine(self) -> Engine:
        """The engine of the read side: the read replica (read-only) when the settings name one
        (`read_url`, ARENADB_READ_URL), else `engine`."""
        return self._connections.read_engine

    @property
    def batch_connection(self) -> BatchConnection:
        """The connection recorders write their batches through (opened on first use)."""
        return self._connections.batch_connection

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """An ORM session in one transaction (committed on success). `write=True` for writers:
        on SQLite it takes the write lock up front, which concurrent writers need. Database
        errors leave it as arenadb errors (`arenadb.db.errors.translated_errors`)."""
        from arenadb.db import session_scope
        from arenadb.db.errors import translated_errors

        with translated_errors(self.settings), session_scope(self.engine, write=write) as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """An ORM session in one read transaction on `read_engine`."""
        from arenadb.db import session_scope
        from arenadb.db.errors import translated_errors

        with translated_errors(self.settings), session_scope(self.read_engine) as session:
            yield session

    def close(self) -> None:
        """Release the connections (the Arena, and its recorders, reconnect if used again)."""
        self._flusher.stop()
        self._connections.close()

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Arena {self.settings.masked_url}>"

    # -- registration (and the cached lookups the recorder uses): arenadb.catalog.cache ----

    def register_model(self, name: str, **attributes: Any) -> LLMModel:
        """Get or create an LLM model (provider, litellm_name, prices per million tokens, ...)."""
        return self._catalog.register_model(name, **attributes)

    def register_kind(self, name: str, **attributes: Any) -> AgentKind:
        """Get or create an agent kind (description, active)."""
        return self._catalog.register_kind(name, **attributes)

    def register_prompt(self, name: str, content: str) -> Prompt:
        """The prompt with this name and content: the existing version or a new fork."""
        return self._catalog.register_prompt(name, content)

    def register_game_type(self, env_id: str, **attributes: Any) -> GameType:
        """Get or create a game type (name, min_seats, max_seats, sides, roles)."""
        return self._catalog.register_game_type(env_id, **attributes)

    def register_agent(
        self,
        *,
        model: LLMModel | int | str,
        kind: AgentKind | int | str,
        prompt: Prompt | int | tuple[str, str],
        alias: str | None = None,
        agent_class: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Agent:
        """Get or create the agent (kind, model, prompt), registering what is named, in one
        transaction. `prompt` is a Prompt, its id, or (name, content) (forked on change)."""
        return self._catalog.register_agent(
            model=model,
            kind=kind,
            prompt=prompt,
            alias=alias,
            agent_class=agent_class,
            config=config,
        )

    def game_type_id(self, game_type: GameType | int | str, seats: int = 2) -> int:
        """The id of a game type; an env id that is not registered yet is registered."""
        return self._catalog.game_type_id(game_type, seats)

    def model_id(self, model: LLMModel | int | str) -> int:
        """The id of an LLM model given as object, id, or registered name."""
        return self._catalog.model_id(model)

    # -- recording --------------------------------------------------------------------------

    def recorder_context(self) -> RecorderContext:
        """What this Arena's recorders use: its batch connection, model lookups and defaults."""
        return RecorderContext(
            batch_connection=lambda: self.batch_connection,
            writer=writer_for(self.engine),
            model_id=self._catalog.model_id,
            model_prices=self._catalog.model_prices,
            settings=self.settings,
            batch_turns=self.batch_turns,
            flush_seconds=self.flush_seconds,
            snapshot_every=self.settings.snapshot_every,
            flusher=self._flusher,
        )

    def start_game(
        self,
        game_type: GameType | int | str,
        seats: Sequence[Seat | Agent | int] | Mapping[int, Seat | Agent | int],
        *,
        seed: int | None = None,
        info: Mapping[str, Any] | None = None,
        rated: bool = True,
        uuid: uuid_module.UUID | None = None,
        batch_turns: int | None = None,
        flush_seconds: float | None = None,
        snapshot_every: int | None = None,
        initial_state: Mapping[str, Any] | None = None,
    ) -> GameRecorder:
        """Start a running game with its seats (one transaction); returns its recorder.

        `seats`: a list (seat = position) or a mapping seat -> Seat / Agent / agent id.
        The buffer is written when a turn starts and it holds `batch_turns` turns or the last
        write is older than `flush_seconds` (defaults: the Arena's, 1000 and 1.0). A periodic
        snapshot is taken every `snapshot_every` turns (default: the setting, 10).
        """
        type_id = self.game_type_id(game_type, seats=len(seats))
        return start_game(
            self.recorder_context(),
            type_id,
            seats,
            seed=seed,
            info=info,
            rated=rated,
            game_uuid=uuid,
            batch_turns=batch_turns,
            flush_seconds=flush_seconds,
            snapshot_every=snapshot_every,
            initial_state=initial_state,
        )

    def resume(
        self,
        game: int | str | uuid_module.UUID,
        *,
        batch_turns: int | None = None,
        flush_seconds: float | None = None,
        snapshot_every: int | None = None,
    ) -> ResumePoint[GameRecorder]:
        """Restart recovery for a running game: the last verified snapshot, the turns after it,
        and (`.recorder`) a recorder that continues after the last recorded turn."""
        with self.session() as session:
            point = load_resume_point(session, game)
            point.recorder = recorder_for_running_game(
                self.recorder_context(),
                session,
                point,
                batch_turns=batch_turns,
                flush_seconds=flush_seconds,
                snapshot_every=snapshot_every,
            )
        return point
