"""The ORM models, every one re-exported here so that Alembic's autogenerate sees them all."""

from arenadb.models.base import NAMING_CONVENTION, Base, UTCDateTime, utcnow
from arenadb.models.catalog import Agent, AgentKind, GameType, LLMModel, Prompt
from arenadb.models.events import (
    ENGINE_STATUSES,
    EVENT_STATUSES,
    LIVE_EVENT_STATUSES,
    LOG_LEVELS,
    SCENARIO_RUN_STATUSES,
    Engine,
    Event,
    EventType,
    ExecutionLog,
    ScenarioRun,
    ScenarioTemplate,
)
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
    "ENGINE_STATUSES",
    "EVENT_STATUSES",
    "FINISHED_STATUSES",
    "GAME_OUTCOMES",
    "GAME_STATUSES",
    "LIVE_EVENT_STATUSES",
    "LLM_CALL_STATUSES",
    "LOG_LEVELS",
    "NAMING_CONVENTION",
    "RATING_SYSTEMS",
    "SCENARIO_RUN_STATUSES",
    "SNAPSHOT_KINDS",
    "Agent",
    "AgentKind",
    "ArenaMeta",
    "Base",
    "Engine",
    "Event",
    "EventType",
    "ExecutionLog",
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
    "ScenarioRun",
    "ScenarioTemplate",
    "UTCDateTime",
    "metadata",
    "utcnow",
]
