"""Reading ratings: the leaderboard (`agents top`) and an agent's profile (`agent info`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from arenadb.errors import NotFoundError
from arenadb.inspection.usage import AgentUsage, agent_usage
from arenadb.models import (
    Agent,
    AgentKind,
    Game,
    GamePlayer,
    GameType,
    LLMModel,
    Prompt,
    Rating,
    RatingEvent,
)
from arenadb.ratings.board_model import win_rate
from arenadb.ratings.book import resolve_game_type
from arenadb.ratings.systems import TRUESKILL, check_systems

# How many standard deviations the conservative score subtracts: mu - 3 sigma.
CONSERVATIVE_K = 3.0


def conservative_score(mu: float, sigma: float) -> float:
    """The leaderboard score: a skill the agent has with ~99% confidence."""
    return mu - CONSERVATIVE_K * sigma


@dataclass(frozen=True)
class OnlineRating:
    """An agent's online rating in one system and scope: a line of `agents top --method
    trueskill|openskill` (ranked), and of an agent's profile (`agent info`, rank None)."""

    rank: int | None  # position on the board; None outside a board
    agent_id: int
    alias: str | None
    model: str
    kind: str
    system: str
    game_type: str | None  # env id; None = overall
    score: float  # mu - 3 sigma
    mu: float
    sigma: float
    games: int
    wins: int
    draws: int
    losses: int
    win_rate: float | None


def _ratings_query() -> sa.Select[Any]:
    """Ratings with what a line shows about the agent and the scope."""
    columns: list[Any] = [
        Rating.agent_id,
        Agent.alias,
        LLMModel.name.label("model"),
        AgentKind.name.label("kind"),
        Rating.system,
        GameType.env_id,
        Rating.mu,
        Rating.sigma,
        Rating.games,
        Rating.wins,
        Rating.draws,
        Rating.losses,
    ]
    return (
        sa.select(*columns)
        .join(Agent, Agent.id == Rating.agent_id)
        .join(LLMModel, LLMModel.id == Agent.model_id)
        .join(AgentKind, AgentKind.id == Agent.kind_id)
        .outerjoin(GameType, GameType.id == Rating.game_type_id)
    )


def _online_rating(r: sa.Row[Any], rank: int | None) -> OnlineRating:
    return OnlineRating(
        rank=rank,
        agent_id=r.agent_id,
        alias=r.alias,
        model=r.model,
        kind=r.kind,
        system=r.system,
        game_type=r.env_id,
        score=conservative_score(r.mu, r.sigma),
        mu=r.mu,
        sigma=r.sigma,
        games=r.games,
        wins=r.wins,
        draws=r.draws,
        losses=r.losses,
        win_rate=win_rate(r.wins, r.draws, r.games),
    )


def top_agents(
    engine: Engine,
    *,
    system: str = TRUESKILL,
    game_type: str | int | None = None,
    min_games: int = 0,
    limit: int | None = 20,
) -> list[OnlineRating]:
    """Agents by conservative score (mu - 3 sigma), overall or for one game type: one query."""
    return online_board(
        engine, system=system, game_type=game_type, min_games=min_games, limit=limit
    ).rows


@dataclass
class OnlineBoard:
    """`agents top --method trueskill|openskill`: the rows, and whether they still count
    deleted games (`arenadb.ratings.staleness`; `arenadb ratings rebuild` fixes that)."""

    system: str
    game_type_id: int | None
    rows: list[OnlineRating]
    deleted_game_results: int = 0
    game_type: str | None = None  # the env id of `game_type_id`; None = overall


def online_board(
    engine: Engine,
    *,
    system: str = TRUESKILL,
    game_type: str | int | None = None,
    min_games: int = 0,
    limit: int | None = 20,
) -> OnlineBoard:
    """`top_agents`, and how many seat results of deleted games its ratings still count."""
    from arenadb.ratings.staleness import deleted_game_results

    (system,) = check_systems([system])
    score = Rating.mu - CONSERVATIVE_K * Rating.sigma
    with engine.connect() as conn:
        game_type_id = resolve_game_type(conn, game_type)
        env_id = (
            None
            if game_type_id is None
            else conn.scalar(sa.select(GameType.env_id).where(GameType.id == game_type_id))
        )
        stale = deleted_game_results(conn, system=system, game_type_id=game_type_id)
        scope = (
            Rating.game_type_id.is_(None)
            if game_type_id is None
            else Rating.game_type_id == game_type_id
        )
        query = (
            _ratings_query()
            .where(Rating.system == system, scope, Rating.games >= min_games)
            .order_by(score.desc(), Rating.games.desc(), Rating.agent_id)
        )
        if limit is not None:
            query = query.limit(limit)
        rows = conn.execute(query).all()
    board = [_online_rating(r, i) for i, r in enumerate(rows, 1)]
    return OnlineBoard(system, game_type_id, board, stale, env_id)


@dataclass(frozen=True)
class RecentGame:
    """One of an agent's latest games, with its rating change (trajectory system, overall)."""

    game_id: int
    game_type: str
    status: str
    outcome: str | None
    winning_side: str | None
    seat: int
    side: str | None
    role: str | None
    rank: int | None
    reward: float | None
    finished_at: Any
    delta_mu: float | None


@dataclass
class AgentProfile:
    """Everything `agent info` shows (the agent's own id is `id`, as in `agents list`)."""

    id: int
    alias: str | None
    kind: str
    model: str
    model_provider: str | None
    prompt: str
    prompt_version: int
    prompt_sha256: str
    prompt_content: str
    agent_class: str | None
    config: dict[str, Any] | None
    active: bool
    trajectory_system: str
    ratings: list[OnlineRating] = field(default_factory=list)
    trajectory: list[float] = field(default_factory=list)  # overall score after each game
    recent_games: list[RecentGame] = field(default_factory=list)
    usage: list[AgentUsage] = field(default_factory=list)  # LLM usage per game type
    usage_total: AgentUsage | None = None  # ... and in every game type


def agent_profile(
    engine: Engine, agent: int | str, *, system: str = TRUESKILL, recent: int = 10
) -> AgentProfile:
    """Configuration, ratings per system and game type, score trajectory, recent games and LLM
    usage per game type (calls, tokens, cost: `arenadb.inspection.usage.agent_usage`).

    `agent` is an agent id or alias (`arenadb.catalog.refs`).
    """
    from arenadb.catalog.refs import resolve_agent_id

    (system,) = check_systems([system])
    with engine.connect() as conn:
        agent_id = resolve_agent_id(conn, agent)
        head = conn.execute(
            sa.select(
                Agent.id,
                Agent.alias,
                Agent.agent_class,
                Agent.config,
                Agent.active,
                AgentKind.name.label("kind"),
                LLMModel.name.label("model"),
                LLMModel.provider,
                Prompt.name.label("prompt"),
                Prompt.version,
                Prompt.sha256,
                Prompt.content,
            )
            .join(AgentKind, AgentKind.id == Agent.kind_id)
            .join(LLMModel, LLMModel.id == Agent.model_id)
            .join(Prompt, Prompt.id == Agent.prompt_id)
            .where(Agent.id == agent_id)
        ).one_or_none()
        if head is None:
            raise NotFoundError(f"agent {agent_id} not found")
        profile = AgentProfile(
            id=head.id,
            alias=head.alias,
            kind=head.kind,
            model=head.model,
            model_provider=head.provider,
            prompt=head.prompt,
            prompt_version=head.version,
            prompt_sha256=head.sha256,
            prompt_content=head.content,
            agent_class=head.agent_class,
            config=head.config,
            active=head.active,
            trajectory_system=system,
        )
        profile.ratings = [
            _online_rating(r, None)
            for r in conn.execute(
                _ratings_query()
                .where(Rating.agent_id == agent_id)
                .order_by(Rating.system, Rating.game_type_id.is_not(None), GameType.env_id)
            )
        ]
        profile.trajectory = [
            conservative_score(mu, sigma)
            for mu, sigma in conn.execute(
                sa.select(RatingEvent.mu_after, RatingEvent.sigma_after)
                .where(
                    RatingEvent.agent_id == agent_id,
                    RatingEvent.system == system,
                    RatingEvent.game_type_id.is_(None),
                )
                .order_by(RatingEvent.id)
            )
        ]
        profile.recent_games = _recent_games(conn, agent_id, system, recent)
        profile.usage, profile.usage_total = agent_usage(conn, agent_id)
    return profile


def _recent_games(conn: sa.Connection, agent_id: int, system: str, limit: int) -> list[RecentGame]:
    event = aliased(RatingEvent)
    rows = conn.execute(
        sa.select(
            Game.id,
            GameType.env_id,
            Game.status,
            Game.outcome,
            Game.winning_side,
            Game.finished_at,
            GamePlayer.seat,
            GamePlayer.side,
            GamePlayer.role,
            GamePlayer.rank,
            GamePlayer.reward,
            (event.mu_after - event.mu_before).label("delta_mu"),
        )
        .join(Game, Game.id == GamePlayer.game_id)
        .join(GameType, GameType.id == Game.game_type_id)
        .outerjoin(
            event,
            sa.and_(
                event.game_id == GamePlayer.game_id,
                event.agent_id == GamePlayer.agent_id,
                event.seat == GamePlayer.seat,
                event.system == system,
                event.game_type_id.is_(None),
            ),
        )
        .where(GamePlayer.agent_id == agent_id)
        .order_by(GamePlayer.game_id.desc(), GamePlayer.seat)
        .limit(limit)
    )
    return [
        RecentGame(
            game_id=r.id,
            game_type=r.env_id,
            status=r.status,
            outcome=r.outcome,
            winning_side=r.winning_side,
            seat=r.seat,
            side=r.side,
            role=r.role,
            rank=r.rank,
            reward=r.reward,
            finished_at=r.finished_at,
            delta_mu=r.delta_mu,
        )
        for r in rows
    ]
