"""The masking of the authors' released ``train/data_processing.py``, as an option (``--masking released``).

Our masking (:mod:`hammer_fc.augment.masking`) is cleaner by design and stays the default; this
one reproduces what the released script does to a row (authors.md §1), so that a training set
like theirs can be rebuilt:

- a row is masked when a uniform draw exceeds ``1 - ratio`` (their ``random() > 1/3``: ratio 2/3);
  an unmasked row keeps its tools and answer exactly (duplicates, order);
- function names: tools deduplicated by name (first kept), each renamed with 5-15 symbols of
  the alphabet, the answer's calls renamed to match; of N tools with U distinct names,
  ``randint(0, N - U + 1)`` random copies are added back; the list is shuffled;
- parameter names: the same again per parameter (4-10 symbols), the order of the parameters
  kept and every answer's arguments put in its tool's parameter order (renamed keys go last);
  copies added back and the list shuffled as for the names;
- defaults: tools deduplicated (nothing added back). A default that is missing, ``None``, ``""``
  or a list is kept; any other is rewritten only if an answer to its tool passes a value whose
  ``str()`` equals the default's: a string becomes 5 random symbols, an int gains
  ``randint(1, 4)``, anything else (booleans too: ``True`` becomes ``1.x``) gains
  ``random()``. The new value replaces the ``default``, every ``str(old)`` substring of the
  parameter's description, and the answer arguments ``== old``; for each such argument the
  query too, substring-wise, as is and in its capitalised, lower- and upper-case forms.

The draws come from the ``random.Random`` passed in (seeded per example and epoch by the
caller), not from the global stream their script uses, so a row's masking does not depend on
the rows before it: same seed, same output.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from hammer_fc.augment.masking import (
    ALPHABET,
    FUNCTION_NAME_LENGTH,
    PARAM_NAME_LENGTH,
    STRING_VALUE_LENGTH,
    dedup_tools,
)
from hammer_fc.schema import MISSING, Example, Message, Tool, ToolCall

RELEASED_MASK_RATIO = 2 / 3
"""Their ``random.random() > 1/3``."""


def _name(rng: random.Random, lengths: tuple[int, int]) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(*lengths)))


def _copies_back(tools: list[Tool], before: int, rng: random.Random) -> list[Tool]:
    """``randint(0, N - U + 1)`` random copies of the deduplicated tools added back, shuffled."""
    extra = rng.randint(0, before - len(tools) + 1)
    out = tools + [rng.choice(tools) for _ in range(extra)] if tools else []
    rng.shuffle(out)
    return out


Renamed = tuple[list[Tool], list[ToolCall]]


def _rename_functions(tools: list[Tool], calls: list[ToolCall], rng: random.Random) -> Renamed:
    unique = dedup_tools(tools)
    names = {t.name: _name(rng, FUNCTION_NAME_LENGTH) for t in unique}
    renamed = [replace(t, name=names[t.name]) for t in unique]
    calls = [ToolCall(names.get(c.name, c.name), c.arguments) for c in calls]
    return _copies_back(renamed, len(tools), rng), calls


def _rename_params(tools: list[Tool], calls: list[ToolCall], rng: random.Random) -> Renamed:
    unique = dedup_tools(tools)
    renamed_tools = []
    maps: dict[str, dict[str, str]] = {}
    for tool in unique:
        names = {param.name: _name(rng, PARAM_NAME_LENGTH) for param in tool.params}
        maps[tool.name] = names
        renamed_tools.append(replace(tool, params=[replace(p, name=names[p.name]) for p in tool.params]))
    out_calls = []
    for call in calls:
        names = maps.get(call.name)
        if names is None or not isinstance(call.arguments, dict):
            out_calls.append(call)
            continue
        arguments = dict(call.arguments)
        for old, new in names.items():  # renamed keys go last, in the tool's parameter order
            if old in arguments:
                arguments[new] = arguments.pop(old)
        out_calls.append(ToolCall(call.name, arguments))
    return _copies_back(renamed_tools, len(tools), rng), out_calls


def _new_value(old: Any, rng: random.Random) -> Any:
    if isinstance(old, str):
        return "".join(rng.choice(ALPHABET) for _ in range(STRING_VALUE_LENGTH))
    if type(old) is int:
        return old + rng.randint(1, 4)
    return old + rng.random()  # booleans too: True + 0.6 == 1.6


def _replace_all(text: str, old: str, new: str) -> str:
    for form in (str, str.capitalize, str.lower, str.upper):
        text = text.replace(form(old), form(new))
    return text


def _in_query(message: Message, old: str, new: str) -> Message:
    if message.role != "user":
        return message
    return replace(message, content=_replace_all(message.content, old, new))


def _rewrite_defaults(
    tools: list[Tool], calls: list[ToolCall], messages: list[Message], rng: random.Random
) -> tuple[list[Tool], list[ToolCall], list[Message]]:
    tools = dedup_tools(tools)
    calls = list(calls)
    out_tools = []
    for tool in tools:
        params = []
        for param in tool.params:
            old = param.default
            if old is MISSING or old is None or old == "" or isinstance(old, list):
                params.append(param)
                continue
            if not isinstance(old, str | int | float):  # a dict default: nothing to add a number to
                params.append(param)
                continue
            mine = [i for i, c in enumerate(calls) if c.name == tool.name and param.name in c.arguments]
            if not any(str(calls[i].arguments[param.name]) == str(old) for i in mine):
                params.append(param)
                continue
            new = _new_value(old, rng)
            params.append(
                replace(param, default=new, description=param.description.replace(str(old), str(new)))
            )
            for i in mine:
                if calls[i].arguments[param.name] == old:
                    calls[i] = ToolCall(calls[i].name, {**calls[i].arguments, param.name: new})
                    messages = [
                        replace(m, content=_replace_all(m.content, str(old), str(new)))
                        if m.role == "user"
                        else m
                        for m in messages
                    ]
        out_tools.append(replace(tool, params=params))
    return out_tools, calls, messages


def released_mask(example: Example, rng: random.Random) -> Example:
    """``example`` masked the way the released script masks a row."""
    calls = list(example.calls or [])
    tools, calls = _rename_functions(example.tools, calls, rng)
    tools, calls = _rename_params(tools, calls, rng)
    tools, calls, messages = _rewrite_defaults(tools, calls, list(example.messages), rng)
    return Example(
        messages=messages,
        tools=tools,
        calls=None if example.calls is None else calls,
        id=example.id,
        meta=dict(example.meta),
    )


def released_view(
    example: Example, rng: random.Random, mask_ratio: float = RELEASED_MASK_RATIO
) -> tuple[Example, bool]:
    """One row as the released script writes it: masked when ``random() > 1 - mask_ratio``
    (their ``> 1/3``), else exactly as it is. Returns the row and whether it is masked."""
    if rng.random() > 1 - mask_ratio:
        return released_mask(example, rng), True
    return example, False


__all__ = ["RELEASED_MASK_RATIO", "released_mask", "released_view"]
