"""Do the online ratings still count games that were deleted?

The rule (docs/concepts/ratings.md, "Deleting games"): ratings are history. Deleting a game
(arenadb has no command that deletes single games; SQL, another tool or a script can) does not
change anyone's rating by itself: its rating events go with it (ON DELETE CASCADE), while the
ratings it moved keep the mu, sigma and counts it gave them. arenadb notices: the database
counts, per rating, the seat results whose rating events were deleted
(`ratings.deleted_game_results`, kept by the trigger of migration 0012, so every writer of any
tool is counted). `agents top --method trueskill|openskill` says so, and `arenadb ratings
rebuild` replays the games that remain, which sets the counts back to 0.
Whole-database wipes (`seed --reset`, `copy --force`) empty the ratings with the games.
The Bradley-Terry board (`agents top`'s default) is fitted from the games themselves each time:
a deleted game is simply not in it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.models import Rating


def deleted_game_results(conn: Connection, *, system: str, game_type_id: int | None) -> int:
    """How many seat results of deleted games one board's ratings still count (0: none).

    A sum over the board's ratings (one row per agent, whatever the number of games).
    """
    counted = sa.select(sa.func.coalesce(sa.func.sum(Rating.deleted_game_results), 0)).where(
        Rating.system == system, Rating.game_type_id.is_not_distinct_from(game_type_id)
    )
    return int(conn.execute(counted).scalar_one())
