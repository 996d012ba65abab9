"""partitions: the large tables of PostgreSQL by range of game id; retention drops partitions.

Revision ID: 0013
Revises: 0011

On PostgreSQL `game_turns`, `player_actions`, `llm_calls` and `game_snapshots` become tables
partitioned by RANGE (game_id), GAMES_PER_PARTITION game ids a partition (`<table>_p<k>` holds
game ids k * GAMES_PER_PARTITION up to the next multiple). Game ids grow with time, so recent
games sit in the last partitions (queries on them are pruned to those) and `clean --what
game-detail` drops whole old partitions instead of deleting rows (`arenadb.db.partitions`).

Each table is rebuilt: a partitioned twin (LIKE the table: columns, defaults, CHECKs, storage,
compression), its partitions, the rows copied, the old table dropped, the twin renamed, then the
primary key, unique constraints, indexes (the GIN search indexes included) and foreign keys
created again from the definitions PostgreSQL printed for the old table. A partitioned table's
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

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
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


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    last = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM games")).scalar_one()
    ranges = range(int(last) // GAMES_PER_PARTITION + 2)  # every game's range, and one ahead
    _rebuild(partitioned=True, ranges=ranges)
    op.execute(ADD_PARTITION)
    op.execute(PARTITION_GAMES)
    op.execute(CREATE_TRIGGER)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON games")
    op.execute("DROP FUNCTION IF EXISTS arenadb_partition_games()")
    op.execute("DROP FUNCTION IF EXISTS arenadb_add_partitions(bigint, boolean)")
    _rebuild(partitioned=False, ranges=range(0))


def _definitions(table: str) -> tuple[list[str], list[str]]:
    """The table's keys and unique constraints, and its indexes and foreign keys, as SQL."""
    bind = op.get_bind()
    constraints = bind.execute(
        sa.text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = cast(:t AS regclass) AND contype IN ('p', 'u', 'f') "
            "AND conparentid = 0 ORDER BY contype DESC, conname"
        ),
        {"t": table},
    ).all()
    indexes = bind.execute(
        sa.text(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = cast(:t AS regclass) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
            "AND k.conrelid = i.indrelid) ORDER BY c.relname"
        ),
        {"t": table},
    ).scalars()
    keys, later = [], []
    for name, kind, definition in constraints:
        sql = f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        (later if kind == "f" else keys).append(sql)
    later[:0] = [re.sub(r" ONLY ", " ", sql) for sql in indexes]
    return keys, later


def _primary_key(sql: str, partitioned: bool) -> str:
    """The primary key holds the partition column on a partitioned table."""
    if partitioned:
        return sql.replace("PRIMARY KEY (id)", "PRIMARY KEY (id, game_id)")
    return sql.replace("PRIMARY KEY (id, game_id)", "PRIMARY KEY (id)")


def _rebuild(*, partitioned: bool, ranges: range) -> None:
    bind = op.get_bind()
    outside = bind.execute(
        sa.text(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
            "AND conparentid = 0 AND confrelid::regclass::text = ANY(:tables) "
            "AND NOT conrelid::regclass::text = ANY(:tables)"
        ),
        {"tables": list(TABLES)},
    ).all()
    if outside:  # a foreign key this revision does not know of would be lost: stop instead
        raise RuntimeError(f"foreign keys into the partitioned tables: {outside}")
    saved = {table: _definitions(table) for table in TABLES}
    layout = " PARTITION BY RANGE (game_id)" if partitioned else ""
    for table in TABLES:
        op.execute(
            f"CREATE TABLE {table}__new (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE INCLUDING COMPRESSION){layout}"
        )
        for k in ranges:
            lo = k * GAMES_PER_PARTITION
            op.execute(
                f"CREATE TABLE {table}_p{k} PARTITION OF {table}__new "
                f"FOR VALUES FROM ({lo}) TO ({lo + GAMES_PER_PARTITION})"
            )
        op.execute(f"INSERT INTO {table}__new SELECT * FROM {table}")
        sequence = bind.execute(
            sa.text(
                "SELECT pg_get_serial_sequence(:t, 'id') FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t AND column_name = 'id'"
            ),
            {"t": table},
        ).scalar()
        if sequence is not None:
            op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}__new.id")
    for table in reversed(TABLES):  # the referencing tables first
        op.execute(f"DROP TABLE {table}")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table}__new RENAME TO {table}")
    for table in TABLES:
        for sql in saved[table][0]:
            op.execute(_primary_key(sql, partitioned))
    for table in TABLES:
        for sql in saved[table][1]:
            op.execute(sql)
    for table in TABLES:
        op.execute(f"ANALYZE {table}")
