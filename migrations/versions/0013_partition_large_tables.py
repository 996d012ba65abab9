"""partitions: the large tables of PostgreSQL by range of game id; retention drops partitions.

Revision ID: 0013
Revises: 0011

On PostgreSQL `game_turns`, `player_actions`, `llm_calls` and `game_snapshots` become tables
partitioned by RANGE (game_id), GAMES_PER_PARTITION game ids a partition (`<table>_p<k>` holds
game ids k * GAMES_PER_PARTITION up to the next multiple). Game ids grow with time, so recent
games sit in the last partitions (queries on them are pruned to those) and `clean --what
game-detail` drops whole old partitions instead of deleting rows (`arenadb.db.partitions`).

Each table is rebuilt: a partitioned twin (LIKE the table: columns, defaults, CHECKs, storage,
compression), its partitions (every game's range and the next), the rows copied, the old table
dropped, the twin renamed, then its keys, unique constraints, indexes (the GIN search indexes
included) and foreign keys created again, as 0011 left them (frozen below, in PostgreSQL's
own spelling; no catalogue read, so `migrate sql` writes the same statements). A partitioned table's
primary key must hold the partition column: `(id)` becomes `(id, game_id)` (ids stay unique:
they come from the same sequences, whose ownership moves to the twin). No default partition:
a statement-level trigger on `games` creates the partitions of a new game id's range when it is
missing (waiting for the locks), and every AHEAD_EVERY-th game (from the first of a range on)
those of the next range ahead of time. Attaching a partition takes locks that conflict with
writers of the four tables and of `games` (foreign keys): the ahead attempt waits at most 20 ms
for them and is skipped when they are busy, to be tried again AHEAD_EVERY games later; so a row
never finds no partition, a recording never waits long, and no cron is needed.

The rebuild holds each table's lock for the copy: on a large live database run it in a quiet
moment (docs/operations/upkeep.md). Downgrade rebuilds plain tables the same way, rows kept.
SQLite keeps its layout: nothing to do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: what this revision partitions, the referenced table first.
TABLES = ("game_turns", "player_actions", "llm_calls", "game_snapshots")
GAMES_PER_PARTITION = 10_000
TRIGGER = "games_partitions"
# The next range is made ahead by every AHEAD_EVERY-th game (ids that are multiples of it), each
# attempt waiting at most 20 ms for the tables' locks.
AHEAD_EVERY = 100

ADD_PARTITION = f"""
CREATE FUNCTION arenadb_add_partitions(k bigint, needed boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    lo bigint := k * {GAMES_PER_PARTITION};
    previous text := current_setting('lock_timeout');
BEGIN
    IF k < 0 OR to_regclass('game_snapshots_p' || k) IS NOT NULL THEN
        RETURN;
    END IF;
    IF needed THEN
        PERFORM pg_advisory_xact_lock(hashtext('arenadb_partitions'));
    ELSIF NOT pg_try_advisory_xact_lock(hashtext('arenadb_partitions')) THEN
        RETURN;
    END IF;
    BEGIN
        IF NOT needed THEN
            PERFORM set_config('lock_timeout', '20ms', true);
        END IF;
        FOREACH t IN ARRAY ARRAY['{"', '".join(TABLES)}'] LOOP
            IF to_regclass(t || '_p' || k) IS NULL THEN
                EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING CONSTRAINTS '
                               'INCLUDING STORAGE INCLUDING COMPRESSION)', t || '_p' || k, t);
                EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                               t, t || '_p' || k, lo, lo + {GAMES_PER_PARTITION});
            END IF;
        END LOOP;
        PERFORM set_config('lock_timeout', previous, true);
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
        IF needed THEN
            RAISE;
        END IF;
    END;
END
$$
"""

PARTITION_GAMES = f"""
CREATE FUNCTION arenadb_partition_games() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    FOR k IN SELECT DISTINCT id / {GAMES_PER_PARTITION} FROM new_games ORDER BY 1 LOOP
        PERFORM arenadb_add_partitions(k, true);
    END LOOP;
    FOR k IN SELECT DISTINCT id / {GAMES_PER_PARTITION} FROM new_games
             WHERE id % {AHEAD_EVERY} = 0 ORDER BY 1 LOOP
        PERFORM arenadb_add_partitions(k + 1, false);
    END LOOP;
    RETURN NULL;
