"""A chat request's messages and tools, read into the project's schema by the OpenAI reader.

The server renders the resulting :class:`~hammer_fc.schema.Example` with the same prompt
templates training and evaluation use, so a model sees the same text offline and over HTTP.
Problems raise :class:`HammerError` with the field path (``messages[2].tool_calls[0]...``) that
the server reports as the error's ``param``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.openai import example_from_openai
from hammer_fc.inference.grammar import schema_grammar
from hammer_fc.schema import Example

_UNENFORCED = ("$ref", "anyOf", "oneOf", "allOf", "not", "if", "patternProperties")
"""Schema keywords the response grammar cannot enforce yet: refused rather than ignored."""


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
        if "strict" in tool.extra:
            # Accepted: the grammar holds every answer to the schema anyway. Not shown to the model.
            if not isinstance(tool.extra["strict"], bool):
                raise HammerError("strict must be true or false", field=f"tools[{i}].function.strict")
            extra = {k: v for k, v in tool.extra.items() if k != "strict"}
            example.tools[i] = dataclasses.replace(tool, extra=extra)
    return example


def read_response_format(value: dict[str, Any] | None) -> str | None:
    """The grammar ``response_format`` asks for (``None`` for plain text)."""
    kind = (value or {}).get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return schema_grammar(None)
    if kind != "json_schema":
        raise HammerError(
            f"unknown response_format type {kind!r}: expected text, json_object or json_schema",
            field="response_format.type",
        )
    spec = value.get("json_schema") if value else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise HammerError("json_schema needs a schema object", field="response_format.json_schema.schema")
    _check_enforceable(schema, "response_format.json_schema.schema")
    return schema_grammar(schema, path="response_format.json_schema.schema")


def _check_enforceable(schema: Any, where: str) -> None:
    """Refuse the keywords the grammar would not enforce, in the schema and its sub-schemas."""
    if not isinstance(schema, dict):
        return
    for key in _UNENFORCED:
        if key in schema:
            raise HammerError(f"{key} is not supported in a response schema", field=f"{where}.{key}")
    for name, sub in (schema.get("properties") or {}).items():
        _check_enforceable(sub, f"{where}.properties.{name}")
    _check_enforceable(schema.get("items"), f"{where}.items")
