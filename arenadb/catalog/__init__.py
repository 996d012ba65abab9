"""The catalogue (models, agent kinds, prompts, agents, game types): registration, references."""
