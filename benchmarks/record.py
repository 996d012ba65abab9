"""Benchmark: recording games through arenadb's public API against the driver's own limit.

Workload (default): 200 games of 6 seats x 20 rounds = 120 turns per game, one LLM call per
turn (~2 KB of request messages, ~1 KB of response), a periodic snapshot every 10 turns, and a
finished game with per-seat results. Per game: 1 game + 6 seats + 120 turns + 120 LLM calls +
12 snapshots = 259 rows (about 3.6 KB per turn).

Methods, each into its own fresh database migrated to head (not timed):
- api:     arenadb.connect(...).start_game / record_turn(..., llm_calls=[...], state=...) /
           finish(...), default settings (a batch when 1000 turns are buffered or the last
           write is 1 s old, whichever comes first);
- raw:     the driver limit for the same final rows: sqlite3 `executemany` / psycopg `COPY` in
           ONE transaction, rows built from the same Python inputs (JSON serialised, timestamps
           converted, snapshot hashes computed: work any writer must do);
- per_row: a repository like the predecessors': one ORM object per row, added, committed and
           refreshed (the stored row is returned); measured on a subset of the games (it is
           slow, and rows/s is what is compared).

The inputs (Python dicts, strings, datetimes) are generated before timing and shared by all
methods. Ratios are rows/s against rows/s, measured in the same run.

    python benchmarks/record.py                 # SQLite, plus PostgreSQL if the URL is set
    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/record.py

PostgreSQL: a throwaway `arenadb_bench_*` database per measurement, created from
ARENADB_BENCH_POSTGRES_URL (only its server is used) and dropped afterwards. The last line is:
    sqlite_vs_raw=X postgresql_vs_raw=Y sqlite_vs_per_row=A postgresql_vs_per_row=B
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import arenadb
from arenadb.config import Settings, load_settings
from arenadb.db.json import canonical_json
from arenadb.urls import parse_url

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
UTC = timezone.utc
WORDS = (
    *("village", "mafia", "doctor", "detective", "night", "day", "vote", "accuse", "defend"),
    *("suspect", "claim", "reveal", "eliminate", "protect", "investigate", "discuss", "quiet"),
)


# ---------------------------------------------------------------------------------------------
# Workload


@dataclass
class Turn:
    round: int
    seat: int
    observation: str
    action: str
    request: dict[str, Any]
    response: dict[str, Any]
    input_tokens: int
    output_tokens: int
    started_at: datetime
    finished_at: datetime
    state: dict[str, Any]


@dataclass
class GameInput:
    seed: int
    sides: list[str]
    turns: list[Turn]
    rewards: list[float]
    winning_side: str


@dataclass
class Workload:
    games: list[GameInput]
    snapshot_every: int
    rows_per_game: int = 0


def _text(rng: random.Random, size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def make_workload(games: int, seats: int, rounds: int, snapshot_every: int) -> Workload:
    rng = random.Random(4812)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    system = _text(rng, 900)
    out = []
    for g in range(games):
        sides = ["mafia" if s < max(1, seats // 3) else "village" for s in range(seats)]
        turns = []
        for r in range(rounds):
            for seat in range(seats):
                t0 = start + timedelta(seconds=g * 1000 + r * 10 + seat)
                history = _text(rng, 1100)
                turns.append(
                    Turn(
                        round=r + 1,
                        seat=seat,
                        observation=_text(rng, 200),
                        action=f"[vote] {rng.randrange(seats)}",
                        request={
                            "model": "bench-model",
                            "temperature": 0.7,
                            "messages": [
                                {"role": "system", "content": system},
                                {"role": "user", "content": history},
                            ],
                        },
                        response={
                            "id": f"chatcmpl-{g}-{r}-{seat}",
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {
                                        "role": "assistant",
                                        "content": _text(rng, 900),
                                    },
                                }
                            ],
                            "usage": {"prompt_tokens": 512, "completion_tokens": 230},
                        },
                        input_tokens=512,
                        output_tokens=230,
                        started_at=t0,
                        finished_at=t0 + timedelta(milliseconds=rng.randrange(200, 3000)),
                        state={
                            "round": r + 1,
                            "alive": [s for s in range(seats) if (s + r) % 7],
                            "votes": {str(s): rng.randrange(seats) for s in range(seats)},
                            "log": _text(rng, 300),
                        },
                    )
                )
        winner = rng.choice(["mafia", "village"])
        rewards = [1.0 if side == winner else -1.0 for side in sides]
        out.append(GameInput(g, sides, turns, rewards, winner))
    per_game = 1 + seats + 2 * rounds * seats + (rounds * seats) // snapshot_every
    return Workload(out, snapshot_every, per_game)


# ---------------------------------------------------------------------------------------------
# Databases


@dataclass
class Target:
    backend: str
    settings: Settings
    cleanup: list[Any] = field(default_factory=list)


class Databases:
    """Fresh migrated databases: SQLite files in a temp dir, PostgreSQL from a template."""

    def __init__(self, pg_url: str | None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="arenadb_bench_"))
        self.sqlite_template: Path | None = None
        self.pg_server = parse_url(pg_url) if pg_url else None
        self.pg_template: str | None = None
        self.pg_created: list[str] = []

    def _settings(self, url: str) -> Settings:
        return load_settings(url, environ={}, cwd=self.tmp)

    def fresh(self, backend: str) -> Settings:
        from arenadb.db import create_database
        from arenadb.schema.migrations import upgrade

        if backend == "sqlite":
            if self.sqlite_template is None:
                self.sqlite_template = self.tmp / "template.db"
                settings = self._settings(f"sqlite:///{self.sqlite_template}")
                create_database(settings)
                upgrade(settings, "head")
            target = self.tmp / f"{uuid.uuid4().hex[:8]}.db"
            target.write_bytes(self.sqlite_template.read_bytes())
            return self._settings(f"sqlite:///{target}")
        assert self.pg_server is not None
        from arenadb.db.admin import maintenance_connection

        if self.pg_template is None:
            name = f"arenadb_bench_tpl_{uuid.uuid4().hex[:8]}"
            settings = self._settings(self.pg_server.with_database(name).render())
            self.pg_created.append(name)
            create_database(settings)
            upgrade(settings, "head")
            self.pg_template = name
        name = f"arenadb_bench_{uuid.uuid4().hex[:8]}"
        settings = self._settings(self.pg_server.with_database(name).render())
        with maintenance_connection(settings) as conn:
            quote = conn.dialect.identifier_preparer.quote_identifier
            conn.exec_driver_sql(
                f"CREATE DATABASE {quote(name)} TEMPLATE {quote(self.pg_template)}"
            )
        self.pg_created.append(name)
        return settings

    def drop(self, settings: Settings) -> None:
        """Drop a measured database now (its pages no longer weigh on the next measurement)."""
        from arenadb.db import drop_database

        drop_database(settings, missing_ok=True)
        if settings.url.database in self.pg_created:
            self.pg_created.remove(settings.url.database)

    def close(self) -> None:
        from arenadb.db import drop_database

        for name in reversed(self.pg_created):
            assert self.pg_server is not None
            drop_database(
                self._settings(self.pg_server.with_database(name).render()), missing_ok=True
            )
        for path in self.tmp.iterdir():
            path.unlink()
        self.tmp.rmdir()


def register(settings: Settings, seats: int) -> tuple[int, int, list[int]]:
    """Model, game type and one agent per seat; returns (model_id, game_type_id, agent_ids)."""
    with arenadb.connect(settings=settings) as arena:
        model = arena.register_model(
            "bench-model", provider="bench", input_price_per_mtok=0.5, output_price_per_mtok=1.5
        )
        game_type = arena.register_game_type("SecretMafia-v0", min_seats=seats, max_seats=seats)
        agents = [
            arena.register_agent(
                model=model, kind="plain", prompt=(f"bench-{s}", f"You are player {s}.")
            ).id
            for s in range(seats)
        ]
    return model.id, game_type.id, agents


# ---------------------------------------------------------------------------------------------
# Methods


API_OPTIONS: dict[str, Any] = {}


def _default_batch_policy() -> str:
    """The batch policy of `arenadb.connect()` as it is, not as a comment remembers it."""
    import inspect

    defaults = inspect.signature(arenadb.connect).parameters
    turns, seconds = defaults["batch_turns"].default, defaults["flush_seconds"].default
    return f"default ({turns} turns or {seconds:g} s)"


# CPU seconds the PostgreSQL server process behind each measured connection spent, filled in by
# the method that owned the connection (the server runs on this machine in the CI setup).
SERVER_CPU: list[float] = []


def _server_cpu(pid: int) -> float:
    """User + system CPU seconds of a local process from /proc (0.0 when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_api(settings: Settings, work: Workload, ids: tuple[int, int, list[int]]) -> int:
    model_id, type_id, agents = ids
    rows = 0
    with arenadb.connect(settings=settings, **API_OPTIONS) as arena:
        arena.model_id(model_id)
        for game in work.games:
            recorder = arena.start_game(
                type_id,
                [arenadb.Seat(agents[s], side=side) for s, side in enumerate(game.sides)],
                seed=game.seed,
                snapshot_every=work.snapshot_every,
                # The baselines write rows and compute no ratings; rating cost is measured by
                # benchmarks/ratings.py. Unrated games make this a like-for-like comparison.
                rated=False,
            )
            for t in game.turns:
                recorder.record_turn(
                    seat=t.seat,
                    turn_number=t.round,
                    observation=t.observation,
                    action=t.action,
                    valid=True,
                    state=t.state,
                    llm_calls=(
                        {
                            "model": model_id,
                            "request_model": "bench-model",
                            "request": t.request,
                            "response": t.response,
                            "input_tokens": t.input_tokens,
                            "output_tokens": t.output_tokens,
                            "started_at": t.started_at,
                            "finished_at": t.finished_at,
                            "finish_reason": "stop",
                        },
                    ),
                )
            recorder.finish(
                outcome="win",
                winning_side=game.winning_side,
                results={s: arenadb.SeatResult(reward=r) for s, r in enumerate(game.rewards)},
            )
            rows += recorder.stats.rows + 1 + len(game.sides)
        if arena.engine.dialect.name == "postgresql":
            held = arena.batch_connection._conn  # the connection every batch went through
            assert held is not None
            SERVER_CPU.append(_server_cpu(held.connection.driver_connection.info.backend_pid))
    return rows


def _sqlite_ts(value: datetime) -> str:
    # The same text SQLAlchemy's SQLite DateTime stores, by the fastest route (as the API does).
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _raw_rows(work: Workload, ids: tuple[int, int, list[int]], ts: Any, uid: Any) -> Any:
    """Yield (game_row, players, turns, calls, snapshots) per game, game_id left to fill."""
    model_id, type_id, agents = ids
    for game in work.games:
        now = datetime.now(UTC)
        game_row = (
            uid(uuid.uuid4()),
            type_id,
            "completed",
            game.seed,
            ts(now),
            ts(now),
            ts(datetime.now(UTC)),
            "win",
            game.winning_side,
            False,
            False,
        )
        players = [(s, agents[s], side, game.rewards[s]) for s, side in enumerate(game.sides)]
        turns, calls, snaps = [], [], []
        for seq, t in enumerate(game.turns):
            digest = None
            if (seq + 1) % work.snapshot_every == 0:
                text = canonical_json(t.state)
                data = text.encode()
                digest = hashlib.sha256(data).hexdigest()
                snaps.append((seq + 1, "periodic", text, digest, len(data), ts(datetime.now(UTC))))
            turns.append(
                (seq, t.round, t.seat, t.observation, t.action, True, digest, ts(datetime.now(UTC)))
            )
            latency = round((t.finished_at - t.started_at).total_seconds() * 1000)
            cost = t.input_tokens * 0.5 / 1e6 + t.output_tokens * 1.5 / 1e6
            calls.append(
                (
                    seq,
                    t.seat,
                    model_id,
                    "bench-model",
                    ts(t.started_at),
                    ts(t.finished_at),
                    latency,
                    t.input_tokens,
                    t.output_tokens,
                    cost,
                    "stop",
                    _dumps(t.request),
                    _dumps(t.response),
                )
            )
        yield game_row, players, turns, calls, snaps


GAME_COLS = (
    "uuid, game_type_id, status, seed, created_at, started_at, finished_at, outcome, "
    "winning_side, environment_crashed, rated"
)
PLAYER_COLS = "game_id, seat, agent_id, side, reward"
TURN_COLS = "game_id, seq, turn_number, seat, observation, action, valid, state_hash, created_at"
CALL_COLS = (
    "game_id, turn_seq, seat, model_id, request_model, started_at, finished_at, latency_ms, "
    "input_tokens, output_tokens, cost, finish_reason, request, response"
)
SNAP_COLS = "game_id, turn, kind, state, sha256, size_bytes, created_at"


def _marks(cols: str, mark: str = "?") -> str:
    return ", ".join([mark] * (cols.count(",") + 1))


def run_raw_sqlite(settings: Settings, work: Workload, ids: tuple[int, int, list[int]]) -> int:
    path = settings.url.sqlite_path
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    rows = 0
    try:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        for game_row, players, turns, calls, snaps in _raw_rows(
            work, ids, _sqlite_ts, lambda u: u.hex
        ):
            cur.execute(f"INSERT INTO games ({GAME_COLS}) VALUES ({_marks(GAME_COLS)})", game_row)
            gid = cur.lastrowid
            cur.executemany(
                f"INSERT INTO game_players ({PLAYER_COLS}) VALUES ({_marks(PLAYER_COLS)})",
                [(gid, *p) for p in players],
            )
            cur.executemany(
                f"INSERT INTO game_turns ({TURN_COLS}) VALUES ({_marks(TURN_COLS)})",
                [(gid, *t) for t in turns],
            )
            cur.executemany(
                f"INSERT INTO llm_calls ({CALL_COLS}) VALUES ({_marks(CALL_COLS)})",
                [(gid, *c) for c in calls],
            )
            cur.executemany(
                f"INSERT INTO game_snapshots ({SNAP_COLS}) VALUES ({_marks(SNAP_COLS)})",
                [(gid, *s) for s in snaps],
            )
            rows += 1 + len(players) + len(turns) + len(calls) + len(snaps)
        cur.execute("COMMIT")
    finally:
        conn.close()
    return rows


def run_raw_postgresql(settings: Settings, work: Workload, ids: tuple[int, int, list[int]]) -> int:
    import psycopg

    conn = psycopg.connect(settings.database_url.replace("postgresql+psycopg", "postgresql"))
    rows = 0
    try:
        with conn.cursor() as cur:
            insert_game = (
                f"INSERT INTO games ({GAME_COLS}) VALUES ({_marks(GAME_COLS, '%s')}) RETURNING id"
            )
            for game_row, players, turns, calls, snaps in _raw_rows(
                work, ids, lambda d: d, lambda u: u
            ):
                cur.execute(insert_game, game_row)
                gid = cur.fetchone()[0]
                for sql, data in (
                    (f"COPY game_players ({PLAYER_COLS}) FROM STDIN", players),
                    (f"COPY game_turns ({TURN_COLS}) FROM STDIN", turns),
                    (f"COPY llm_calls ({CALL_COLS}) FROM STDIN", calls),
                    (f"COPY game_snapshots ({SNAP_COLS}) FROM STDIN", snaps),
                ):
                    with cur.copy(sql) as copy:
                        for row in data:
                            copy.write_row((gid, *row))
                rows += 1 + len(players) + len(turns) + len(calls) + len(snaps)
        conn.commit()
        SERVER_CPU.append(_server_cpu(conn.info.backend_pid))
    finally:
        conn.close()
    return rows


class PerRowRepository:
    """The predecessors' repository shape: each method builds one ORM object, adds it, commits,
    and refreshes it so that it can return the stored row (ids and defaults included)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def save(self, obj: Any) -> Any:
        self.session.add(obj)
        self.session.commit()
        self.session.refresh(obj)
        return obj


def run_per_row(settings: Settings, work: Workload, ids: tuple[int, int, list[int]]) -> int:
    """Every row through `PerRowRepository.save`: one transaction per row."""
    from arenadb.db import create_engine
    from arenadb.db.engine import session_factory
    from arenadb.models import Game, GamePlayer, GameSnapshot, GameTurn, LLMCall

    model_id, type_id, agents = ids
    engine = create_engine(settings)
    rows = 0
    try:
        session = session_factory(engine)()
        repo = PerRowRepository(session)
        for game in work.games:
            g = repo.save(
                Game(
                    game_type_id=type_id,
                    status="running",
                    seed=game.seed,
                    started_at=datetime.now(UTC),
                )
            )
            players = [
                repo.save(GamePlayer(game_id=g.id, seat=s, agent_id=agents[s], side=side))
                for s, side in enumerate(game.sides)
            ]
            for seq, t in enumerate(game.turns):
                digest = None
                if (seq + 1) % work.snapshot_every == 0:
                    text = canonical_json(t.state)
                    digest = hashlib.sha256(text.encode()).hexdigest()
                    repo.save(
                        GameSnapshot(
                            game_id=g.id,
                            turn=seq + 1,
                            state=t.state,
                            sha256=digest,
                            size_bytes=len(text.encode()),
                        )
                    )
                    rows += 1
                turn = repo.save(
                    GameTurn(
                        game_id=g.id,
                        seq=seq,
                        turn_number=t.round,
                        seat=t.seat,
                        observation=t.observation,
                        action=t.action,
                        valid=True,
                        state_hash=digest,
                    )
                )
                repo.save(
                    LLMCall(
                        game_id=g.id,
                        turn_seq=turn.seq,
                        seat=t.seat,
                        model_id=model_id,
                        request_model="bench-model",
                        started_at=t.started_at,
                        finished_at=t.finished_at,
                        latency_ms=round((t.finished_at - t.started_at).total_seconds() * 1000),
                        input_tokens=t.input_tokens,
                        output_tokens=t.output_tokens,
                        cost=t.input_tokens * 0.5 / 1e6 + t.output_tokens * 1.5 / 1e6,
                        finish_reason="stop",
                        request=t.request,
                        response=t.response,
                    )
                )
            g.status, g.outcome, g.winning_side = "completed", "win", game.winning_side
            g.finished_at = datetime.now(UTC)
            repo.save(g)
            for player in players:
                player.reward = game.rewards[player.seat]
                repo.save(player)
            rows += 1 + len(game.sides) + 2 * len(game.turns)
        if engine.dialect.name == "postgresql":
            pid = session.connection().connection.driver_connection.info.backend_pid
            SERVER_CPU.append(_server_cpu(pid))
        session.close()
    finally:
        engine.dispose()
    return rows


# ---------------------------------------------------------------------------------------------
# Driver


def measure(fn: Any, settings: Settings, work: Workload, ids: Any) -> tuple[int, float, float]:
    """(rows, wall seconds, CPU seconds of this process plus its PostgreSQL server process)."""
    gc.collect()
    SERVER_CPU.clear()
    start, cpu = time.perf_counter(), time.process_time()
    rows = fn(settings, work, ids)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return rows, wall, cpu + sum(SERVER_CPU)


def verify(settings: Settings, expected_games: int, rows_per_game: int) -> None:
    """Every method wrote the same shape of data: same counts per table."""
    import sqlalchemy as sa

    from arenadb.db import create_engine

    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            counts = {
                t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one()
                for t in ("games", "game_players", "game_turns", "llm_calls", "game_snapshots")
            }
            done = conn.execute(
                sa.text("select count(*) from games where status = 'completed'")
            ).scalar_one()
    finally:
        engine.dispose()
    total = sum(counts.values())
    if total != expected_games * rows_per_game or done != expected_games:
        raise SystemExit(f"row counts differ from the workload: {counts}, completed={done}")


def bench_backend(
    dbs: Databases, backend: str, work: Workload, per_row_work: Workload, repeat: int
) -> dict[str, tuple[float, float]]:
    """Best (rows/s by wall clock, rows/s by CPU) of each method; raw and api interleaved."""
    seats = len(work.games[0].sides)
    raw_fn = run_raw_sqlite if backend == "sqlite" else run_raw_postgresql
    results: dict[str, list[tuple[float, float]]] = {"raw": [], "api": [], "per_row": []}
    plan = [("raw", raw_fn, work), ("api", run_api, work)] * repeat
    plan.append(("per_row", run_per_row, per_row_work))
    for name, fn, w in plan:
        settings = dbs.fresh(backend)
        ids = register(settings, seats)
        # Start each measurement with no dirty pages left by the previous one: on ext4 an
        # fsync can wait for other files' data, which would bill one method for another's.
        os.sync()
        rows, wall, cpu = measure(fn, settings, w, ids)
        verify(settings, len(w.games), w.rows_per_game)
        dbs.drop(settings)
        results[name].append((rows / wall, rows / cpu))
        print(
            f"  {backend:<10} {name:<8} {len(w.games):>4} games {rows:>7} rows "
            f"{wall:7.2f} s {rows / wall:>10,.0f} rows/s   cpu {cpu:6.2f} s "
            f"{rows / cpu:>10,.0f} rows/cpu-s",
            file=sys.stderr,
        )
    return {k: (max(w for w, _ in v), max(c for _, c in v)) for k, v in results.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--seats", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=20, help="turns per seat")
    parser.add_argument("--snapshot-every", type=int, default=10)
    parser.add_argument("--per-row-games", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5, help="best of N for raw and api")
    parser.add_argument(
        "--batch-turns", type=int, default=None, help="override the API's batch policy"
    )
    parser.add_argument(
        "--no-durable-batches",
        action="store_true",
        help="PostgreSQL batches do not wait for the disk (connect(durable_batches=False))",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)

    if args.batch_turns:
        API_OPTIONS.update(batch_turns=args.batch_turns, flush_seconds=3600.0)
    if args.no_durable_batches:
        API_OPTIONS.update(durable_batches=False)
    work = make_workload(args.games, args.seats, args.rounds, args.snapshot_every)
    per_row_work = Workload(
        work.games[: args.per_row_games], work.snapshot_every, work.rows_per_game
    )
    pg_url = os.environ.get(PG_ENV) or None
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and pg_url is None:
        print(f"PostgreSQL skipped: set {PG_ENV} to a server URL to measure it", file=sys.stderr)
        backends.remove("postgresql")
    print(
        f"workload: {args.games} games x {args.seats} seats x {args.rounds} rounds, "
        f"{work.rows_per_game} rows per game, one LLM call per turn "
        f"(~{len(_dumps(work.games[0].turns[0].request))} B request, "
        f"~{len(_dumps(work.games[0].turns[0].response))} B response), "
        f"snapshot every {args.snapshot_every} turns; API batches: "
        + (f"{args.batch_turns} turns" if args.batch_turns else _default_batch_policy())
        + (", not durable" if args.no_durable_batches else ""),
        file=sys.stderr,
    )
    dbs = Databases(pg_url)
    table: dict[str, dict[str, float]] = {}
    try:
        for backend in backends:
            table[backend] = bench_backend(dbs, backend, work, per_row_work, args.repeat)
    finally:
        dbs.close()

    print(
        f"\n{'backend':<12}{'method':<10}{'rows/s':>12}{'vs raw':>9}{'rows/cpu-s':>14}{'vs raw':>9}"
    )
    for backend, res in table.items():
        for name in ("raw", "api", "per_row"):
            wall, cpu = res[name]
            print(
                f"{backend:<12}{name:<10}{wall:>12,.0f}{wall / res['raw'][0]:>9.2f}"
                f"{cpu:>14,.0f}{cpu / res['raw'][1]:>9.2f}"
            )

    def ratio(backend: str, base: str, column: int) -> str:
        if backend not in table:
            return "skipped"
        return f"{table[backend]['api'][column] / table[backend][base][column]:.2f}"

    def line(column: int) -> str:
        return (
            f"sqlite_vs_raw={ratio('sqlite', 'raw', column)} "
            f"postgresql_vs_raw={ratio('postgresql', 'raw', column)} "
            f"sqlite_vs_per_row={ratio('sqlite', 'per_row', column)} "
            f"postgresql_vs_per_row={ratio('postgresql', 'per_row', column)}"
        )

    # CPU-based ratios (this process + its PostgreSQL server process) are what a dedicated
    # machine would show; wall-clock ratios (the last line) are what this run measured.
    print(f"by CPU time:  {line(1)}")
    print(line(0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
