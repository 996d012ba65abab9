"""The ORM models, every one re-exported here so that Alembic's autogenerate sees them all."""

from arenadb.models.base import NAMING_CONVENTION, Base, UTCDateTime, utcnow
from arenadb.models.catalog import Agent, AgentKind, GameType, LLMModel, Prompt
from arenadb.models.game import (
    FINISHED_STATUSES,
    GAME_OUTCOMES,
    GAME_STATUSES,
    LLM_CALL_STATUSES,
    SNAPSHOT_KINDS,
    Game,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    LLMCall,
    PlayerAction,
)
from arenadb.models.meta import ArenaMeta
from arenadb.models.rating import RATING_SYSTEMS, Rating, RatingEvent

metadata = Base.metadata

__all__ = [
    "FINISHED_STATUSES",
    "GAME_OUTCOMES",
    "GAME_STATUSES",
    "LLM_CALL_STATUSES",
    "NAMING_CONVENTION",
    "RATING_SYSTEMS",
    "SNAPSHOT_KINDS",
    "Agent",
    "AgentKind",
    "ArenaMeta",
    "Base",
    "Game",
    "GamePlayer",
    "GameSnapshot",
    "GameTurn",
    "GameType",
    "LLMCall",
    "LLMModel",
    "PlayerAction",
    "Prompt",
    "Rating",
    "RatingEvent",
    "UTCDateTime",
    "metadata",
    "utcnow",
]
