"""Analysis: arena tables as pandas data frames, and the Parquet dataset export.

Needs the optional extra: `pip install "arenadb[analysis]"` (pyarrow, pandas, duckdb). Nothing of
it is imported until a function is called; without it, the call says what to install.
"""

from __future__ import annotations

from arenadb.analysis.frames import (
    actions_df,
    frame,
    games_df,
    iter_chunks,
    llm_calls_df,
    players_df,
    rating_events_df,
    ratings_df,
    turns_df,
)
from arenadb.analysis.parquet import export_parquet, verify_dataset

__all__ = [
    "actions_df",
    "export_parquet",
    "frame",
    "games_df",
    "iter_chunks",
    "llm_calls_df",
    "players_df",
    "rating_events_df",
    "ratings_df",
    "turns_df",
    "verify_dataset",
]
