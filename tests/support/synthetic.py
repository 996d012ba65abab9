"""A deterministic synthetic arena, written through `arenadb.db.bulk`: for benchmarks and tests.

`build_arena(engine, games=20_000)` fills an empty, migrated database with a catalog (game types,
models, kinds, prompts, agents), games of three shapes (6-seat Secret Mafia, 2-seat Colonel
Blotto, 4-seat 4X with player actions and snapshots), their seats, turns, LLM calls, overall
TrueSkill ratings and rating events. The same seed gives the same arena on both backends.

It writes rows directly (not through the recording API) because it has to be fast: 20,000 games
(about a million rows) build in well under a minute on SQLite. Game ids are assigned here, so that
child rows of a whole batch of games go in without reading generated ids back; on PostgreSQL the
id sequence is moved past them afterwards. Rows go through THE bulk writer (`arenadb.db.bulk`,
executemany / binary COPY) and JSON through the one JSON policy (`arenadb.db.json`), as import and
seeding do; snapshot hashes are `state_hash` of the state, as the recorder's.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.db.bulk import insert_dicts, is_json
from arenadb.db.engine import write_transaction
from arenadb.db.json import canonical_json, json_text, state_hash
from arenadb.db.rollups import add_call_dicts
from arenadb.db.statistics import refresh_statistics
from arenadb.models import (
    Agent,
    AgentKind,
    Game,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    GameType,
    LLMCall,
    LLMModel,
    PlayerAction,
    Prompt,
    Rating,
    RatingEvent,
)
from tests.support.synthetic_parallel import build_in_parallel
from tests.support.synthetic_payloads import MAFIA_LINES
from tests.support.synthetic_payloads import filler as _filler
from tests.support.synthetic_payloads import payloads as _payloads

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
SYSTEM = "trueskill"

GAME_TYPES: list[tuple[str, int, list[str], list[str | None], int, float]] = [
    # env_id, seats, sides per seat, roles per seat, rounds, share of games
    (
        "SecretMafia-v0",
        6,
        ["mafia", "mafia", "village", "village", "village", "village"],
        ["Mafia", "Mafia", "Doctor", "Detective", "Villager", "Villager"],
        3,
        0.6,
    ),
    ("ColonelBlotto-v0", 2, ["red", "blue"], [None, None], 3, 0.3),
    ("FourX-v0", 4, ["p0", "p1", "p2", "p3"], [None] * 4, 15, 0.1),
]
MODELS = [
    # name, provider, input $/Mtok, output $/Mtok, reasons
    ("gpt-4o-mini", "openai", 0.15, 0.6, False),
    ("claude-3-5-haiku", "anthropic", 0.8, 4.0, False),
    ("o3-mini", "openai", 1.1, 4.4, True),
    ("llama-3.1-8b", "cerebras", 0.1, 0.1, False),
    ("deepseek-r1", "deepseek", 0.55, 2.19, True),
]
KINDS = ["plain", "chain-of-thought"]
PROMPTS = ["concise", "deceptive"]


@dataclass
class SyntheticArena:
    """How many rows of each kind `build_arena` wrote, and the ids it used."""

    games: int = 0
    players: int = 0
    turns: int = 0
    actions: int = 0
    llm_calls: int = 0
    snapshots: int = 0
    rating_events: int = 0
    agent_ids: list[int] = field(default_factory=list)
    model_ids: list[int] = field(default_factory=list)
    first_game_id: int = 0
    last_game_id: int = 0


@dataclass
class _Catalog:
    game_types: list[tuple[int, tuple[Any, ...]]]
    agents: list[tuple[int, int, str]]  # (agent id, model id, litellm name)
    prices: dict[int, tuple[float, float, bool]]
    payload_bytes: int = 0


def build_arena(
    engine: Engine,
    *,
    games: int,
    seed: int = 0,
    batch_games: int = 1_000,
    agents: int = 20,
    payload_bytes: int = 0,
    workers: int = 1,
) -> SyntheticArena:
    """Insert a catalog and `games` synthetic games into an empty, migrated database.

    `agents`: how many (every model x kind, over as many prompts as it takes; 20: two prompts).
    `payload_bytes`: the size of each LLM call's request messages (its response a quarter, the
    turn's observation a half); 0: no payloads, short observations.
    `workers` > 1 (POSIX fork; meant for PostgreSQL, where their COPYs overlap): that many
    processes write consecutive id ranges at
    once, each from its own random stream, so the arena depends on `workers` as on `seed`."""
    summary = SyntheticArena()
    with write_transaction(engine) as conn:
        catalog = _insert_catalog(conn, agents)
        catalog.payload_bytes = payload_bytes
        first_id = (conn.execute(sa.select(sa.func.max(Game.id))).scalar() or 0) + 1
    summary.agent_ids = [a[0] for a in catalog.agents]
    summary.model_ids = sorted(catalog.prices)
    summary.first_game_id = first_id
    part = _Part(seed, first_id, first_id + games, first_id + games - 1, batch_games)
    if workers > 1:
        mu, record = build_in_parallel(_build_part, engine, catalog, part, workers, summary)
    else:
        mu, record = _build_part(engine, catalog, part, summary)
    summary.last_game_id = first_id + games - 1
    with write_transaction(engine) as conn:
        _write_ratings(conn, mu, record)
        if conn.dialect.name == "postgresql":
            for table in ("games",):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
    refresh_statistics(engine)  # as arenadb's own bulk loads do (import, copy, seed)
    return summary


@dataclass(frozen=True)
class _Part:
    """Games `start` to `stop` (excluded) of an arena whose newest game is `last_id`."""

    seed: int
    start: int
    stop: int
    last_id: int
    batch_games: int


def _build_part(
    engine: Engine, catalog: _Catalog, part: _Part, summary: SyntheticArena
) -> tuple[dict[int, float], dict[int, list[int]]]:
    """Write the part's games batch by batch; the agents' final mu and game counts."""
    rng = random.Random(part.seed)
    mu = {agent[0]: 25.0 for agent in catalog.agents}
    record = {agent[0]: [0, 0, 0, 0] for agent in catalog.agents}  # games w d l
    next_id = part.start
    while next_id < part.stop:
        count = min(part.batch_games, part.stop - next_id)
        rows = _Batch()
        for game_id in range(next_id, next_id + count):
            _one_game(rng, game_id, part.last_id, catalog, mu, record, rows)
        with write_transaction(engine) as conn:
            rows.insert(conn)
        rows.add_to(summary)
        next_id += count
    return mu, record


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


class _Batch:
    """Rows of a batch of games, per table, inserted parents first."""

    def __init__(self) -> None:
        self.games: list[dict[str, Any]] = []
        self.players: list[dict[str, Any]] = []
        self.turns: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.llm_calls: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.rating_events: list[dict[str, Any]] = []

    def insert(self, conn: Connection) -> None:
        tables: tuple[tuple[sa.Table, list[dict[str, Any]]], ...] = (
            (_table(Game), self.games),
            (_table(GamePlayer), self.players),
            (_table(GameTurn), self.turns),
            (_table(PlayerAction), self.actions),
            (_table(LLMCall), self.llm_calls),
            (_table(GameSnapshot), self.snapshots),
            (_table(RatingEvent), self.rating_events),
        )
        for table, rows in tables:
            if rows:
                insert_dicts(conn, table, _json_as_text(table, rows))
        add_call_dicts(conn, self.llm_calls)  # the usage rollup, as every writer of calls

    def add_to(self, summary: SyntheticArena) -> None:
        summary.games += len(self.games)
        summary.players += len(self.players)
        summary.turns += len(self.turns)
        summary.actions += len(self.actions)
        summary.llm_calls += len(self.llm_calls)
        summary.snapshots += len(self.snapshots)
        summary.rating_events += len(self.rating_events)


def _json_as_text(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with their JSON values as text, by the one JSON policy (what db/bulk takes)."""
    names = [c.name for c in table.c if is_json(c) and c.name in rows[0]]
    if not names:
        return rows
    return [{**row, **{n: json_text(row[n], f"{table.name}.{n}") for n in names}} for row in rows]


