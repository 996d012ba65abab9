"""rated_pools: per game type, the games that count for ratings, kept by triggers on `games`.

Revision ID: 0015
Revises: 0014

A stored Bradley-Terry board is read back only while its watermark equals the watermark of the
games it was computed from (`arenadb.ratings.board_store`). That watermark was a grouped query
over every game that counts for ratings, which grew with the games (36.9 ms at 20,000 games on
SQLite). Now `rated_pools` holds, per game type, how many such games there are, the sum of their
ids, and a version raised by every statement that changes the set (a game finishing rated, one
un-rated, deleted, or moved to another type), so the watermark is one row read.

The counted games are those of `arenadb.ratings.replay.counts_for_ratings`: completed, rated,
not crashed, won or drawn (COUNTED below). Ids never change.

- SQLite: row triggers (INSERT, UPDATE of the counted columns or game_type_id, DELETE). Writers
  are serialised by BEGIN IMMEDIATE already.
- PostgreSQL: statement triggers with transition tables (one upsert per statement and game
  type, so a COPY of 5,000 games is one update), plus one on TRUNCATE (the counts go to 0, the
  version up). A counter row is locked until commit, so the function takes the rating writer
  lock (`arenadb.ratings.book.take_rating_lock`, the same advisory key) before it touches one:
  every game that starts to count is rated in its transaction and takes that lock anyway, so
  writers that were serialised stay serialised (a little earlier: from the finishing UPDATE on)
  and no others are; and counter rows are only ever locked under that lock, so they cannot
  deadlock with it. Statements that change no counted game do nothing.

The upgrade creates the triggers (their lock on `games` holds writers off) and then fills the
table from the games.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "rated_pools"
FUNCTION = "arenadb_rated_pools"
# arenadb.ratings.book.RATING_LOCK_KEY, frozen here ("arenarat").
RATING_LOCK_KEY = 0x6172656E_61726174


def counted(row: str) -> str:
    """SQL true (never NULL) when the game `row` counts for ratings (`counts_for_ratings`)."""
    return (
        f"({row}.status = 'completed' AND {row}.rated AND NOT {row}.environment_crashed "
        f"AND {row}.outcome IS NOT NULL AND {row}.outcome IN ('win', 'draw'))"
    )


TRIGGERS = ("games_rated_pools_insert", "games_rated_pools_update", "games_rated_pools_delete")
PG_TRUNCATE_TRIGGER = "games_rated_pools_truncate"

_ADD_SQLITE = (
    f"INSERT INTO {TABLE} (game_type_id, games, id_sum, version) "
    "SELECT NEW.game_type_id, 1, NEW.id, 1 WHERE {when} "
    "ON CONFLICT (game_type_id) DO UPDATE SET games = games + 1, "
    "id_sum = id_sum + excluded.id_sum, version = version + 1;"
)
_REMOVE_SQLITE = (
    f"UPDATE {TABLE} SET games = games - 1, id_sum = id_sum - OLD.id, version = version + 1 "
    "WHERE game_type_id = OLD.game_type_id AND {when};"
)
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON games FOR EACH ROW "
    f"WHEN {counted('NEW')} BEGIN {_ADD_SQLITE.format(when='true')} END",
    f"CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE OF status, rated, environment_crashed, outcome, "
    f"game_type_id ON games FOR EACH ROW WHEN ({counted('OLD')} OR {counted('NEW')}) AND "
    f"({counted('OLD')} IS NOT {counted('NEW')} OR OLD.game_type_id IS NOT NEW.game_type_id) "
    f"BEGIN {_REMOVE_SQLITE.format(when=counted('OLD'))} "
    f"{_ADD_SQLITE.format(when=counted('NEW'))} END",
    f"CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON games FOR EACH ROW "
    f"WHEN {counted('OLD')} BEGIN {_REMOVE_SQLITE.format(when='true')} END",
)

# Per statement: the change of each game type's count and id sum (the version goes up by one).
PG_FUNCTION = f"""CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  types integer[];
  counts bigint[];
  sums bigint[];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE {TABLE} SET games = 0, id_sum = 0, version = version + 1;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT array_agg(game_type_id), array_agg(n), array_agg(s) INTO types, counts, sums
    FROM (SELECT g.game_type_id, count(*) AS n, sum(g.id) AS s FROM new_games g
          WHERE {counted("g")} GROUP BY g.game_type_id) d;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(game_type_id), array_agg(n), array_agg(s) INTO types, counts, sums
    FROM (SELECT g.game_type_id, -count(*) AS n, -sum(g.id) AS s FROM old_games g
          WHERE {counted("g")} GROUP BY g.game_type_id) d;
  ELSE
    SELECT array_agg(game_type_id), array_agg(n), array_agg(s) INTO types, counts, sums
    FROM (SELECT c.game_type_id, sum(c.n) AS n, sum(c.s) AS s FROM (
            SELECT o.game_type_id, -1 AS n, -o.id AS s
            FROM old_games o JOIN new_games g ON g.id = o.id
            WHERE {counted("o")} AND NOT ({counted("g")} AND g.game_type_id = o.game_type_id)
            UNION ALL
            SELECT g.game_type_id, 1, g.id
            FROM old_games o JOIN new_games g ON g.id = o.id
            WHERE {counted("g")} AND NOT ({counted("o")} AND g.game_type_id = o.game_type_id)
          ) c GROUP BY c.game_type_id) d;
  END IF;
  IF types IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock({RATING_LOCK_KEY});
  INSERT INTO {TABLE} AS p (game_type_id, games, id_sum, version)
  SELECT t, n, s, 1 FROM unnest(types, counts, sums) AS d(t, n, s) ORDER BY t
  ON CONFLICT (game_type_id) DO UPDATE SET games = p.games + excluded.games,
    id_sum = p.id_sum + excluded.id_sum, version = p.version + 1;
  RETURN NULL;
END
$$"""
PG_TRIGGERS = (
    f"CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON games REFERENCING NEW TABLE AS new_games "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
    f"CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE ON games "
    "REFERENCING OLD TABLE AS old_games NEW TABLE AS new_games "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
    f"CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON games REFERENCING OLD TABLE AS old_games "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
    f"CREATE TRIGGER {PG_TRUNCATE_TRIGGER} AFTER TRUNCATE ON games "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
)

BACKFILL = (
    f"INSERT INTO {TABLE} (game_type_id, games, id_sum, version) "
    "SELECT g.game_type_id, count(*), sum(g.id), 1 FROM games g "
    f"WHERE {counted('g')} GROUP BY g.game_type_id"
)


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("game_type_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("games", sa.BigInteger(), nullable=False),
        sa.Column("id_sum", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["game_type_id"],
            ["game_types.id"],
            name=op.f("fk_rated_pools_game_type_id_game_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("game_type_id", name=op.f("pk_rated_pools")),
    )
    if _postgresql():
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    if _postgresql():
        for name in (*TRIGGERS, PG_TRUNCATE_TRIGGER):
            op.execute(f"DROP TRIGGER {name} ON games")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table(TABLE)
