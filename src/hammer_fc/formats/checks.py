"""What a record must satisfy to be converted or trained on, beyond parsing: its gold calls name
tools of its own list with declared arguments, it has a gold answer where the command needs one,
and every parameter type is one we can map.

Readers stay lenient (evaluation scores a benchmark's gold as it is: a few Tool-Alpaca answers
call a function missing from their tool list); :func:`~hammer_fc.formats.read_examples` and the
fast reader of ``hammer data prepare`` apply :func:`check_example` to every example, so
``convert``, ``prepare`` and training all see the same problems, each an error with a ``kind``
that ``--skip-invalid`` counts by. Masking renames tools and parameters consistently in the tool
list and the answer: an answer naming something the list lacks keeps its old name and would
teach the model to call a function (or pass an argument) that does not exist. Two different
tools of one name are an error too: a call cannot say which it means (its arguments would be
checked against the first, and masking keeps only the first); exact copies are not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from hammer_fc.errors import (
    DUPLICATE_TOOL,
    MISSING_ANSWER,
    UNKNOWN_ARGUMENT,
    UNKNOWN_FUNCTION,
    UNKNOWN_TYPE,
    HammerError,
)
from hammer_fc.schema import Example, Param, Tool
from hammer_fc.schema.pytype import json_schema, parse_pytype, unknown_names

_SHOWN = 8
"""How many names an error lists."""


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _SHOWN else "")


def check_calls(
    example: Example,
    field: str = "answers",
    *,
    require_answer: bool = False,
    call_key: str = "",
    declared: dict[int, frozenset[str] | None] | None = None,
) -> None:
    """Raise a located-by-field :class:`HammerError` for the first gold call that names a
    function not in the tool list, or an argument the function does not declare (unless its
    schema says ``additionalProperties``); for ``calls=None`` when ``require_answer``. Call
    ``i`` is located as ``<field>[i]<call_key>.name`` (OpenAI's ``call_key`` is ``.function``).
    ``declared`` maps ``id(tool)`` to :func:`declared_names` for tools shared by many examples
    (``hammer data prepare`` runs this on every record)."""
    calls = example.calls
    if calls is None:
        if require_answer:
            raise HammerError("has no gold answer: nothing to train on", field=field, kind=MISSING_ANSWER)
        return
    tools = example.tools
    for i, call in enumerate(calls):
        name = call.name
        for tool in tools:
            if tool.name == name:
                break
        else:
            listing = _listing(list(dict.fromkeys(t.name for t in tools))) or "empty"
            raise HammerError(
                f"calls {name!r}, which is not in the tool list ({listing})",
                field=f"{field}[{i}]{call_key}.name",
                kind=UNKNOWN_FUNCTION,
            )
        names = declared_names(tool) if declared is None else declared[id(tool)]
        if names is None or names.issuperset(call.arguments):
            continue
        key = next(k for k in call.arguments if k not in names)
        takes = _listing(sorted(names)) or "none"
        raise HammerError(
            f"argument {key!r} is not a parameter of {name!r} (parameters: {takes})",
            field=f"{field}[{i}]{call_key}.arguments.{key}",
            kind=UNKNOWN_ARGUMENT,
        )


def declared_names(tool: Tool) -> frozenset[str] | None:
    """The tool's parameter names; ``None`` where its schema admits any other argument."""
    layout = tool.layout
    if layout is not None and layout.extra.get("additionalProperties") not in (None, False):
        return None
    return frozenset(p.name for p in tool.params)


def unknown_type(tool: Tool) -> tuple[str, str] | None:
    """``(parameter path, type)`` of the first parameter of an xLAM-style tool (a flat map of
    Python-ish type strings) whose type names something we cannot map (``foo``, ``List[foo]``,
    ``int or str``); ``None`` if there is none. Tools read from JSON Schema or BFCL are checked
    as they are read (their type names are a closed set)."""
    if tool.layout is not None:
        return None
    for param in tool.params:
        found = _unknown_in(param, param.name)
        if found is not None:
            return found
    return None


def _unknown_in(param: Param, path: str) -> tuple[str, str] | None:
    if param.source_type is not None and _unknown(param.source_type):
        return path, param.source_type
    if param.items is not None and (found := _unknown_in(param.items, f"{path}.items")) is not None:
        return found
    for prop in param.properties:
        if (found := _unknown_in(prop, f"{path}.properties.{prop.name}")) is not None:
            return found
    return None


@lru_cache(maxsize=4096)
def _unknown(text: str) -> bool:
    """Type strings repeat across a data set: look at each once."""
    return bool(unknown_names(parse_pytype(text).node))


def jsonschema_losses(tool: Tool) -> list[tuple[str, str, tuple[str, ...]]]:
    """What writing ``tool`` as JSON Schema (the OpenAI format) loses: ``(parameter path, type,
    the parts JSON Schema cannot say)`` for each parameter whose Python-ish type it cannot hold
    whole (``Callable[[float], float]``, ``Dict[int, str]``'s keys); see
    :func:`~hammer_fc.schema.pytype.json_schema`."""
    losses: list[tuple[str, str, tuple[str, ...]]] = []
    for param in tool.params:
        _losses_in(param, param.name, losses)
    return losses


def _losses_in(param: Param, path: str, out: list[tuple[str, str, tuple[str, ...]]]) -> None:
    if param.source_type is not None and (lost := _lost(param.source_type)):
        out.append((path, param.source_type, lost))
    if param.items is not None:
        _losses_in(param.items, f"{path}.items", out)
    for prop in param.properties:
        _losses_in(prop, f"{path}.properties.{prop.name}", out)


@lru_cache(maxsize=4096)
def _lost(text: str) -> tuple[str, ...]:
    return tuple(json_schema(parse_pytype(text).node)[1])


def check_types(tools: list[Tool], field: str = "tools") -> None:
    """Raise a :class:`HammerError` (kind :data:`UNKNOWN_TYPE`) for the first unknown type."""
    for i, tool in enumerate(tools):
        found = unknown_type(tool)
        if found is not None:
            raise unknown_type_error(found, f"{field}[{i}]")


def unknown_type_error(found: tuple[str, str], tool_field: str) -> HammerError:
    path, text = found
    names = ", ".join(repr(n) for n in unknown_names(parse_pytype(text).node))
    return HammerError(
        f"unknown parameter type {text!r} ({names} maps to no JSON type)",
        field=f"{tool_field}.parameters.{path}.type",
        kind=UNKNOWN_TYPE,
    )


def duplicate_tool(tools: list[Tool], *, copies: bool = True) -> tuple[int, int] | None:
    """``(first, second)``: the indices of the first two tools of one name that differ (with
    ``copies=False``, of any two tools of one name); ``None`` if there are none."""
    seen: dict[str, int] = {}
    for i, tool in enumerate(tools):
        first = seen.setdefault(tool.name, i)
        if first != i and not (copies and tools[first] == tool):
            return first, i
    return None


def check_unique_names(
    tools: list[Tool], where: Callable[[int], str] = "tools[{}]".format, *, copies: bool = True
) -> None:
    """Raise a :class:`HammerError` (kind :data:`DUPLICATE_TOOL`) at the second of two different
    tools of one name. Exact copies are fine with ``copies`` (data sets): a call means the same
    whichever it names, xLAM has them (a row lists ``measure_distance`` three times) and the
    authors' masking adds some on purpose. ``where(i)`` spells tool ``i``'s field (the server's
    ``tools[i].function``)."""
    found = duplicate_tool(tools, copies=copies)
    if found is not None:
        first, second = found
        different = " different" if copies else ""
        raise HammerError(
            f"two{different} tools are named {tools[second].name!r} ({where(first)} and {where(second)}): "
            "a call could not say which one it means",
            field=f"{where(second)}.name",
            kind=DUPLICATE_TOOL,
        )


def check_example(
    example: Example, calls_field: str = "answers", *, require_answer: bool = False, call_key: str = ""
) -> None:
    """Every check of this module (see the module doc); raises the first problem found."""
    check_unique_names(example.tools)
    check_types(example.tools)
    check_calls(example, calls_field, require_answer=require_answer, call_key=call_key)
