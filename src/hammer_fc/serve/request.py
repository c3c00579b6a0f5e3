"""A chat request's messages and tools, read into the project's schema by the OpenAI reader.

The server renders the resulting :class:`~hammer_fc.schema.Example` with the same prompt
templates training and evaluation use, so a model sees the same text offline and over HTTP.
Problems raise :class:`HammerError` with the field path (``messages[2].tool_calls[0]...``) that
the server reports as the error's ``param``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.openai import example_from_openai
from hammer_fc.schema import Example


def read_request(messages: list[dict[str, Any]], tools: list[Any] | None) -> Example:
    """The conversation to answer and the offered tools (``calls`` stays ``None``)."""
    last = len(messages) - 1
    if messages[last].get("role") == "assistant":
        # The OpenAI reader would take a final assistant turn as the gold answer.
        raise HammerError(
            "the last message must be a user, system or tool turn", field=f"messages[{last}].role"
        )
    example = example_from_openai({"messages": messages, "tools": tools or []}, 0, Path("request"))
    seen: set[str] = set()
    for i, tool in enumerate(example.tools):
        if tool.name in seen:
            raise HammerError(f"duplicate tool name {tool.name!r}", field=f"tools[{i}].function.name")
        seen.add(tool.name)
    return example
