"""What plays: LLM models, agent kinds, prompts (immutable, forked on change), agents,
game types."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arenadb.models.base import Base, created_at_column, never_reused_ids


class LLMModel(Base):
    """An LLM as a provider serves it. Its prices, dated, are `ModelPrice` rows; the two price
    columns here hold what registration was last given and are not used for costs."""

    __tablename__ = "llm_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    provider: Mapped[str | None] = mapped_column(sa.String(100))
    litellm_name: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    input_price_per_mtok: Mapped[float | None]
    output_price_per_mtok: Mapped[float | None]
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        sa.CheckConstraint(
            "input_price_per_mtok IS NULL OR input_price_per_mtok >= 0", name="input_price"
        ),
        sa.CheckConstraint(
            "output_price_per_mtok IS NULL OR output_price_per_mtok >= 0", name="output_price"
        ),
        never_reused_ids(),
    )


# The day a price with no known start applies from: before any call arenadb can have recorded.
PRICES_BEGINNING = date(1970, 1, 1)
PRICE_KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")


class ModelPrice(Base):
    """A model's prices per million tokens from `effective_from` (a UTC day) until the next.

    A call is priced at the price of its day, so a price change never rewrites history. None:
    no price for that kind of token (a call with such tokens has an unknown cost), except
    reasoning, which is billed as output unless priced apart.
    """

    __tablename__ = "model_prices"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("llm_models.id", ondelete="CASCADE"))
    effective_from: Mapped[date] = mapped_column(sa.Date)
    input_per_mtok: Mapped[float | None]
    output_per_mtok: Mapped[float | None]
    cache_read_per_mtok: Mapped[float | None]
    cache_write_per_mtok: Mapped[float | None]
    reasoning_per_mtok: Mapped[float | None]
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        # Its index starts with model_id, so it also serves the FK.
        sa.UniqueConstraint("model_id", "effective_from"),
        *(
            sa.CheckConstraint(
                f"{kind}_per_mtok IS NULL OR {kind}_per_mtok >= 0", name=f"{kind}_price"
            )
            for kind in PRICE_KINDS
        ),
    )


class AgentKind(Base):
    """An agent implementation (a harness: plain, chain-of-thought, tool-using, ...)."""

    __tablename__ = "agent_kinds"

    __table_args__ = never_reused_ids()

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = created_at_column()


class Prompt(Base):
    """An immutable prompt. Changing the text means a new version that records its parent."""

    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    content: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    forked_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("prompts.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = created_at_column()

    forked_from: Mapped[Prompt | None] = relationship(remote_side=[id])

    __table_args__ = (
        sa.UniqueConstraint("name", "version"),
        sa.UniqueConstraint("name", "sha256"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
        never_reused_ids(),
    )


@event.listens_for(Prompt, "before_update")
def _prompts_are_immutable(_mapper: Any, _conn: Any, target: Prompt) -> None:
    state = sa.inspect(target)
    for column in ("content", "sha256", "name", "version"):
        if state.attrs[column].history.has_changes():
            from arenadb.errors import ConflictError

            raise ConflictError(
                f"prompt {target.id} is immutable ({column} changed): fork it instead"
            )


def config_hash(config: Any) -> str:
    """The sha256 of an agent config's canonical JSON; no config hashes as the empty one, so
    `None` and `{}` are the same agent. Example: temperature 0.2 and 0.7 are two agents."""
    from arenadb.db.json import canonical_json

    return hashlib.sha256(canonical_json(config or {}).encode("utf-8")).hexdigest()


EMPTY_CONFIG_HASH = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def _config_hash_default(context: Any) -> str:
    if context is None:  # asked for a constant default (the importer's missing-key rule)
        return EMPTY_CONFIG_HASH
    return config_hash(context.get_current_parameters().get("config"))


class Agent(Base):
    """A unique combination of kind, model, prompt and config that plays games and gets rated."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(sa.ForeignKey("agent_kinds.id", ondelete="RESTRICT"))
    model_id: Mapped[int] = mapped_column(
        sa.ForeignKey("llm_models.id", ondelete="RESTRICT"), index=True
    )
    prompt_id: Mapped[int] = mapped_column(
        sa.ForeignKey("prompts.id", ondelete="RESTRICT"), index=True
    )
    alias: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    agent_class: Mapped[str | None] = mapped_column(sa.String(200))
    config: Mapped[dict[str, Any] | None]
    # Part of the identity: the same kind, model and prompt at two temperatures are two agents.
    # Computed from `config` by every insert through SQLAlchemy; raw SQL that gives no config
    # gets the empty config's hash from the server default.
    config_hash: Mapped[str] = mapped_column(
        sa.String(64), default=_config_hash_default, server_default=EMPTY_CONFIG_HASH
    )
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = created_at_column()

    kind: Mapped[AgentKind] = relationship(lazy="joined")
    model: Mapped[LLMModel] = relationship(lazy="joined")
    prompt: Mapped[Prompt] = relationship(lazy="joined")

    # The unique constraint's index starts with kind_id, so it also serves the kind_id FK.
    __table_args__ = (
        sa.UniqueConstraint("kind_id", "model_id", "prompt_id", "config_hash"),
        never_reused_ids(),
    )


class GameType(Base):
    """A game environment (SecretMafia-v0, ColonelBlotto-v0, ...) and its seats and sides.

    Seats, sides and roles are data, not constraints: no game's rules are hard-coded in the schema.
    """

    __tablename__ = "game_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    env_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    min_seats: Mapped[int] = mapped_column(default=2, server_default="2")
    max_seats: Mapped[int] = mapped_column(default=2, server_default="2")
    sides: Mapped[list[Any] | None]
    roles: Mapped[list[Any] | None]
    config: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        sa.CheckConstraint("min_seats >= 1 AND max_seats >= min_seats", name="seat_range"),
        never_reused_ids(),
    )
