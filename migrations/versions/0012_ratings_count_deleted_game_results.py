"""Ratings keep count of the seat results of deleted games they still hold (for `agents top`).

Revision ID: 0012
Revises: 0011

`agents top --method trueskill|openskill` warns when its ratings still count games that were
deleted. It found that out by counting every rating event of the board, which grew with the
games (33 ms at 20,000 games on SQLite). Now `ratings.deleted_game_results` holds the figure per
rating, so the check is a sum over the board's ratings (one row per agent):

- the trigger `rating_events_count_deleted` adds one for every rating event deleted (a deleted
  game takes its events with it, ON DELETE CASCADE; so does SQL that deletes events itself).
  PostgreSQL: a statement trigger with the deleted rows as a transition table, one UPDATE per
  statement; SQLite: a row trigger.
- `arenadb ratings rebuild` deletes the ratings before their events (so the trigger finds no
  rating to update) and writes new ratings with 0 (`arenadb.ratings.book`).
- The upgrade fills the column with what the old check computed: a rating's games less its
  events, never below 0.

SQLite: plain ALTER TABLE ADD / DROP COLUMN (no batch copy of the table).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK_NAME = "ck_ratings_deleted_game_results_nonnegative"
CHECK = "deleted_game_results >= 0"
TRIGGER = "rating_events_count_deleted"
FUNCTION = "arenadb_count_deleted_rating_events"

# The events a rating has, the same rating by (agent, system, game type; NULL = overall).
_EVENTS_OF_RATING = (
    "(SELECT count(*) FROM rating_events e WHERE e.agent_id = ratings.agent_id "
    "AND e.system = ratings.system AND e.game_type_id {same} ratings.game_type_id)"
)

PG_FUNCTION = f"""CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ratings r SET deleted_game_results = r.deleted_game_results + d.n
  FROM (SELECT agent_id, system, game_type_id, count(*) AS n FROM deleted_events
        GROUP BY agent_id, system, game_type_id) d
  WHERE r.agent_id = d.agent_id AND r.system = d.system
    AND r.game_type_id IS NOT DISTINCT FROM d.game_type_id;
  RETURN NULL;
END
$$"""
PG_TRIGGER = (
    f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON rating_events "
    f"REFERENCING OLD TABLE AS deleted_events FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
)
SQLITE_TRIGGER = (
    f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON rating_events FOR EACH ROW BEGIN "
    "UPDATE ratings SET deleted_game_results = deleted_game_results + 1 "
    "WHERE agent_id = OLD.agent_id AND system = OLD.system "
    "AND game_type_id IS OLD.game_type_id; END"
)


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgresql():
        op.add_column(
            "ratings",
            sa.Column("deleted_game_results", sa.Integer(), server_default="0", nullable=False),
        )
        op.create_check_constraint(op.f(CHECK_NAME), "ratings", CHECK)
        events = _EVENTS_OF_RATING.format(same="IS NOT DISTINCT FROM")
    else:
        op.execute(
            "ALTER TABLE ratings ADD COLUMN deleted_game_results INTEGER DEFAULT '0' NOT NULL "
            f"CONSTRAINT {CHECK_NAME} CHECK ({CHECK})"
        )
        events = _EVENTS_OF_RATING.format(same="IS")
    op.execute(
        f"UPDATE ratings SET deleted_game_results = CASE WHEN games > {events} "
        f"THEN games - {events} ELSE 0 END"
    )
    if _postgresql():
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if _postgresql():
        op.execute(f"DROP TRIGGER {TRIGGER} ON rating_events")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
        op.drop_constraint(op.f(CHECK_NAME), "ratings", type_="check")
        op.drop_column("ratings", "deleted_game_results")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
        # SQLite drops a column only once no constraint names it: the CHECK is the column's own.
        op.execute("ALTER TABLE ratings DROP COLUMN deleted_game_results")
