"""The read side: games, agents, models and database statistics, as data.

`filters` (the one game filter), `games` (games list), `game_detail` (game info), `game_parts`
(a game's row, seats and turns, read by game info and replay), `replay`, `agents` (agents
list), `usage` (LLM usage: models stats, a game's usage), `stats` (db stats), and `rows` (the
same reads as ORM objects, for runner code holding an Arena). References are resolved by
`arenadb.catalog.refs`.
"""
