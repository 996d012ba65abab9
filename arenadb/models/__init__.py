"""The ORM models, every one re-exported here so that Alembic's autogenerate sees them all."""

from arenadb.models.base import NAMING_CONVENTION, Base, UTCDateTime, utcnow
from arenadb.models.board import RatedPool, StoredBoard
from arenadb.models.catalog import (
    PRICE_KINDS,
    PRICES_BEGINNING,
    Agent,
    AgentKind,
    GameType,
    LLMModel,
    ModelPrice,
    Prompt,
)
from arenadb.models.coalition import COALITION_STATUSES, Coalition, CoalitionMember
from arenadb.models.events import (
    ENGINE_STATUSES,
    EVENT_STATUSES,
    LIVE_EVENT_STATUSES,
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
    TURN_VISIBILITIES,
    Game,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    LLMCall,
    PendingAction,
    PlayerAction,
)
from arenadb.models.knowledge import KNOWLEDGE_GRAPH_TYPES, KnowledgeChunk, KnowledgeGraph
from arenadb.models.meta import ArenaMeta
from arenadb.models.rating import RATING_SYSTEMS, Rating, RatingEvent
from arenadb.models.social import (
    CONVERSATION_STATUSES,
    CONVERSATION_TYPES,
    SENDER_TYPES,
    Conversation,
    ConversationParticipant,
    Message,
    User,
)
from arenadb.models.system_log import LOG_LEVELS, SystemLog
from arenadb.models.usage import llm_usage_daily

metadata = Base.metadata

__all__ = [
    "COALITION_STATUSES",
    "CONVERSATION_STATUSES",
    "CONVERSATION_TYPES",
    "ENGINE_STATUSES",
    "EVENT_STATUSES",
    "FINISHED_STATUSES",
    "GAME_OUTCOMES",
    "GAME_STATUSES",
    "KNOWLEDGE_GRAPH_TYPES",
    "LIVE_EVENT_STATUSES",
    "LLM_CALL_STATUSES",
    "LOG_LEVELS",
    "NAMING_CONVENTION",
    "PRICES_BEGINNING",
    "PRICE_KINDS",
    "RATING_SYSTEMS",
    "SCENARIO_RUN_STATUSES",
    "SENDER_TYPES",
    "SNAPSHOT_KINDS",
    "TURN_VISIBILITIES",
    "Agent",
    "AgentKind",
    "ArenaMeta",
    "Base",
    "Coalition",
    "CoalitionMember",
    "Conversation",
    "ConversationParticipant",
    "Engine",
    "Event",
    "EventType",
    "ExecutionLog",
    "Game",
    "GamePlayer",
    "GameSnapshot",
    "GameTurn",
    "GameType",
    "KnowledgeChunk",
    "KnowledgeGraph",
    "LLMCall",
    "LLMModel",
    "Message",
    "ModelPrice",
    "PendingAction",
    "PlayerAction",
    "Prompt",
    "RatedPool",
    "Rating",
    "RatingEvent",
    "ScenarioRun",
    "ScenarioTemplate",
    "StoredBoard",
    "SystemLog",
    "UTCDateTime",
    "User",
    "llm_usage_daily",
    "metadata",
    "utcnow",
]
