"""Ratings: online systems (TrueSkill, OpenSkill), the rating book, rebuilds, leaderboards."""
