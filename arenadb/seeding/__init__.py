"""Seed files, the seeder, and game generators."""
