"""Chat-completion answers and stream deltas in the shape the ``openai`` client reads.

A model answer is either calls (``tool_calls`` with ids and JSON-string arguments,
``finish_reason: "tool_calls"``) or text (``content``). :class:`AnswerBuilder` reads the model's
text as it is decoded and turns it into OpenAI deltas; the non-streamed answer is what the same
builder accumulated, so a stream, accumulated, is the non-streamed answer by construction.

Under the grammar a tool-calling answer has one known shape (```` ```\\n[{"name": ..., "arguments":
{...}}, ...]\\n``` ````), so each call's ``index``, ``id`` and ``function.name`` leave as soon as
its name is written, then its ``arguments`` as the raw JSON fragments the model writes. Free
text that might hold calls (``--free`` with tools) can only be judged once complete: it is held
and sent at the end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from hammer_fc.prompts import parse_calls
from hammer_fc.schema import ToolCall

Mode = Literal["text", "calls", "held"]
"""How an answer streams: ``text`` as content deltas; ``calls`` by the grammar's answer shape;
``held`` (free text that may hold calls) whole at the end."""

_FENCED_LIST = re.compile(r"```\n\[")
_NAME = re.compile(r'\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")')
_ARGUMENTS = re.compile(r'\s*,\s*"arguments"\s*:\s*(?=\{)')
_CALL_END = re.compile(r"\s*\}")


def complete_calls(text: str) -> list[ToolCall]:
    """The complete calls at the start of an answer cut off by the token limit.

    A cut-off free answer that starts like ```` ```\\n[call, call, ...```` still has whole calls
    before the cut, and a client is better served by them (with ``finish_reason: "length"``)
    than by the raw fragment.
    """
    body = text.lstrip()
    body = body[3:].lstrip() if body.startswith("```") else body
    if not body.startswith("["):
        return []
    decoder, objects, position = json.JSONDecoder(), [], 1
    while True:
        position += len(body[position:]) - len(body[position:].lstrip())
        try:
            value, position = decoder.raw_decode(body, position)
        except ValueError:
            break
        objects.append(value)
        rest = body[position:].lstrip()
        if not rest.startswith(","):
            break
        position = len(body) - len(rest) + 1
    parsed = parse_calls(json.dumps(objects)) if objects else []
    return parsed if isinstance(parsed, list) else []


