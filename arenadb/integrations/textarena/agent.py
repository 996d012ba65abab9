"""`RecordedAgent`: a TextArena agent whose calls are recorded as LLM calls of the game."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from arenadb.integrations.textarena.loader import textarena

_AgentWrapper: Any = textarena().AgentWrapper


class RecordedAgent(_AgentWrapper):
    """Wraps a TextArena agent: each call is recorded with the turn the action makes.

    `model`: the registered LLM model (name, id or LLMModel) the call is priced with; without
    it, the agent's `model_name` is stored as the request model. TextArena's agents return only
    text, so tokens are unknown (NULL), never 0.
    """

    def __init__(
        self, agent: Any, env: Any, *, model: Any = None, provider: str | None = None
    ) -> None:
        super().__init__(agent)
        self.recorded_env = env
        self.model = model
        self.provider = provider

    def __call__(self, observation: str) -> str:
        started = datetime.now(timezone.utc)
        clock = time.perf_counter()
        call: dict[str, Any] = {
            "model": self.model,
            "provider": self.provider,
            "request_model": getattr(self.agent, "model_name", None),
            "request": {
                "system_prompt": getattr(self.agent, "system_prompt", None),
                "observation": observation,
            },
            "started_at": started,
        }
        try:
            text = self.agent(observation)
        except Exception as exc:
            call.update(status="error", error=f"{type(exc).__name__}: {exc}")
            raise
        else:
            call["response"] = {"text": text}
            return text
        finally:
            call["latency_ms"] = round((time.perf_counter() - clock) * 1000)
            call["finished_at"] = datetime.now(timezone.utc)
            self.recorded_env.add_llm_call(call)
