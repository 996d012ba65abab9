"""LLM usage straight from what providers return: tokens, finish reason, model and response id.

`parse_usage(response)` reads an OpenAI chat-completions or Responses-API response, Azure
OpenAI's (the chat-completions shape), an Anthropic Messages response, a Gemini
`generateContent` response, a LiteLLM `ModelResponse` or an OpenRouter response: as the SDK's
object (attributes) or as the JSON dict, or a stream as the list of its chunks / events.

    from arenadb.integrations.usage import parse_usage
    usage = parse_usage(openai_client.chat.completions.create(...))
    usage.input_tokens, usage.cache_read_tokens, usage.finish_reason

One meaning for every provider, that of the OpenTelemetry GenAI conventions
(`ProviderUsage.otel_attributes`):
- `input_tokens` counts every input token, cache reads and cache writes included
  (`gen_ai.usage.input_tokens`; Anthropic reports `input_tokens` without them: they are added);
- `output_tokens` counts every output token, reasoning included (`gen_ai.usage.output_tokens`;
  Gemini reports `thoughtsTokenCount` beside `candidatesTokenCount`: they are added);
- `reasoning_tokens`, `cache_read_tokens`, `cache_write_tokens` are parts of those.
What a provider does not report stays None (unknown), never 0; a 0 it reports is kept.
`cost` is a cost the provider itself reports (OpenRouter's `usage.cost`, in USD credits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, NamedTuple


class ProviderUsage(NamedTuple):
    """What one LLM response says about its usage; None: not reported. (A named tuple: it is
    built on every recorded call, and a tuple is built in a fraction of a dataclass's time.)"""

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    finish_reason: str | None = None
    response_model: str | None = None
    response_id: str | None = None
    cost: float | None = None

    def otel_attributes(self) -> dict[str, Any]:
        """The reported values under their OpenTelemetry GenAI attribute names."""
        names = {
            "gen_ai.usage.input_tokens": self.input_tokens,
            "gen_ai.usage.output_tokens": self.output_tokens,
            "gen_ai.usage.reasoning.output_tokens": self.reasoning_tokens,
            "gen_ai.usage.cache_read.input_tokens": self.cache_read_tokens,
            "gen_ai.usage.cache_creation.input_tokens": self.cache_write_tokens,
            "gen_ai.response.model": self.response_model,
            "gen_ai.response.id": self.response_id,
            "gen_ai.response.finish_reasons": None
            if self.finish_reason is None
            else [self.finish_reason],
        }
        return {k: v for k, v in names.items() if v is not None}

    def merged(self, later: ProviderUsage) -> ProviderUsage:
        """This usage updated by a later chunk of the same stream (its reported values win)."""
        values: Any = (b if b is not None else a for a, b in zip(self, later, strict=True))
        return ProviderUsage(*values)


def parse_usage(response: Any) -> ProviderUsage:
    """The usage a provider response reports (see the module doc); all None when it reports none.

    A list or tuple is a stream: its chunks / events in order, later values winning (the final
    usage chunk of OpenAI and OpenRouter, Anthropic's `message_start` then `message_delta`,
    the Responses API's `response.completed`, Gemini's last chunk).
    """
    if type(response) is dict:
        fast = _chat_dict(response)
        if fast is not None:
            return fast
    if isinstance(response, list | tuple):
        usage = ProviderUsage()
        for chunk in response:
            usage = usage.merged(parse_usage(chunk))
        return usage
    if response is None or isinstance(response, str | bytes | int | float | bool):
        return ProviderUsage()
    # Stream events that wrap the whole object: Anthropic's message_start, the Responses API's
    # response.created / response.completed.
    kind = _get(response, "type")
    if kind == "message_start":
        return parse_usage(_get(response, "message"))
    if isinstance(kind, str) and kind.startswith("response.") and _has(response, "response"):
        return parse_usage(_get(response, "response"))
    if kind == "message_delta":  # Anthropic: the stop reason and cumulative usage
        usage = _anthropic_usage(_get(response, "usage"))
        stop = _text(_get(_get(response, "delta"), "stop_reason"))
        return usage._replace(finish_reason=stop)
    gemini = _get(response, "usageMetadata", "usage_metadata")
    if gemini is not None or _has(response, "candidates", "modelVersion", "model_version"):
        return _gemini(response, gemini)
    usage = _get(response, "usage")
    if _has(usage, "prompt_tokens", "completion_tokens"):
        tokens = _chat_usage(usage)
        finish = _text(_get(_first(_get(response, "choices")), "finish_reason"))
    elif _has(usage, "input_tokens_details", "output_tokens_details") or (
        _get(response, "object") == "response"
    ):
        tokens = _responses_usage(usage)
        finish = _responses_finish(response)
    elif usage is not None or _get(response, "type") == "message":
        tokens = _anthropic_usage(usage)
        finish = _text(_get(response, "stop_reason"))
    else:  # a chat-completions chunk without usage (OpenAI streams all but the last so)
        tokens = ProviderUsage()
        finish = _text(_get(_first(_get(response, "choices")), "finish_reason"))
    return tokens._replace(
        finish_reason=finish,
        response_model=_text(_get(response, "model")),
        response_id=_text(_get(response, "id")),
    )


# --------------------------------------------------------------------------- shapes


def _chat_dict(response: dict[str, Any]) -> ProviderUsage | None:
    """The common case on the recording hot path, a chat completion as a plain dict, read with
    plain lookups (a few microseconds); None: another shape, for the general path."""
    usage = response.get("usage")
    if type(usage) is not dict or "prompt_tokens" not in usage or "usageMetadata" in response:
        return None
    prompt = usage.get("prompt_tokens_details")
    completion = usage.get("completion_tokens_details")
    if (prompt is not None and type(prompt) is not dict) or (
        completion is not None and type(completion) is not dict
    ):
        return None
    choices = response.get("choices")
    first = choices[0] if type(choices) is list and choices else None
    finish = first.get("finish_reason") if type(first) is dict else None
    cache_read = prompt.get("cached_tokens") if prompt else None
    if cache_read is None:
        cache_read = usage.get("cache_read_input_tokens")
    cache_write = (
        (prompt.get("cache_write_tokens") or prompt.get("cache_creation_tokens"))
        if prompt
        else None
    )
    if cache_write is None:
        cache_write = usage.get("cache_creation_input_tokens")
    model, response_id = response.get("model"), response.get("id")
    return ProviderUsage(
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        reasoning_tokens=_count(completion.get("reasoning_tokens")) if completion else None,
        cache_read_tokens=_count(cache_read),
        cache_write_tokens=_count(cache_write),
        finish_reason=finish if type(finish) is str and finish else _text(finish),
        response_model=model if type(model) is str and model else _text(model),
        response_id=response_id if type(response_id) is str and response_id else _text(response_id),
        cost=_float(usage.get("cost")),
    )


def _count(value: Any) -> int | None:
    if value is None:
        return None
    return value if type(value) is int and value >= 0 else _int(value)


def _chat_usage(usage: Any) -> ProviderUsage:
    """Chat completions (OpenAI, Azure OpenAI, LiteLLM, OpenRouter): prompt_tokens already
    include cached tokens, completion_tokens include reasoning tokens."""
    prompt = _get(usage, "prompt_tokens_details")
    completion = _get(usage, "completion_tokens_details")
    cache_write = _int(_get(prompt, "cache_write_tokens", "cache_creation_tokens"))
    if cache_write is None:  # LiteLLM keeps Anthropic's name beside the OpenAI ones
        cache_write = _int(_get(usage, "cache_creation_input_tokens"))
    cache_read = _int(_get(prompt, "cached_tokens"))
    if cache_read is None:
        cache_read = _int(_get(usage, "cache_read_input_tokens"))
    return ProviderUsage(
        input_tokens=_int(_get(usage, "prompt_tokens")),
        output_tokens=_int(_get(usage, "completion_tokens")),
        reasoning_tokens=_int(_get(completion, "reasoning_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cost=_float(_get(usage, "cost")),
    )


def _responses_usage(usage: Any) -> ProviderUsage:
    """OpenAI Responses API: input_tokens include cached ones, output_tokens reasoning ones."""
    return ProviderUsage(
        input_tokens=_int(_get(usage, "input_tokens")),
        output_tokens=_int(_get(usage, "output_tokens")),
        reasoning_tokens=_int(_get(_get(usage, "output_tokens_details"), "reasoning_tokens")),
        cache_read_tokens=_int(_get(_get(usage, "input_tokens_details"), "cached_tokens")),
        cost=_float(_get(usage, "cost")),
    )


def _responses_finish(response: Any) -> str | None:
    status = _text(_get(response, "status"))
    if status == "incomplete":
        return _text(_get(_get(response, "incomplete_details"), "reason")) or status
    return status


def _anthropic_usage(usage: Any) -> ProviderUsage:
    """Anthropic Messages: input_tokens exclude cache reads and writes, which are added here;
    output_tokens include extended thinking, which is not reported apart (reasoning: None)."""
    base = _int(_get(usage, "input_tokens"))
    read = _int(_get(usage, "cache_read_input_tokens"))
    write = _int(_get(usage, "cache_creation_input_tokens"))
    return ProviderUsage(
        input_tokens=None if base is None else base + (read or 0) + (write or 0),
        output_tokens=_int(_get(usage, "output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def _gemini(response: Any, meta: Any) -> ProviderUsage:
    """Gemini generateContent (REST camelCase or the google-genai SDK's snake_case):
    promptTokenCount includes cachedContentTokenCount; thoughts and tool-use prompts are
    counted apart and added to output and input."""
    prompt = _int(_get(meta, "promptTokenCount", "prompt_token_count"))
    tool_prompt = _int(_get(meta, "toolUsePromptTokenCount", "tool_use_prompt_token_count"))
    candidates = _int(_get(meta, "candidatesTokenCount", "candidates_token_count"))
    thoughts = _int(_get(meta, "thoughtsTokenCount", "thoughts_token_count"))
    return ProviderUsage(
        input_tokens=_sum(prompt, tool_prompt),
        output_tokens=_sum(candidates, thoughts),
        reasoning_tokens=thoughts,
        cache_read_tokens=_int(_get(meta, "cachedContentTokenCount", "cached_content_token_count")),
        finish_reason=_text(
            _get(_first(_get(response, "candidates")), "finishReason", "finish_reason")
        ),
        response_model=_text(_get(response, "modelVersion", "model_version")),
        response_id=_text(_get(response, "responseId", "response_id")),
    )


# --------------------------------------------------------------------------- access


def _get(obj: Any, *names: str) -> Any:
    """The first of `names` that `obj` has (a key of a mapping or an attribute), else None."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        for name in names:
            value = obj.get(name)
            if value is not None:
                return value
        return None
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _has(obj: Any, *names: str) -> bool:
    return _get(obj, *names) is not None


def _first(items: Any) -> Any:
    if isinstance(items, Sequence) and not isinstance(items, str) and items:
        return items[0]
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number >= 0 and number != float("inf") else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):  # google-genai's FinishReason, e.g.
        value = value.value
    return str(value) if value != "" else None


def _sum(first: int | None, second: int | None) -> int | None:
    if first is None and second is None:
        return None
    return (first or 0) + (second or 0)


# --------------------------------------------------------------------------- storage


def response_json(response: Any) -> Any:
    """`response` as JSON values for the `llm_calls.response` column: dicts and lists as they
    are, SDK objects through their own `model_dump(mode="json")` / `to_dict()`, other objects
    by their attributes."""
    if response is None or isinstance(response, str | int | float | bool):
        return response
    if isinstance(response, Mapping):
        return {str(k): response_json(v) for k, v in response.items()}
    if isinstance(response, list | tuple):
        return [response_json(v) for v in response]
    if isinstance(response, Enum):
        return response_json(response.value)
    dump = getattr(response, "model_dump", None)
    if callable(dump):
        try:
            return response_json(dump(mode="json"))
        except TypeError:  # pydantic v1 style
            return response_json(dump())
    to_dict = getattr(response, "to_dict", None)
    if callable(to_dict):
        return response_json(to_dict())
    if hasattr(response, "__dict__"):
        return {k: response_json(v) for k, v in vars(response).items() if not k.startswith("_")}
    return str(response)
