"""parse_usage on real response payloads of each provider's documented shape.

Each fixture under tests/fixtures/provider_responses/ follows the page cited beside it; the
expected values are what arenadb stores (input includes cache reads and writes, output includes
reasoning: the OpenTelemetry GenAI meaning), with None where the provider reports nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from arenadb.integrations.usage import ProviderUsage, parse_usage, response_json

FIXTURES = Path(__file__).parent.parent / "fixtures" / "provider_responses"

CASES = {
    # https://platform.openai.com/docs/api-reference/chat/object (usage.prompt_tokens_details,
    # completion_tokens_details.reasoning_tokens; prompt_tokens include the cached ones)
    "openai_chat": ProviderUsage(
        input_tokens=1117,
        output_tokens=946,
        reasoning_tokens=704,
        cache_read_tokens=1024,
        finish_reason="stop",
        response_model="o3-mini-2025-01-31",
        response_id="chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    ),
    # https://platform.openai.com/docs/api-reference/chat-streaming/streaming and
    # stream_options.include_usage: the last chunk has `choices: []` and the usage
    "openai_chat_stream": ProviderUsage(
        input_tokens=9,
        output_tokens=12,
        reasoning_tokens=0,
        cache_read_tokens=0,
        finish_reason="length",
        response_model="gpt-4o-mini-2024-07-18",
        response_id="chatcmpl-123",
    ),
    # A chat completion without `usage` (a local OpenAI-compatible server): tokens unknown
    "openai_chat_without_usage": ProviderUsage(
        finish_reason="stop",
        response_model="llama-3.1-8b-instruct",
        response_id="chatcmpl-local-7",
    ),
    # https://platform.openai.com/docs/api-reference/responses/object (usage.input_tokens_details
    # .cached_tokens, output_tokens_details.reasoning_tokens)
    "openai_responses": ProviderUsage(
        input_tokens=81,
        output_tokens=1035,
        reasoning_tokens=832,
        cache_read_tokens=0,
        finish_reason="completed",
        response_model="o4-mini-2025-04-16",
        response_id="resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
    ),
    # https://platform.openai.com/docs/api-reference/responses-streaming (response.created ...
    # response.incomplete with incomplete_details.reason)
    "openai_responses_incomplete_stream": ProviderUsage(
        input_tokens=2006,
        output_tokens=64,
        reasoning_tokens=0,
        cache_read_tokens=1920,
        finish_reason="max_output_tokens",
        response_model="gpt-4.1-2025-04-14",
        response_id="resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654",
    ),
    # https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference (chat completions,
    # with prompt_filter_results; usage as OpenAI's)
    "azure_openai_chat": ProviderUsage(
        input_tokens=1589,
        output_tokens=3,
        reasoning_tokens=0,
        cache_read_tokens=1408,
        finish_reason="stop",
        response_model="gpt-4o-2024-08-06",
        response_id="chatcmpl-AE3fEYXd9XkVlU0AMWd7UZhwXJHEp",
    ),
    # https://docs.anthropic.com/en/api/messages and .../build-with-claude/prompt-caching:
    # input_tokens exclude cache_read_input_tokens and cache_creation_input_tokens (added here);
    # thinking is inside output_tokens and not reported apart
    "anthropic_message": ProviderUsage(
        input_tokens=21 + 188086,
        output_tokens=393,
        reasoning_tokens=None,
        cache_read_tokens=0,
        cache_write_tokens=188086,
        finish_reason="end_turn",
        response_model="claude-sonnet-4-20250514",
        response_id="msg_013Zva2CMHLNnXjNJJKqJ2EF",
    ),
    # https://docs.anthropic.com/en/docs/build-with-claude/streaming: message_start carries the
    # input usage, message_delta the stop reason and the cumulative output_tokens
    "anthropic_stream": ProviderUsage(
        input_tokens=472 + 2048,
        output_tokens=89,
        cache_read_tokens=2048,
        cache_write_tokens=0,
        finish_reason="max_tokens",
        response_model="claude-3-7-sonnet-20250219",
        response_id="msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
    ),
    # https://ai.google.dev/api/generate-content#UsageMetadata (promptTokenCount includes
    # cachedContentTokenCount; thoughtsTokenCount is beside candidatesTokenCount)
    "gemini_generate_content": ProviderUsage(
        input_tokens=12421,
        output_tokens=11 + 757,
        reasoning_tokens=757,
        cache_read_tokens=12288,
        finish_reason="STOP",
        response_model="gemini-2.5-flash",
        response_id="mYPoaMLAH9Kqz7IPmqTbqQ8",
    ),
    # https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent: every
    # chunk is a GenerateContentResponse, the last one has the final usage and finishReason
    "gemini_stream": ProviderUsage(
        input_tokens=9,
        output_tokens=6,
        finish_reason="MAX_TOKENS",
        response_model="gemini-2.0-flash",
        response_id="Zk7oaJ6xGeGtz7IP7ZqoiAc",
    ),
    # https://docs.litellm.ai/docs/completion/prompt_caching (ModelResponse.usage: OpenAI names,
    # plus Anthropic's cache_creation_input_tokens / cache_read_input_tokens)
    "litellm_model_response": ProviderUsage(
        input_tokens=2095,
        output_tokens=10,
        cache_read_tokens=2048,
        cache_write_tokens=36,
        finish_reason="stop",
        response_model="claude-3-5-sonnet-20240620",
        response_id="chatcmpl-565d891b-a42e-4c39-8d14-82a1f5208885",
    ),
    # https://openrouter.ai/docs/use-cases/usage-accounting (usage.cost in credits,
    # prompt_tokens_details.cache_write_tokens)
    "openrouter_chat": ProviderUsage(
        input_tokens=194,
        output_tokens=2,
        reasoning_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=100,
        finish_reason="stop",
        response_model="google/gemini-2.5-pro",
        response_id="gen-1747407021-9C3PVeHrPqtUNeFIcSSG",
        cost=0.95,
    ),
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def as_object(value: Any) -> Any:
    """The payload as an SDK would give it: attributes instead of keys."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: as_object(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_object(v) for v in value]
    return value


def snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def as_snake_object(value: Any) -> Any:
    """As the google-genai SDK gives it: snake_case attributes."""
    if isinstance(value, dict):
        return SimpleNamespace(**{snake(k): as_snake_object(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_snake_object(v) for v in value]
    return value


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_dict_payloads(name: str) -> None:
    assert parse_usage(load(name)) == CASES[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_sdk_objects(name: str) -> None:
    assert parse_usage(as_object(load(name))) == CASES[name]


@pytest.mark.parametrize("name", ["gemini_generate_content", "gemini_stream"])
def test_google_genai_snake_case_objects(name: str) -> None:
    assert parse_usage(as_snake_object(load(name))) == CASES[name]


def test_unknown_stays_unknown_and_zero_stays_zero() -> None:
    assert parse_usage(None) == ProviderUsage()
    assert parse_usage({"choices": []}) == ProviderUsage()
    zero = parse_usage({"usage": {"prompt_tokens": 0, "completion_tokens": 0}})
    assert (zero.input_tokens, zero.output_tokens, zero.reasoning_tokens) == (0, 0, None)
    # Nonsense counts are not counts.
    bad = parse_usage({"usage": {"prompt_tokens": -3, "completion_tokens": "many"}})
    assert (bad.input_tokens, bad.output_tokens) == (None, None)


def test_otel_attribute_names() -> None:
    attributes = CASES["anthropic_message"].otel_attributes()
    assert attributes == {
        "gen_ai.usage.input_tokens": 188107,
        "gen_ai.usage.output_tokens": 393,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.cache_creation.input_tokens": 188086,
        "gen_ai.response.model": "claude-sonnet-4-20250514",
        "gen_ai.response.id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "gen_ai.response.finish_reasons": ["end_turn"],
    }


def test_response_json_turns_objects_into_json_values() -> None:
    payload = load("openai_chat")
    assert response_json(as_object(payload)) == payload
    assert response_json(payload) == payload

    class Dumps:
        def model_dump(self, mode: str = "python") -> dict[str, Any]:
            return {"mode": mode}

    assert response_json([Dumps()]) == [{"mode": "json"}]
