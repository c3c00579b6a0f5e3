"""Chat-completion answers and stream chunks in the shape the ``openai`` client reads.

A model answer is either calls (``tool_calls`` with ids and JSON-string arguments,
``finish_reason: "tool_calls"``) or text (``content``). Streaming replays a finished answer as
chunks: the role, then per call its id and name followed by its arguments, or the text in
pieces, then the finish reason; the client's accumulator rebuilds the same message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hammer_fc.schema import ToolCall

_TEXT_PIECE = 32
"""Characters per streamed content chunk."""


@dataclass
class Answer:
    """What the model said to one request, ready to be written out."""

    id: str
    created: int
    model: str
    calls: list[ToolCall]
    call_ids: list[str]
    text: str
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def tool_calls(self) -> list[dict[str, Any]]:
        return [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
            }
            for call, call_id in zip(self.calls, self.call_ids, strict=True)
        ]

    def usage(self) -> dict[str, int] | None:
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def completion(answer: Answer) -> dict[str, Any]:
    """The ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": None if answer.calls else answer.text}
    if answer.calls:
        message["tool_calls"] = answer.tool_calls()
    body: dict[str, Any] = {
        "id": answer.id,
        "object": "chat.completion",
        "created": answer.created,
        "model": answer.model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": answer.finish_reason, "logprobs": None}
        ],
    }
    if (usage := answer.usage()) is not None:
        body["usage"] = usage
    return body


def chunks(answer: Answer, *, include_usage: bool = False) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer, in order."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    yield chunk({"role": "assistant", "content": None if answer.calls else ""})
    for index, call in enumerate(answer.tool_calls()):
        head = {"index": index, "id": call["id"], "type": "function"}
        yield chunk(
            {"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]}
        )
        yield chunk(
            {"tool_calls": [{"index": index, "function": {"arguments": call["function"]["arguments"]}}]}
        )
    if not answer.calls:
        for start in range(0, len(answer.text), _TEXT_PIECE):
            yield chunk({"content": answer.text[start : start + _TEXT_PIECE]})
    yield chunk({}, answer.finish_reason)
    if include_usage and (usage := answer.usage()) is not None:
        yield {**chunk({}), "choices": [], "usage": usage}


def sse(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Server-sent events, ending with ``data: [DONE]`` as OpenAI's stream does."""
    for event in events:
        yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