END
$$
"""

CREATE_TRIGGER = (
    f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON games REFERENCING NEW TABLE AS new_games "
    "FOR EACH STATEMENT EXECUTE FUNCTION arenadb_partition_games()"
)


# Each table's keys and unique constraints, then its indexes and foreign keys, at 0011.
_SEARCH_TURNS = (
    "to_tsvector('simple'::regconfig, \"left\"(((COALESCE(observation, ''::text) || ' '::text) "
    "|| COALESCE(action, ''::text)), 100000))"
)
_SEARCH_CALLS = (
    "(to_tsvector('simple'::regconfig, \"left\"(COALESCE(reasoning, ''::text), 100000)) "
    "|| jsonb_to_tsvector('simple'::regconfig, COALESCE(response, 'null'::jsonb), "
    "'[\"string\"]'::jsonb))"
)
_TURNS_FK = "FOREIGN KEY (game_id, turn_seq) REFERENCES game_turns(game_id, seq) ON DELETE CASCADE"
_GAMES_FK = "FOREIGN KEY (game_id) REFERENCES games(id) ON DELETE CASCADE"
KEYS: dict[str, list[tuple[str, str]]] = {
    "game_turns": [("pk_game_turns", "PRIMARY KEY (game_id, seq)")],
    "player_actions": [
        ("pk_player_actions", "PRIMARY KEY (id)"),
        ("uq_player_actions_game_id_turn_seq_idx", "UNIQUE (game_id, turn_seq, idx)"),
    ],
    "llm_calls": [("pk_llm_calls", "PRIMARY KEY (id)")],
    "game_snapshots": [
        ("pk_game_snapshots", "PRIMARY KEY (id)"),
        ("uq_game_snapshots_game_id_turn_kind", "UNIQUE (game_id, turn, kind)"),
    ],
}
INDEXES: dict[str, list[tuple[str, str]]] = {
    "game_turns": [
        ("ix_game_turns_game_id_seat", "btree (game_id, seat)"),
        ("ix_game_turns_search", f"gin ({_SEARCH_TURNS})"),
    ],
    "player_actions": [],
    "llm_calls": [
        ("ix_llm_calls_game_id_turn_seq", "btree (game_id, turn_seq)"),
        ("ix_llm_calls_model_id", "btree (model_id)"),
        ("ix_llm_calls_request_model", "btree (request_model)"),
        ("ix_llm_calls_search", f"gin ({_SEARCH_CALLS})"),
    ],
    "game_snapshots": [],
}
FOREIGN_KEYS: dict[str, list[tuple[str, str]]] = {
    "game_turns": [
        ("fk_game_turns_game_id_games", _GAMES_FK),
        (
            "fk_game_turns_game_id_seat_game_players",
            "FOREIGN KEY (game_id, seat) REFERENCES game_players(game_id, seat) ON DELETE CASCADE",
        ),
    ],
    "player_actions": [("fk_player_actions_game_id_turn_seq_game_turns", _TURNS_FK)],
    "llm_calls": [
        ("fk_llm_calls_game_id_games", _GAMES_FK),
        ("fk_llm_calls_game_id_turn_seq_game_turns", _TURNS_FK),
        (
            "fk_llm_calls_model_id_llm_models",
            "FOREIGN KEY (model_id) REFERENCES llm_models(id) ON DELETE SET NULL",
        ),
    ],
    "game_snapshots": [("fk_game_snapshots_game_id_games", _GAMES_FK)],
}
WITH_IDS = ("player_actions", "llm_calls", "game_snapshots")  # id from <table>_id_seq

# The partitions of every game's range and of the next one, made where the rows are.
MAKE_PARTITIONS = f"""
DO $$
DECLARE
    k bigint;
BEGIN
    FOR k IN 0 .. (SELECT coalesce(max(id), 0) / {GAMES_PER_PARTITION} + 1 FROM games) LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                       '{{table}}_p' || k, '{{table}}__new', k * {GAMES_PER_PARTITION},
                       (k + 1) * {GAMES_PER_PARTITION});
    END LOOP;
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    _rebuild(partitioned=True)
    op.execute(ADD_PARTITION)
    op.execute(PARTITION_GAMES)
    op.execute(CREATE_TRIGGER)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON games")
    op.execute("DROP FUNCTION IF EXISTS arenadb_partition_games()")
    op.execute("DROP FUNCTION IF EXISTS arenadb_add_partitions(bigint, boolean)")
    _rebuild(partitioned=False)


def _rebuild(*, partitioned: bool) -> None:
    layout = " PARTITION BY RANGE (game_id)" if partitioned else ""
    for table in TABLES:
        op.execute(
            f"CREATE TABLE {table}__new (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE INCLUDING COMPRESSION){layout}"
        )
        if partitioned:
            op.execute(MAKE_PARTITIONS.replace("{table}", table))
        op.execute(f"INSERT INTO {table}__new SELECT * FROM {table}")
        if table in WITH_IDS:
            op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}__new.id")
    for table in reversed(TABLES):  # the referencing tables first
        op.execute(f"DROP TABLE {table}")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table}__new RENAME TO {table}")
    for table in TABLES:
        for name, definition in KEYS[table]:
            if partitioned:  # a partitioned table's primary key holds the partition column
                definition = definition.replace("PRIMARY KEY (id)", "PRIMARY KEY (id, game_id)")
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for table in TABLES:
        for name, definition in INDEXES[table]:
            op.execute(f"CREATE INDEX {name} ON {table} USING {definition}")
    for table in TABLES:
        for name, definition in FOREIGN_KEYS[table]:
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for table in TABLES:
        op.execute(f"ANALYZE {table}")
