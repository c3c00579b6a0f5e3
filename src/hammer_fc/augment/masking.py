"""Function masking: make names uninformative so that a model must read the descriptions.

What a masked example looks like (method.md, "Function masking"):

* tools deduplicated by name (the first occurrence wins) and shuffled;
* every function name replaced by a random string of 5-15 characters and every parameter name
  by one of 4-10 characters, drawn from letters of both cases, digits, ``_`` and ``.`` (the
  reference script's alphabet and lengths), renamed consistently in the gold calls and in any
  earlier assistant tool calls of the conversation;
* a default value that a gold call actually passes is replaced by a random value of the same
  kind (string -> 5 random characters, int -> shifted by 1-4, float -> shifted by 0.1-1.0 and
  rounded to 2 decimals) in the parameter's ``default``, in its description, in the call and in
  the user turns, so the model has to copy the value from where it appears;
* descriptions, types and the meaning of the query stay as they are.

Decisions the reference script leaves open, made here on purpose:

* Only top-level parameter names are masked. Nested property names (an ``object`` parameter's
  ``properties``) describe the *shape of a value* the caller builds, and the reference masks
  xLAM's flat maps only; renaming them would also mean rewriting argument values.
* A default counts as "used" when a call passes a value equal to it *and of the same Python
  type* (the reference compares ``str()`` forms but then only rewrites equal values, which can
  leave the spec and the answer disagreeing). Booleans, ``None``, ``""``, lists, dicts and
  parameters with an ``enum`` are never rewritten: there is no random value of "the same kind"
  that keeps the spec truthful.
* Values are replaced in text only as whole tokens (``1`` rewrites neither ``10`` nor ``1.5``), in the
  value's own case and its capitalised, lower- and upper-case forms, like the reference.

Every random draw goes through the ``random.Random`` passed in, in a fixed order
(:func:`draw_mask`), so that a fast renderer can apply the same :class:`MaskPlan` to pre-rendered
tool templates and produce exactly what :func:`mask_example` produces.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import accumulate, permutations
from math import factorial
from typing import Any, NamedTuple

from hammer_fc.schema import MISSING, Example, Message, Param, Tool, ToolCall

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + "_." + string.digits
"""Characters of masked names and random string values (the reference script's alphabet)."""

FUNCTION_NAME_LENGTH = (5, 15)
PARAM_NAME_LENGTH = (4, 10)
STRING_VALUE_LENGTH = 5


class DefaultSwap(NamedTuple):
    """One used default value rewritten: parameter ``param`` of deduplicated tool ``tool``.
    (Named tuples, not dataclasses, here and in :class:`MaskPlan`: made for every masked example,
    they are several times cheaper to build.)"""

    tool: int
    param: int
    old: Any
    new: Any


class MaskPlan(NamedTuple):
    """Every random choice of one masking, independent of how the result is rendered.

    ``function_names[i]`` / ``param_names[i][j]`` are the new names of deduplicated tool ``i`` and
    its parameter ``j`` (``None`` when that kind of name is kept); ``order`` is the shuffled order
    of the deduplicated tools.
    """

    function_names: list[str] | None
    param_names: list[list[str]] | None
    defaults: list[DefaultSwap]
    order: list[int]


@dataclass
class Masked:
    """A masked example and the maps needed to translate an answer on it back."""

    example: Example
    function_map: dict[str, str] = field(default_factory=dict)
    """Original function name -> masked name."""
    param_map: dict[str, dict[str, str]] = field(default_factory=dict)
    """Original function name -> {original parameter name -> masked name}."""
    default_map: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    """Original function name -> {original parameter name -> (original default, masked default)}."""


# ALPHABET has exactly 64 characters: the low 6 bits of a random byte pick one uniformly.
_BYTE_TO_CHAR = bytes(ord(ALPHABET[b & 63]) for b in range(256))


def _text(rng: random.Random, k: int) -> str:
    """``k`` random :data:`ALPHABET` characters from a single ``getrandbits`` draw."""
    return rng.getrandbits(8 * k).to_bytes(k, "little").translate(_BYTE_TO_CHAR).decode("ascii")


TABLED = 6
"""Tool lists up to this long are ordered from a table of every permutation (720 at most)."""


@lru_cache(maxsize=TABLED + 1)
def _permutations(n: int) -> tuple[tuple[int, ...], ...]:
    return tuple(permutations(range(n)))


def permutation(n: int, draw: int) -> list[int]:
    """A uniformly drawn order of ``n`` items from ``draw``, 32 random bits, for ``n`` up to
    :data:`TABLED` (bias below ``n! / 2**32``): one table lookup, where ``random.shuffle``
    makes ``n`` Python-level draws, on every line of ``hammer data prepare``."""
    return list(_permutations(n)[draw % factorial(n)])


def _shuffled(n: int, rng: random.Random) -> list[int]:
    if n <= TABLED:
        return permutation(n, rng.getrandbits(32))
    order = list(range(n))
    rng.shuffle(order)
    return order


def _length_table(lengths: tuple[int, int]) -> bytes:
    """A byte -> name length table for :func:`_lengths`: uniform over ``lengths``, 0 for the
    last ``256 % span`` bytes (drawn again, so that no length is favoured)."""
    low, high = lengths
    span = high - low + 1
    usable = 256 - 256 % span
    return bytes(low + b % span if b < usable else 0 for b in range(256))


_FUNCTION_LENGTHS = _length_table(FUNCTION_NAME_LENGTH)
_PARAM_LENGTHS = _length_table(PARAM_NAME_LENGTH)


def _lengths(rng: random.Random, k: int, table: bytes) -> bytes:
    """``k`` name lengths from one ``getrandbits`` draw looked up in ``table`` (one C call where
    a ``random()`` per name cost a fifth of masking an example); a rejected byte is drawn again."""
    if not k:
        return b""
    sizes = rng.getrandbits(8 * k).to_bytes(k, "little").translate(table)
    if 0 not in sizes:
        return sizes
    fixed = bytearray(sizes)
    for i, size in enumerate(fixed):
        while not size:
            size = table[rng.getrandbits(8)]
        fixed[i] = size
    return bytes(fixed)


def _split(text: str, sizes: bytes) -> list[str]:
    ends = list(accumulate(sizes))
    return [text[end - size : end] for end, size in zip(ends, sizes, strict=True)]


def _unique(names: list[str], rng: random.Random, lengths: bytes) -> list[str]:
    """``names`` with any repeat redrawn (a name must identify one function or parameter), its
    length from the same table (:func:`_lengths`) as the first draw."""
    if len(set(names)) == len(names):
        return names
    taken: set[str] = set()
    out = []
    for name in names:
        while name in taken:
            name = _text(rng, _lengths(rng, 1, lengths)[0])
        taken.add(name)
        out.append(name)
    return out


def dedup_tools(tools: list[Tool]) -> list[Tool]:
    """Tools with repeated names dropped (the first occurrence wins): a name must identify a tool."""
    if len({tool.name for tool in tools}) == len(tools):
        return list(tools)
    seen: set[str] = set()
    out = []
    for tool in tools:
        if tool.name not in seen:
            seen.add(tool.name)
            out.append(tool)
    return out


_NUMBERS = (int, float)


def maskable_default(param: Param) -> bool:
    """Whether ``param``'s default can be replaced by a random value of the same kind."""
    value = param.default
    if param.enum is not None or isinstance(value, bool):
        return False
    return isinstance(value, _NUMBERS) or (isinstance(value, str) and value != "")


def _random_value(value: Any, rng: random.Random) -> Any:
    if isinstance(value, str):
        return _text(rng, STRING_VALUE_LENGTH)
    if isinstance(value, int):
        return value + 1 + int(rng.random() * 4)  # 1..4, as randint(1, 4) but one C call
    return round(value + rng.uniform(0.1, 1.0), 2)


def same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


class MaskShape(NamedTuple):
    """What a masking of given tools and calls draws, before any draw: fixed per example, so a
    writer that masks the same example in every epoch works it out once (:func:`mask_shape`)."""

    functions: bool
    counts: list[int] | None
    """Parameters per tool (``None`` when parameter names are kept)."""
    params: int
    """Parameter names drawn (the sum of ``counts``)."""
    used: list[tuple[int, int, Any]]
    """(tool, parameter, default) of every default a call passes and masking rewrites."""
    tools: int


def mask_shape(
    tools: list[Tool],
    calls: list[ToolCall] | None,
    *,
    functions: bool = True,
    params: bool = True,
    defaults: bool = True,
) -> MaskShape:
    """The shape of masking the (already deduplicated) ``tools`` (see :func:`draw_mask`)."""
    counts = [len(tool.params) for tool in tools] if params else None
    used = []
    called = {c.name for c in calls} if defaults and calls else ()
    for i, tool in enumerate(tools if called else ()):
        if tool.name not in called:
            continue
        for j, param in enumerate(tool.params):
            value = param.default
            if value is MISSING or not maskable_default(param):
                continue
            name = param.name
            for call in calls:  # type: ignore[union-attr]
                if (
                    call.name == tool.name
                    and name in call.arguments
                    and same_value(call.arguments[name], value)
                ):
                    used.append((i, j, value))
                    break
    return MaskShape(functions, counts, sum(counts or ()), used, len(tools))


def draw_plan(shape: MaskShape, rng: random.Random) -> MaskPlan:
    """Draw a masking of ``shape``, in the order :func:`draw_mask` documents."""
    n = shape.tools
    sizes = _lengths(rng, n if shape.functions else 0, _FUNCTION_LENGTHS)
    sizes += _lengths(rng, shape.params, _PARAM_LENGTHS)
    names = _split(_text(rng, sum(sizes)), sizes)
    repeats = len(set(names)) < len(names)  # else no group below can hold a repeat
    function_names = None
    if shape.functions:
        function_names = names[:n]
        if repeats:
            function_names = _unique(function_names, rng, _FUNCTION_LENGTHS)
    param_names = None
    if shape.counts is not None:
        param_names = []
        start = n if shape.functions else 0
        for count in shape.counts:
            stop = start + count
            mine = names[start:stop]
            param_names.append(_unique(mine, rng, _PARAM_LENGTHS) if repeats else mine)
            start = stop
    swaps = [DefaultSwap(i, j, value, _random_value(value, rng)) for i, j, value in shape.used]
    return MaskPlan(function_names, param_names, swaps, _shuffled(n, rng))


def draw_mask(
    tools: list[Tool],
    calls: list[ToolCall] | None,
    rng: random.Random,
    *,
    functions: bool = True,
    params: bool = True,
    defaults: bool = True,
) -> MaskPlan:
    """Draw every random choice for masking the (already deduplicated) ``tools``.

    The draw order is part of the contract (the fast renderer replays it): the lengths of every
    function name then every parameter name, their characters, redraws of repeated names, the
    used defaults, the shuffle.
    """
    shape = mask_shape(tools, calls, functions=functions, params=params, defaults=defaults)
    return draw_plan(shape, rng)


_CASES = (str, str.capitalize, str.lower, str.upper)


@lru_cache(maxsize=65536)
def _spellings(old: str) -> list[tuple[str, int]]:
    """``old`` in its four cases (each spelling once, with its case), longest first."""
    variants: dict[str, int] = {}
    for k, transform in enumerate(_CASES):
        variants.setdefault(transform(old), k)
    return sorted(variants.items(), key=lambda item: len(item[0]), reverse=True)


_DIGITS = "0123456789"


def _is_token(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands alone: no word character on either side, and not part
    of a decimal number ("1" in "1.5" or "2.1")."""
    if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return False
    if start >= 2 and text[start - 1] == "." and text[start - 2] in _DIGITS:
        return False
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return False
    return not (end + 1 < len(text) and text[end] == "." and text[end + 1] in _DIGITS)


def value_spans(text: str, old: Any) -> tuple[list[str], list[int]] | None:
    """``text`` cut around the whole-token occurrences of ``old`` (in its own, capitalised, lower
    and upper case): the pieces between them and the case of each occurrence (an index into the
    four case functions), or ``None`` when there is none. :func:`join_value` puts a new value in.

    A left-to-right scan with ``str.find`` (at each place the longest spelling that stands alone
    wins), rather than a regular expression: values are nearly all distinct, and compiling a
    pattern per value cost more than the rest of masking an example. Split from the joining so
    that a writer can cut a tool's description once and put in a fresh value per masking.
    """
    old_s = str(old)
    if not old_s or old_s.lower() not in text.lower():
        return None
    spellings = _spellings(old_s)
    pieces, cases, last, at = [], [], 0, 0
    while True:
        found = [i for i in (text.find(spelling, at) for spelling, _ in spellings) if i >= 0]
        if not found:
            break
        at = min(found)
        for spelling, case in spellings:
            end = at + len(spelling)
            if text.startswith(spelling, at) and _is_token(text, at, end):
                pieces.append(text[last:at])
                cases.append(case)
                last = at = end
                break
        else:
            at += 1
    if not cases:
        return None
    pieces.append(text[last:])
    return pieces, cases


def join_value(pieces: list[str], cases: list[int], new: Any) -> str:
    """The text :func:`value_spans` cut, with ``new`` in each occurrence's case."""
    new_s = str(new)
    out = [pieces[0]]
    for case, piece in zip(cases, pieces[1:], strict=True):
        out += (_CASES[case](new_s), piece)
    return "".join(out)


def replace_value_in_text(text: str, old: Any, new: Any) -> str:
    """Replace whole-token occurrences of ``old`` by ``new`` in its own, capitalised, lower and
    upper case (see :func:`value_spans`)."""
    spans = value_spans(text, old)
    return text if spans is None else join_value(*spans, new)


@dataclass(frozen=True, slots=True)
class NameMaps:
    """What a :class:`MaskPlan` does to names and values, keyed by the original names."""

    functions: dict[str, str]
    params: dict[str, dict[str, str]]
    defaults: dict[str, dict[str, tuple[Any, Any]]]


def name_maps(tools: list[Tool], plan: MaskPlan) -> NameMaps:
    """The original -> masked maps of ``plan`` applied to the deduplicated ``tools``."""
    functions = {}
    params = {}
    if plan.function_names is not None:
        functions = {tool.name: name for tool, name in zip(tools, plan.function_names, strict=True)}
    if plan.param_names is not None:
        for tool, names in zip(tools, plan.param_names, strict=True):
            if tool.params:
                params[tool.name] = {p.name: name for p, name in zip(tool.params, names, strict=True)}
    defaults: dict[str, dict[str, tuple[Any, Any]]] = {}
    for swap in plan.defaults:
        tool = tools[swap.tool]
        defaults.setdefault(tool.name, {})[tool.params[swap.param].name] = (swap.old, swap.new)
    return NameMaps(functions, params, defaults)


def mask_call(call: ToolCall, maps: NameMaps) -> ToolCall:
    """``call`` with its function, argument names and used defaults masked."""
    pmap = maps.params.get(call.name, {})
    dmap = maps.defaults.get(call.name, {})
    arguments = {}
    for key, value in call.arguments.items():
        if key in dmap and same_value(value, dmap[key][0]):
            value = dmap[key][1]
        arguments[pmap.get(key, key)] = value
    return ToolCall(maps.functions.get(call.name, call.name), arguments)


def mask_message(message: Message, maps: NameMaps, swaps: list[DefaultSwap]) -> Message:
    """Carry the masking into one conversation turn (values in user turns, names in call history)."""
    changes: dict[str, Any] = {}
    if message.role == "user" and swaps:
        content = message.content
        for swap in swaps:
            content = replace_value_in_text(content, swap.old, swap.new)
        if content != message.content:
            changes["content"] = content
    if message.tool_calls:
        changes["tool_calls"] = [mask_call(c, maps) for c in message.tool_calls]
    if message.role == "tool" and message.name in maps.functions:
        changes["name"] = maps.functions[message.name]
    return replace(message, **changes) if changes else message


def mask_messages(messages: list[Message], maps: NameMaps, plan: MaskPlan) -> list[Message]:
    """The conversation of a masked example (the same list when nothing in it changes)."""
    if not plan.defaults and not any(m.tool_calls or m.role == "tool" for m in messages):
        return messages
    return [mask_message(m, maps, plan.defaults) for m in messages]


def swap_default(param: Param, swap: DefaultSwap) -> Param:
    """``param`` with its default rewritten, in the spec and in the description."""
    return replace(
        param, default=swap.new, description=replace_value_in_text(param.description, swap.old, swap.new)
    )


def masked_tool(tool: Tool, index: int, plan: MaskPlan) -> Tool:
    """Deduplicated tool number ``index`` as ``plan`` masks it (shallow: unchanged parts shared)."""
    params = []
    for j, param in enumerate(tool.params):
        for swap in plan.defaults:
            if swap.tool == index and swap.param == j:
                param = swap_default(param, swap)
        if plan.param_names is not None:
            param = replace(param, name=plan.param_names[index][j])
        params.append(param)
    name = plan.function_names[index] if plan.function_names is not None else tool.name
    return replace(tool, name=name, params=params)


def apply_mask(example: Example, tools: list[Tool], plan: MaskPlan) -> Masked:
    """Build the masked example from the deduplicated ``tools`` and a drawn ``plan`` (no randomness)."""
    maps = name_maps(tools, plan)
    new_tools = [masked_tool(tools[i], i, plan) for i in plan.order]
    masked_example = Example(
        messages=mask_messages(example.messages, maps, plan),
        tools=new_tools,
        calls=None if example.calls is None else [mask_call(c, maps) for c in example.calls],
        id=example.id,
        meta=dict(example.meta),
    )
    return Masked(masked_example, maps.functions, maps.params, maps.defaults)


def mask_example(
    example: Example,
    rng: random.Random,
    *,
    functions: bool = True,
    params: bool = True,
    defaults: bool = True,
) -> Masked:
    """Mask ``example`` (see the module docstring); the input is not modified and not deep-copied."""
    tools = dedup_tools(example.tools)
    plan = draw_mask(tools, example.calls, rng, functions=functions, params=params, defaults=defaults)
    return apply_mask(example, tools, plan)


def unmask_calls(calls: list[ToolCall], masked: Masked) -> list[ToolCall]:
    """Translate calls made on ``masked.example`` back to the original names and default values.

    Names the masking did not produce (a hallucinated function or argument) are left as they are,
    so a checker still sees the mistake.
    """
    functions = {new: old for old, new in masked.function_map.items()}
    out = []
    for call in calls:
        original = functions.get(call.name, call.name)
        params = {new: old for old, new in masked.param_map.get(original, {}).items()}
        dmap = masked.default_map.get(original, {})
        arguments = {}
        for key, value in call.arguments.items():
            name = params.get(key, key)
            if name in dmap and same_value(value, dmap[name][1]):
                value = dmap[name][0]
            arguments[name] = value
        out.append(ToolCall(original, arguments))
    return out
