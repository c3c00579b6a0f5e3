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
from hammer_fc.formats.checks import check_unique_names
from hammer_fc.formats.openai import example_from_openai
from hammer_fc.inference.grammar import json_schema_grammar
from hammer_fc.schema import Example, Param, Tool


def read_request(messages: list[dict[str, Any]], tools: list[Any] | None) -> Example:
    """The conversation to answer and the offered tools (``calls`` stays ``None``)."""
    last = len(messages) - 1
    if messages[last].get("role") == "assistant":
        # The OpenAI reader would take a final assistant turn as the gold answer.
        raise HammerError(
            "the last message must be a user, system or tool turn", field=f"messages[{last}].role"
        )
    example = example_from_openai({"messages": messages, "tools": tools or []}, 0, Path("request"))

    def where(i: int) -> str:
        return (
            f"tools[{i}].function" if isinstance(tools[i], dict) and "function" in tools[i] else f"tools[{i}]"
        )

    check_unique_names(example.tools, where, copies=False)  # a client's bug: say so
    for i, tool in enumerate(example.tools):
        _check_tool(tool, f"{where(i)}.parameters")
        if "strict" in tool.extra:
            # Accepted: the grammar holds every answer to the schema anyway. Not shown to the model.
            if not isinstance(tool.extra["strict"], bool):
                raise HammerError("strict must be true or false", field=f"tools[{i}].function.strict")
            extra = {k: v for k, v in tool.extra.items() if k != "strict"}
            example.tools[i] = dataclasses.replace(tool, extra=extra)
    return example


def _check_tool(tool: Tool, where: str) -> None:
    """What no answer could satisfy, whether or not the server constrains decoding: arguments
    that are not an object (read as no arguments at all, the call would drop the value) and an
    empty ``enum``. What only a grammar cannot enforce is refused when it is built (``--constrained``)."""
    layout = tool.layout
    if layout is not None and (
        layout.type not in ("object", "any") or (layout.types and "object" not in layout.types)
    ):
        spelled = layout.source_type or list(layout.types) or layout.type
        raise HammerError(
            f"tool {tool.name!r}: parameters must be a JSON-Schema object, got type {spelled!r}",
            field=f"{where}.type",
        )
    for param in tool.params:
        _check_param(param, f"{where}.properties.{param.name}")


def _check_param(param: Param, where: str) -> None:
    if param.enum == []:
        raise HammerError("enum is empty: no value can match", field=f"{where}.enum")
    if param.items is not None:
        _check_param(param.items, f"{where}.items")
    for nested in param.properties:
        _check_param(nested, f"{where}.properties.{nested.name}")


def read_response_format(value: dict[str, Any] | None) -> str | None:
    """The grammar ``response_format`` asks for (``None`` for plain text)."""
    kind = (value or {}).get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return json_schema_grammar({"type": "object"}, field="response_format")
    if kind != "json_schema":
        raise HammerError(
            f"unknown response_format type {kind!r}: expected text, json_object or json_schema",
            field="response_format.type",
        )
    spec = value.get("json_schema") if value else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise HammerError("json_schema needs a schema object", field="response_format.json_schema.schema")
    return json_schema_grammar(schema, field="response_format.json_schema.schema")
