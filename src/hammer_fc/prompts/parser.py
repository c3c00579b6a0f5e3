"""From model text to tool calls, forgiving about everything but the calls themselves.

Small models wrap the answer in fences (```` ```json ````), add a sentence before or after it,
answer with one object instead of a list, use OpenAI's ``{"function": {"arguments": "<json>"}}``
shape or ``{"tool_calls": [...]}``, or quote like Python (``'x'``, ``True``, ``None``). We look
for the first JSON value (fenced blocks first, then anywhere in the text) that reads as a list of
calls. Anything else is a :class:`ParseError`, returned rather than raised, so that evaluation and
serving can score or report it: no string makes :func:`parse_calls` raise.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

from hammer_fc.schema import ToolCall

_FENCE_OPEN = r"```[ \t]*[A-Za-z0-9_-]*[ \t]*\n?"
_FENCE = re.compile(_FENCE_OPEN + r"(.*?)(?:```|\Z)", re.DOTALL)
_LEADING_FENCE = re.compile(_FENCE_OPEN)
_OPEN = re.compile(r"[\[{]")
_OPENERS = {"[": "]", "{": "}"}
_PY_CONSTANTS = {"true": "True", "false": "False", "null": "None"}
_CALL_KEYS = ("name", "tool", "function", "arguments", "parameters", "args", "type", "id")
_MAX_STARTS = 64
"""How many ``[``/``{`` positions we try before giving up: bounds the work on long garbage."""
_DECODER = json.JSONDecoder()
_UNCLOSED = -1
""":func:`_span_end`'s answer for a bracket the text ends inside."""
_CUT = object()
"""What :func:`_values` yields last when the text ends inside an unfinished value."""


@dataclass(frozen=True)
class ParseError:
    """Why a model output could not be read as calls."""

    message: str

    def __str__(self) -> str:
        return self.message


class _NotCalls(ValueError):
    """A JSON value that is not a list of calls (the message says why)."""


def parse_calls(text: str) -> list[ToolCall] | ParseError:
    """Read the calls in a model's answer; ``[]`` means the model chose not to call."""
    if not isinstance(text, str):
        return ParseError(f"expected a string, got {type(text).__name__}")
    if not text.strip():
        return ParseError("empty output")
    first_error = ""
    for candidate, whole in _candidates(text):
        for value in _whole_value(candidate) if whole else _values(candidate):
            if value is _CUT:
                first_error = first_error or "the answer ends inside an unclosed bracket (cut short?)"
                break
            try:
                return _to_calls(value)
            except _NotCalls as error:
                first_error = first_error or str(error)
            except RecursionError:
                first_error = first_error or "value nested too deeply"
    return ParseError(first_error or "no JSON list of calls found")


def _candidates(text: str) -> list[tuple[str, bool]]:
    """Where to look, best first, and whether the place must hold exactly one value: an answer
    that is one fenced block as a whole (robust to fences inside its strings), each fenced block,
    then anywhere in the whole text. A fenced block cut short by a fence inside a string fails the
    exactness test instead of yielding a call from its middle."""
    if "```" not in text:
        return [(text, False)]
    candidates = []
    stripped = text.strip()
    if stripped.startswith("```"):
        body = stripped[_LEADING_FENCE.match(stripped).end() :]
        candidates.append((body[:-3] if body.endswith("```") else body, True))
    candidates.extend((m.group(1), True) for m in _FENCE.finditer(text))
    candidates.append((text, False))
    return candidates


def _whole_value(text: str) -> list[Any]:
    """The value ``text`` consists of (surrounding whitespace aside), or nothing."""
    text = text.strip()
    if not text or text[0] not in _OPENERS:
        return []
    value, end = _decode_at(text, 0)
    return [value] if end not in (None, _UNCLOSED) and not text[end:].strip() else []


def _values(text: str):
    """Yield each top-level JSON (or Python-literal) value found in ``text``, left to right.

    A bracket that is still open where the text ends makes everything after it a fragment of
    an unfinished value: an answer cut off by the token limit (``[{call}, {call}, {"na``) is not
    read as its first call, which BFCL's checker would not do either, so the scan stops there."""
    position, starts = 0, 0
    while starts < _MAX_STARTS:
        match = _OPEN.search(text, position)
        if match is None:
            return
        start = match.start()
        starts += 1
        value, end = _decode_at(text, start)
        if end == _UNCLOSED:
            yield _CUT
            return
        if end is None:
            position = start + 1
            continue
        yield value
        position = end


def _decode_at(text: str, start: int) -> tuple[Any, int | None]:
    """Decode the value opening at ``start``: strict JSON first, then a Python literal over the
    bracketed span (with JSON's ``true``/``false``/``null`` spelled the Python way)."""
    try:
        return _DECODER.raw_decode(text, start)
    except Exception:  # ValueError, RecursionError: any failure means "not strict JSON"
        pass
    end = _span_end(text, start)
    if end is None or end == _UNCLOSED:
        return None, end
    try:
        return ast.literal_eval(_pythonize(text[start:end])), end
    except Exception:  # ValueError, SyntaxError, TypeError, RecursionError, MemoryError ...
        return None, None


def _span_end(text: str, start: int) -> int | None:
    """Index just past the bracket that closes the one at ``start`` (quotes respected); None
    for a mismatched bracket, :data:`_UNCLOSED` when the text ends first."""
    stack: list[str] = []
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in _OPENERS:
            stack.append(_OPENERS[ch])
        elif ch in "]}":
            if not stack or stack.pop() != ch:
                return None
            if not stack:
                return i + 1
        i += 1
    return _UNCLOSED if stack else None


def _pythonize(span: str) -> str:
    """Spell bare ``true``/``false``/``null`` (outside strings) as Python constants."""
    if not any(word in span for word in _PY_CONSTANTS):
        return span
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(span):
        ch = span[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(span):
                out.append(span[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        elif ch.isalpha() or ch == "_":
            j = i
            while j < len(span) and (span[j].isalnum() or span[j] == "_"):
                j += 1
            word = span[i:j]
            out.append(_PY_CONSTANTS.get(word, word))
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _to_calls(value: Any) -> list[ToolCall]:
    """Normalise a decoded value to calls or raise :class:`_NotCalls`."""
    if isinstance(value, dict) and "tool_calls" in value:
        value = value["tool_calls"]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list | tuple):
        raise _NotCalls(f"expected a list of calls, got {type(value).__name__}")
    return [_to_call(item, i) for i, item in enumerate(value)]


def _to_call(item: Any, index: int) -> ToolCall:
    """One call: ``{"name", "arguments"}`` (or ``parameters``), OpenAI's ``{"function": {...}}``
    with JSON-string arguments, or BFCL's decoded ``{name: {arguments}}``."""
    if not isinstance(item, dict):
        raise _NotCalls(f"call {index}: expected an object, got {type(item).__name__}")
    if isinstance(item.get("function"), dict):
        item = item["function"]
    name = item.get("name", item.get("tool"))
    if name is None and len(item) == 1 and next(iter(item)) not in _CALL_KEYS:
        ((name, arguments),) = item.items()
        if not isinstance(arguments, dict):
            raise _NotCalls(f"call {index}: no 'name'")
    else:
        arguments = next((item[k] for k in ("arguments", "parameters", "args") if k in item), None)
    if not isinstance(name, str) or not name:
        raise _NotCalls(f"call {index}: 'name' must be a non-empty string")
    return ToolCall(name=name, arguments=_arguments(arguments, index))


def _arguments(arguments: Any, index: int) -> dict[str, Any]:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        decoded, end = _decode_at(arguments.strip(), 0)
        if end in (None, _UNCLOSED):
            raise _NotCalls(f"call {index}: 'arguments' is a string that is not a JSON object")
        arguments = decoded
    if not isinstance(arguments, dict):
        raise _NotCalls(f"call {index}: 'arguments' must be an object, got {type(arguments).__name__}")
    if not all(isinstance(k, str) for k in arguments):
        raise _NotCalls(f"call {index}: argument names must be strings")
    return {k: _plain(v) for k, v in arguments.items()}


def _plain(value: Any) -> Any:
    """Python-literal answers may hold tuples; anything not JSON-like is rejected."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _NotCalls("object keys must be strings")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise _NotCalls(f"argument value of type {type(value).__name__} is not JSON")
