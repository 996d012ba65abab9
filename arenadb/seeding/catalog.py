"""The catalog a seed registers before any game: models, agent kinds, prompts (with their forks),
game types and agents, get-or-create, so that seeding again finds them instead of adding them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.catalog import registration as registry
from arenadb.models import Agent, GameType, LLMModel, Prompt
from arenadb.seeding.files import SeedData
from arenadb.seeding.generators import SeedAgent


class SeedCatalog:
    """The rows a seed's catalog sections name, by the names its other sections use.

    `created` counts, per section, the rows this run inserted: a get-or-create returns the row
    either way, and only the session knows whether it was new.
    """

    def __init__(self, session: Session, data: SeedData) -> None:
        self.session = session
        self.data = data
        self.created: dict[str, int] = {}
        self.models: dict[str, LLMModel] = {}
        self.prompts: dict[str, list[Prompt]] = {}  # every version, the first one first
        self.game_types: dict[str, GameType] = {}
        self.agents: dict[str, Agent] = {}
        # The agents as the generators see them, with their database ids.
        self.seed_agents: dict[str, SeedAgent] = {}
        self._inserted: set[Any] = set()

    @classmethod
    def register(cls, session: Session, data: SeedData) -> SeedCatalog:
        """Register every catalog row of `data` (flushed: each has its id)."""
        catalog = cls(session, data)
        with catalog._watching_inserts():
            catalog._register_models()
            catalog._register_kinds()
            catalog._register_prompts()
            catalog._register_game_types()
            catalog._register_agents()
            session.flush()
        # The one resolving step: the generators emit records with database ids.
        for row in data.rows("agents"):
            catalog.seed_agents[row["alias"]] = catalog._seed_agent(row)
        return catalog

    def agent_ids(self) -> dict[str, int]:
        """Agent alias -> id, the references of the social sections."""
        return {alias: agent.id for alias, agent in self.agents.items()}

    @contextmanager
    def _watching_inserts(self) -> Iterator[None]:
        def inserted(_session: Session, obj: Any) -> None:
            self._inserted.add(sa.inspect(obj).identity_key)

        sa.event.listen(self.session, "pending_to_persistent", inserted)
        try:
            yield
        finally:
            sa.event.remove(self.session, "pending_to_persistent", inserted)

    def _count(self, section: str, obj: Any) -> None:
        """Count `obj` as created when this run inserted it (autoflush may have done so already)."""
        state = sa.inspect(obj)
        if state.pending or state.identity_key in self._inserted:
            self.created[section] = self.created.get(section, 0) + 1

    def _register_models(self) -> None:
        for row in self.data.rows("models"):
            model = registry.get_or_create_model(
                self.session,
                row["name"],
                provider=row.get("provider"),
                litellm_name=row.get("litellm_name"),
                input_price_per_mtok=row.get("input_price_per_mtok"),
                output_price_per_mtok=row.get("output_price_per_mtok"),
                active=row.get("active"),
            )
            self.models[row["name"]] = model
            self._count("models", model)

    def _register_kinds(self) -> None:
        for row in self.data.rows("kinds"):
            kind = registry.get_or_create_kind(
                self.session,
                row["name"],
                description=row.get("description"),
                active=row.get("active"),
            )
            self._count("kinds", kind)

    def _register_prompts(self) -> None:
        for row in self.data.rows("prompts"):
            prompt = registry.register_prompt(self.session, row["name"], row["content"])
            if "active" in row and prompt.active != row["active"]:
                prompt.active = row["active"]
            self.prompts.setdefault(row["name"], []).append(prompt)
            self._count("prompts", prompt)

    def _register_game_types(self) -> None:
        for row in self.data.rows("game_types"):
            game_type = registry.get_or_create_game_type(
                self.session,
                row["env_id"],
                name=row.get("name"),
                min_seats=row.get("min_seats"),
                max_seats=row.get("max_seats"),
                sides=row.get("sides"),
                roles=row.get("roles"),
            )
            for key in ("description", "config"):
                if key in row and getattr(game_type, key) != row[key]:
                    setattr(game_type, key, row[key])
            self.game_types[row["env_id"]] = game_type
            self._count("game_types", game_type)

    def _register_agents(self) -> None:
        for row in self.data.rows("agents"):
            agent = registry.get_or_create_agent(
                self.session,
                kind=row["kind"],
                model=self.models[row["model"]],
                prompt=self._prompt_of(row),
                alias=row["alias"],
                agent_class=row.get("class"),
                config=row.get("config"),
            )
            if "active" in row and agent.active != row["active"]:
                agent.active = row["active"]
            self.agents[row["alias"]] = agent
            self._count("agents", agent)

    def _prompt_of(self, agent_row: dict[str, Any]) -> Prompt:
        """The prompt version an agent plays with (`prompt_version`, 1-based; default: the last)."""
        versions = self.prompts[agent_row["prompt"]]
        return versions[agent_row.get("prompt_version", len(versions)) - 1]

    def _seed_agent(self, agent_row: dict[str, Any]) -> SeedAgent:
        model = self.models[agent_row["model"]]
        return SeedAgent(
            alias=agent_row["alias"],
            agent_id=self.agents[agent_row["alias"]].id,
            model_id=model.id,
            model=model.name,
            kind=agent_row["kind"],
            provider=model.provider,
            input_price=model.input_price_per_mtok or 0.0,
            output_price=model.output_price_per_mtok or 0.0,
            prompt=self._prompt_of(agent_row).content,
        )
