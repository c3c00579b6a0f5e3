"""OpenAI chat records: ``{"messages": [...], "tools": [{"type": "function", "function": {...}}]}``.

Which calls are gold: the record's *last* message decides.
- an assistant message with ``tool_calls``: those calls are the answer (the turns before it are the
  conversation);
- an assistant message without ``tool_calls``: the answer is *no call* (``[]``), its text kept in
  ``meta["answer_text"]``;
- anything else (the record ends with a user or tool turn): no gold answer (``calls=None``), a
  request to be answered.
The writer is the inverse: gold calls become a final assistant ``tool_calls`` message, ``[]`` a
final assistant text message, ``None`` no final message. Arguments are JSON strings both ways.
Tool-call ids are not part of the schema: on writing, an assistant turn's calls take the ids of
the tool turns that answer them (in order), so a conversation keeps its links.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.records import (
    examples_from_records,
    message_from_turn,
    require_keys,
    require_list,
    write_records,
)
from hammer_fc.schema import Example, Message, Tool, ToolCall
from hammer_fc.schema.params import tool_from_function, tool_to_function


def _tool(entry: Any, field: str) -> Tool:
    """``{"type": "function", "function": {...}}`` (or the bare function object)."""
    if not isinstance(entry, dict):
        raise HammerError(f"a tool must be an object, got {type(entry).__name__}", field=field)
    if entry.get("type", "function") != "function":
        raise HammerError(f"only function tools are supported, got type {entry.get('type')!r}", field=field)
    if "function" in entry:
        return tool_from_function(entry["function"], path=f"{field}.function")
    return tool_from_function(entry, path=field)


def example_from_openai(record: Any, index: int, path: Path) -> Example:
    """One chat record -> Example (gold calls from the final assistant turn, see module doc)."""
    record = require_keys(record, "messages")
    turns = require_list(record["messages"], "messages")
    messages = [message_from_turn(t, f"messages[{i}]") for i, t in enumerate(turns)]
    tools = require_list(record.get("tools", record.get("functions")) or [], "tools")
    calls: list[ToolCall] | None = None
    meta: dict[str, Any] = {"source": "openai"}
    if messages and messages[-1].role == "assistant":
        answer = messages.pop()
        calls = answer.tool_calls or []
        if answer.content:
            meta["answer_text"] = answer.content
    if not messages:
        raise HammerError("no turn before the answer", field="messages")
    record_id = record.get("id")
    return Example(
        messages=messages,
        tools=[_tool(t, f"tools[{i}]") for i, t in enumerate(tools)],
        calls=calls,
        id=str(index) if record_id is None else str(record_id),
        meta=meta,
    )


def read_openai(path: Path) -> Iterator[Example | HammerError]:
    return examples_from_records(path, example_from_openai)


def _tool_calls(calls: list[ToolCall], ids: list[str], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "id": ids[j] if j < len(ids) else f"{prefix}_{j}",
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)},
        }
        for j, c in enumerate(calls)
    ]


def _answer_ids(messages: list[Message], start: int) -> list[str]:
    """The ``tool_call_id`` of the tool turns right after an assistant turn."""
    ids = []
    for message in messages[start:]:
        if message.role != "tool":
            break
        if message.tool_call_id:
            ids.append(message.tool_call_id)
    return ids


def _message(message: Message, index: int, messages: list[Message]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["content"] = message.content or None
        ids = _answer_ids(messages, index + 1)
        out["tool_calls"] = _tool_calls(message.tool_calls, ids, f"call_{index}")
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def openai_record(example: Example) -> dict[str, Any]:
    """One Example -> chat record (``id`` kept when set: our eval keys predictions by it)."""
    messages = [_message(m, i, example.messages) for i, m in enumerate(example.messages)]
    text = example.meta.get("answer_text")
    if example.calls:
        prefix = f"call_{len(example.messages)}"
        messages.append(
            {"role": "assistant", "content": text, "tool_calls": _tool_calls(example.calls, [], prefix)}
        )
    elif example.calls is not None:
        messages.append({"role": "assistant", "content": text or ""})
    record: dict[str, Any] = {"id": example.id} if example.id else {}
    record["messages"] = messages
    record["tools"] = [
        {"type": "function", "function": tool_to_function(t, "jsonschema")} for t in example.tools
    ]
    return record


def write_openai(examples: Iterable[Example], path: Path) -> int:
    """JSON Lines, one chat record per line."""
    return write_records((openai_record(e) for e in examples), path, jsonl=True)