def _insert_catalog(conn: Connection, agent_count: int = 20) -> _Catalog:
    def insert_returning(table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
        return [
            conn.execute(sa.insert(table).returning(table.c.id), row).scalar_one() for row in rows
        ]

    type_ids = insert_returning(
        _table(GameType),
        [
            {
                "env_id": env_id,
                "name": env_id.split("-")[0],
                "min_seats": seats,
                "max_seats": seats,
                "sides": sorted(set(sides)),
                # Only when there are roles: a None would be stored as JSON null, not SQL NULL.
                **({"roles": sorted({r for r in roles if r})} if any(roles) else {}),
            }
            for env_id, seats, sides, roles, _rounds, _share in GAME_TYPES
        ],
    )
    model_ids = insert_returning(
        _table(LLMModel),
        [
            {
                "name": name,
                "provider": provider,
                "litellm_name": f"{provider}/{name}",
                "input_price_per_mtok": price_in,
                "output_price_per_mtok": price_out,
            }
            for name, provider, price_in, price_out, _reasons in MODELS
        ],
    )
    kind_ids = insert_returning(_table(AgentKind), [{"name": k} for k in KINDS])
    per_prompt = len(MODELS) * len(KINDS)
    prompts = [
        *PROMPTS,
        *(f"style-{i}" for i in range(len(PROMPTS), -(-agent_count // per_prompt))),
    ]
    prompt_ids = insert_returning(
        _table(Prompt),
        [{"name": p, "content": f"You are a {p} player.", "sha256": _sha(p)} for p in prompts],
    )
    agents: list[tuple[int, int, str]] = []
    for (model_id, model), kind_id, (prompt_id, prompt) in (
        (m, k, p)
        for m in zip(model_ids, MODELS, strict=True)
        for k in kind_ids
        for p in zip(prompt_ids, prompts, strict=True)
    ):
        if len(agents) == agent_count:
            break
        alias = f"{model[0]}/{KINDS[kind_ids.index(kind_id)]}/{prompt}"
        (agent_id,) = insert_returning(
            _table(Agent),
            [{"kind_id": kind_id, "model_id": model_id, "prompt_id": prompt_id, "alias": alias}],
        )
        agents.append((agent_id, model_id, f"{model[1]}/{model[0]}"))
    return _Catalog(
        game_types=list(zip(type_ids, GAME_TYPES, strict=True)),
        agents=agents,
        prices={mid: (m[2], m[3], m[4]) for mid, m in zip(model_ids, MODELS, strict=True)},
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pick_type(rng: random.Random, catalog: _Catalog) -> tuple[int, tuple[Any, ...]]:
    draw = rng.random()
    for type_id, spec in catalog.game_types:
        draw -= spec[5]
        if draw <= 0:
            return type_id, spec
    return catalog.game_types[-1]


def _status(rng: random.Random, game_id: int, last_id: int) -> str:
    if game_id > last_id - 3:  # the newest games are still being played
        return "queued" if game_id == last_id else "running"
    draw = rng.random()
    return "failed" if draw < 0.05 else "aborted" if draw < 0.08 else "completed"


def _one_game(
    rng: random.Random,
    game_id: int,
    last_id: int,
    catalog: _Catalog,
    mu: dict[int, float],
    record: dict[int, list[int]],
    rows: _Batch,
) -> None:
    type_id, (env_id, seats, sides, roles, rounds, _share) = _pick_type(rng, catalog)
    status = _status(rng, game_id, last_id)
    started = START + timedelta(minutes=3 * game_id, seconds=rng.randint(0, 120))
    seated = rng.sample(catalog.agents, seats)
    order = list(range(seats))
    rng.shuffle(order)  # which seat gets which side/role
    game: dict[str, Any] = {
        "id": game_id,
        "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
        "game_type_id": type_id,
        "status": status,
        "seed": rng.getrandbits(31),
        "started_at": None if status == "queued" else started,
        "finished_at": None,
        "outcome": None,
        "winning_side": None,
        "end_reason": None,
        "environment_crashed": False,
        "error": None,
        "rated": True,
        "info": {"env_id": env_id},
    }
    rows.games.append(game)
    invalid = [0] * seats
    if status != "queued":
        played_rounds = rounds if status == "completed" else rng.randint(1, rounds)
        _turns(rng, game_id, env_id, seats, played_rounds, seated, catalog, invalid, started, rows)
    winners: set[str] = set()
    if status in ("completed", "failed", "aborted"):
        game["finished_at"] = started + timedelta(minutes=rng.randint(2, 30))
    if status == "completed":
        draw = rng.random()
        if draw < 0.85:
            game["outcome"] = "win"
            game["winning_side"] = rng.choice(sorted(set(sides)))
            game["end_reason"] = f"{game['winning_side']} won"
            winners = {game["winning_side"]}
        elif draw < 0.95:
            game["outcome"] = "draw"
            game["end_reason"] = "turn limit reached"
        else:
            game["outcome"] = "no_contest"
            game["end_reason"] = "a player left"
    elif status == "failed":
        game["environment_crashed"] = rng.random() < 0.8
        game["error"] = "EnvironmentError: state machine reached an impossible phase"
        game["end_reason"] = "crashed"
    elif status == "aborted":
        game["end_reason"] = "aborted by operator"
    for seat in range(seats):
        agent_id = seated[seat][0]
        side = sides[order[seat]]
        reward = None
        if game["outcome"] == "win":
            reward = 1.0 if side in winners else -1.0
        elif game["outcome"] == "draw":
            reward = 0.0
        rows.players.append(
            {
                "game_id": game_id,
                "seat": seat,
                "agent_id": agent_id,
                "side": side,
                "role": roles[order[seat]],
                "reward": reward,
                "rank": None if reward is None else (1 if reward > 0 else 2),
                "eliminated_turn": None,
                "invalid_moves": invalid[seat],
            }
        )
        if game["outcome"] in ("win", "draw"):
            before = mu[agent_id]
            after = before + (0.4 if reward and reward > 0 else -0.4 if reward else 0.0)
            after += rng.uniform(-0.1, 0.1)
            mu[agent_id] = after
            counts = record[agent_id]
            counts[0] += 1
            counts[1 if reward and reward > 0 else 2 if reward == 0 else 3] += 1
            rows.rating_events.append(
                {
                    "game_id": game_id,
                    "agent_id": agent_id,
                    "seat": seat,
                    "system": SYSTEM,
                    "game_type_id": None,
                    "mu_before": before,
                    "sigma_before": 8.0,
                    "mu_after": after,
                    "sigma_after": 7.9,
                }
            )


def _turns(
    rng: random.Random,
    game_id: int,
    env_id: str,
    seats: int,
    rounds: int,
    seated: list[tuple[int, int, str]],
    catalog: _Catalog,
    invalid: list[int],
    started: datetime,
    rows: _Batch,
) -> None:
    seq = 0
    clock = started
    phases = ["night", "day", "vote"] if env_id.startswith("SecretMafia") else ["play"]
    for turn_number in range(1, rounds + 1):
        for phase in phases:
            for seat in range(seats):
                if phase == "night" and seat > 1:
                    continue  # only the mafia acts at night
                valid = rng.random() > 0.03
                target = rng.randint(0, seats - 1)
                if env_id.startswith("SecretMafia"):
                    action = rng.choice(MAFIA_LINES).format(t=target)
                elif env_id.startswith("ColonelBlotto"):
                    a = rng.randint(0, 20)
                    b = rng.randint(0, 20 - a)
                    action = f"[A{a} B{b} C{20 - a - b}]"
                else:
                    action = rng.choice(["move", "build", "research"]) + f" #{target}"
                latency = int(rng.lognormvariate(7.0, 0.5))
                if not valid:
                    invalid[seat] += 1
                rows.turns.append(
                    {
                        "game_id": game_id,
                        "seq": seq,
                        "turn_number": turn_number,
                        "phase": phase,
                        "seat": seat,
                        "observation": f"[GAME] Turn {turn_number}, {phase}. Your move, "
                        f"Player {seat}." + _filler(catalog.payload_bytes // 2, seq + game_id),
                        "action": action,
                        "valid": valid,
                        "state_hash": None,
                        "latency_ms": latency,
                    }
                )
                if env_id.startswith("FourX"):
                    for idx in range(rng.randint(1, 2)):
                        rows.actions.append(
                            {
                                "game_id": game_id,
                                "turn_seq": seq,
                                "idx": idx,
                                "seat": seat,
                                "action_type": action.split()[0],
                                "payload": {"target": target},
                                "result": {"ok": valid},
                                "valid": valid,
                            }
                        )
                _llm_calls(rng, game_id, seq, seat, seated[seat], catalog, clock, latency, rows)
                clock += timedelta(milliseconds=latency + 50)
                seq += 1
        if env_id.startswith("SecretMafia"):
            rows.turns.append(
                {
                    "game_id": game_id,
                    "seq": seq,
                    "turn_number": turn_number,
                    "phase": "vote",
                    "seat": None,
                    "observation": None,
                    "action": f"Player {rng.randint(0, seats - 1)} was eliminated.",
                    "valid": None,
                    "state_hash": None,
                    "latency_ms": None,
                }
            )
            seq += 1
        if env_id.startswith("FourX") and turn_number % 10 == 0:
            _snapshot(game_id, turn_number, "periodic", rows)
    if env_id.startswith("FourX"):
        _snapshot(game_id, rounds, "final", rows)


def _llm_calls(
    rng: random.Random,
    game_id: int,
    seq: int,
    seat: int,
    agent: tuple[int, int, str],
    catalog: _Catalog,
    clock: datetime,
    latency: int,
    rows: _Batch,
) -> None:
    _agent_id, model_id, litellm_name = agent
    price_in, price_out, reasons = catalog.prices[model_id]
    attempts = 2 if rng.random() < 0.03 else 1
    for attempt in range(1, attempts + 1):
        failed = attempt < attempts
        input_tokens = None if failed else rng.randint(400, 3000)
        output_tokens = None if failed else rng.randint(10, 300)
        reasoning_tokens = rng.randint(50, 2000) if reasons and not failed else None
        cost = None
        if input_tokens is not None and output_tokens is not None:
            billed_out = output_tokens + (reasoning_tokens or 0)
            cost = (input_tokens * price_in + billed_out * price_out) / 1_000_000
        call_latency = rng.randint(100, 30_000) if failed else latency
        rows.llm_calls.append(
            {
                "game_id": game_id,
                "turn_seq": seq,
                "seat": seat,
                "model_id": model_id,
                "attempt": attempt,
                "provider": litellm_name.split("/")[0],
                "request_model": litellm_name,
                "response_model": None if failed else litellm_name,
                "started_at": clock,
                "first_token_at": None,
                "finished_at": clock + timedelta(milliseconds=call_latency),
                "latency_ms": call_latency,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "reasoning_tokens": reasoning_tokens,
                "cost": cost,
                "finish_reason": None if failed else "stop",
                "status": "timeout" if failed else "ok",
                "error": "timed out after 30 s" if failed else None,
                **_payloads(catalog.payload_bytes, game_id + seq, failed),
            }
        )


def _snapshot(game_id: int, turn: int, kind: str, rows: _Batch) -> None:
    # A non-ASCII name: the stored hash is the recorder's (`state_hash`), of UTF-8 canonical JSON.
    state = {"turn": turn, "cities": [turn, turn * 2], "game": game_id, "capital": "Zürich"}
    text = canonical_json(state)
    rows.snapshots.append(
        {
            "game_id": game_id,
            "turn": turn,
            "kind": kind,
            "state": state,
            "sha256": state_hash(state),
            "size_bytes": len(text.encode("utf-8")),
        }
    )


def _write_ratings(conn: Connection, mu: dict[int, float], record: dict[int, list[int]]) -> None:
    rows = [
        {
            "agent_id": agent_id,
            "system": SYSTEM,
            "game_type_id": None,
            "mu": value,
            "sigma": max(1.0, 8.333 - 0.01 * record[agent_id][0]),
            "games": record[agent_id][0],
            "wins": record[agent_id][1],
            "draws": record[agent_id][2],
            "losses": record[agent_id][3],
        }
        for agent_id, value in mu.items()
    ]
    insert_dicts(conn, _table(Rating), rows)