class StopFilter:
    """Cuts the text before the first ``stop`` string, holding back any tail that could be the
    start of one (so nothing after a stop string ever leaves)."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.held = ""
        self.hit = False

    def feed(self, text: str) -> str:
        if not self.stops or self.hit:
            return "" if self.hit else text
        self.held += text
        cuts = [i for stop in self.stops if (i := self.held.find(stop)) >= 0]
        if cuts:
            out, self.held, self.hit = self.held[: min(cuts)], "", True
            return out
        keep = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(self.held)), keep, -1):
                if self.held.endswith(stop[:n]):
                    keep = n
                    break
        out, self.held = self.held[: len(self.held) - keep], self.held[len(self.held) - keep :]
        return out

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out


@dataclass
class AnswerBuilder:
    """The model's text in, OpenAI deltas out; the whole answer at the end (see the module doc)."""

    mode: Mode
    new_call_id: Callable[[], str]
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    content: str = ""
    _cursor: int = 0
    _state: str = "head"
    _depth: int = 0
    _in_string: bool = False
    _escaped: bool = False
    _sent: int = 0
    """In ``calls`` mode: how much of ``text`` went out as content (no call was written)."""

    def opening(self) -> dict[str, Any]:
        """The first delta: the role (content ``None`` while the answer may still be calls)."""
        return {"role": "assistant", "content": "" if self.mode == "text" else None}

    def feed(self, text: str) -> list[dict[str, Any]]:
        """Deltas for the text just decoded."""
        self.text += text
        if self.mode == "text":
            self.content += text
            return [{"content": text}] if text else []
        if self.mode == "held":
            return []
        return self._read_calls()

    def finish(self, finish_reason: str) -> tuple[list[dict[str, Any]], str]:
        """The last deltas (held text, or what no call claimed) and the final finish reason."""
        deltas: list[dict[str, Any]] = []
        if self.mode == "held":
            deltas = self._resolve_held(cut=finish_reason == "length")
        elif self.mode == "calls" and not self.tool_calls:
            deltas = self._content_from(self._sent)
        if finish_reason == "length":
            return deltas, "length"
        return deltas, "tool_calls" if self.tool_calls else "stop"

    # --- calls mode --------------------------------------------------------------------

    def _content_from(self, start: int) -> list[dict[str, Any]]:
        piece = self.text[start:]
        self._sent = len(self.text)
        self.content += piece
        return [{"content": piece}] if piece else []

    def _read_calls(self) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = []
        text = self.text
        while True:
            if self._state == "head":
                if not _FENCED_LIST.match(text, self._cursor):
                    return deltas
                self._cursor += 5
                self._state = "between"
            elif self._state == "between":
                rest = text[self._cursor :].lstrip()
                if not rest:
                    return deltas
                position = len(text) - len(rest)
                if rest[0] == ",":
                    self._cursor = position + 1
                elif rest[0] == "{":
                    self._state = "name"
                else:  # "]": the list is closed
                    self._state = "done"
                    if not self.tool_calls:
                        deltas += self._content_from(0)
            elif self._state == "name":
                match = _NAME.match(text, self._cursor)
                if match is None:
                    return deltas
                index = len(self.tool_calls)
                call = {
                    "id": self.new_call_id(),
                    "type": "function",
                    "function": {"name": json.loads(match.group(1)), "arguments": ""},
                }
                self.tool_calls.append(call)
                deltas.append(_head(index, call))
                self._cursor = match.end()
                self._state = "arguments"
            elif self._state == "arguments":
                match = _ARGUMENTS.match(text, self._cursor)
                if match is None:
                    return deltas
                self._cursor = match.end()
                self._state = "object"
            elif self._state == "object":
                end = self._scan_object(text)
                piece = text[self._cursor : end]
                if piece:
                    self.tool_calls[-1]["function"]["arguments"] += piece
                    index = len(self.tool_calls) - 1
                    deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                self._cursor = end
                if self._depth:  # the object goes on in text not decoded yet
                    return deltas
                self._state = "call-end"
            elif self._state == "call-end":
                match = _CALL_END.match(text, self._cursor)
                if match is None:
                    return deltas
                self._cursor = match.end()
                self._state = "between"
            else:  # done: what follows the list (the closing fence) is not part of a call
                if not self.tool_calls:
                    deltas += self._content_from(self._sent)
                return deltas

    def _scan_object(self, text: str) -> int:
        """Advance through the arguments object; the index just past it, or the text's end."""
        for i in range(self._cursor, len(text)):
            ch = text[i]
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif ch == "\\":
                    self._escaped = True
                elif ch == '"':
                    self._in_string = False
            elif ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
            elif ch in "}]":
                self._depth -= 1
                if not self._depth:
                    return i + 1
        return len(text)

    # --- held mode ---------------------------------------------------------------------

    def _resolve_held(self, *, cut: bool) -> list[dict[str, Any]]:
        """Free text, judged whole: its calls, or (unreadable, or no call) the text itself."""
        parsed = parse_calls(self.text)
        calls = parsed if isinstance(parsed, list) else complete_calls(self.text) if cut else []
        if not calls:
            self.content = self.text
            return [{"content": self.text}] if self.text else []
        deltas = []
        for index, found in enumerate(calls):
            call = {
                "id": self.new_call_id(),
                "type": "function",
                "function": {
                    "name": found.name,
                    "arguments": json.dumps(found.arguments, ensure_ascii=False),
                },
            }
            self.tool_calls.append(call)
            deltas.append(_head(index, call))
        return deltas


def _head(index: int, call: dict[str, Any]) -> dict[str, Any]:
    """The delta opening a call: its index, id and name (a copy: the call grows afterwards)."""
    function = {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}
    return {"tool_calls": [{"index": index, "id": call["id"], "type": "function", "function": function}]}


@dataclass
class Answer:
    """What the model said to one request, ready to be written out."""

    id: str
    created: int
    model: str
    tool_calls: list[dict[str, Any]]
    content: str
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

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
    message: dict[str, Any] = {"role": "assistant", "content": None if answer.tool_calls else answer.content}
    if answer.tool_calls:
        message["tool_calls"] = answer.tool_calls
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


def chunk(head: dict[str, Any], delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk``; ``head`` holds its ``id``, ``created`` and ``model``."""
    return {
        **head,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }


def usage_chunk(head: dict[str, Any], usage: dict[str, int]) -> dict[str, Any]:
    """The closing chunk ``stream_options.include_usage`` asks for (no choices)."""
    return {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}


def sse(event: dict[str, Any]) -> str:
    """One server-sent event (OpenAI's stream ends with ``data: [DONE]``: :data:`DONE`)."""
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n"


DONE = "data: [DONE]\n\n"
