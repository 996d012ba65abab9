"""The read side: games, agents, models and database statistics, as data."""
