"""Do the online ratings still count games that were deleted?

The rule (docs/concepts/ratings.md, "Deleting games"): ratings are history. Deleting a game
(arenadb has no command that deletes single games; SQL, another tool or a script can) does not
change anyone's rating by itself: its rating events go with it (ON DELETE CASCADE), while the
ratings it moved keep the mu, sigma and counts it gave them. arenadb notices, because every
rating change writes exactly one rating event: a rating's `games` equals its number of events
until one of its games is deleted. `agents top --method trueskill|openskill` says so, and
`arenadb ratings rebuild` replays the games that remain, which makes the two equal again.
Whole-database wipes (`seed --reset`, `copy --force`) empty the ratings with the games.
The Bradley-Terry board (`agents top`'s default) is fitted from the games themselves each time:
a deleted game is simply not in it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.models import Rating, RatingEvent


def deleted_game_results(conn: Connection, *, system: str, game_type_id: int | None) -> int:
    """How many seat results of deleted games one board's ratings still count (0: none).

    Two index-assisted aggregates, no join: the sum of the ratings' game counts against the
    number of their events (never more than the counts, so equal sums mean equal rows).
    """
    counted = sa.select(sa.func.coalesce(sa.func.sum(Rating.games), 0)).where(
        Rating.system == system, Rating.game_type_id.is_not_distinct_from(game_type_id)
    )
    events = sa.select(sa.func.count()).where(
        RatingEvent.system == system, RatingEvent.game_type_id.is_not_distinct_from(game_type_id)
    )
    row = conn.execute(sa.select(counted.scalar_subquery(), events.scalar_subquery())).one()
    return max(0, int(row[0]) - int(row[1]))
