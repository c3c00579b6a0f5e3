"""Hypothesis strategies for xLAM-shaped data sets (shared by the masking, irrelevance and prepare
tests): tools drawn from a pool (so tools repeat across records and within one), parameters with
and without defaults, gold calls that sometimes pass a default, queries that mention the values,
conversations with earlier tool calls, and text with the characters that break naive escaping
(quotes, backslashes, ``%``, newlines, NUL, non-ASCII)."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from hammer_fc.formats.xlam import example_from_xlam
from hammer_fc.schema import Example

NAMES = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=10)
TEXT = st.one_of(
    st.text(string.ascii_letters + " .,'", max_size=30),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20),
    st.sampled_from(['say "hi" \\ 100%', "line\nbreak\ttab", "nul\x00byte", "Zürich, Kraków ✓", "%s %d"]),
)
TYPES = ("str", "int", "float", "bool", "List[str]")


def value_of(kind: str) -> st.SearchStrategy[Any]:
    return {
        "str": st.one_of(NAMES, TEXT),
        "int": st.integers(-1000, 10**6),
        "float": st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        "bool": st.booleans(),
        "List[str]": st.lists(NAMES, max_size=3),
    }[kind]


@st.composite
def xlam_tool(draw: st.DrawFn, name: str) -> dict[str, Any]:
    parameters = {}
    for pname in draw(st.lists(NAMES, max_size=5, unique=True)):
        kind = draw(st.sampled_from(TYPES))
        spec: dict[str, Any] = {"description": draw(TEXT), "type": kind}
        if draw(st.booleans()):
            default = draw(value_of(kind))
            spec["type"] = f"{kind}, optional"
            spec["default"] = default
            if draw(st.booleans()):
                spec["description"] += f" Defaults to {default}."
        parameters[pname] = spec
    return {"name": name, "description": draw(TEXT), "parameters": parameters}


@st.composite
def xlam_record(draw: st.DrawFn, pool: list[dict[str, Any]], index: int) -> dict[str, Any]:
    tools = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))  # repeats: dedup must act
    calls = []
    if draw(st.integers(0, 5)) > 0:  # else an irrelevance record: answers "[]"
        for tool in draw(st.lists(st.sampled_from(tools), min_size=1, max_size=3)):
            arguments = {}
            for pname, spec in tool["parameters"].items():
                if "default" in spec and draw(st.booleans()):
                    arguments[pname] = spec["default"]  # passes the default: masking rewrites it
                elif draw(st.booleans()):
                    arguments[pname] = draw(value_of(spec["type"].split(",")[0]))
            calls.append({"name": tool["name"], "arguments": arguments})
    mentioned = " ".join(str(v) for c in calls for v in c["arguments"].values())
    query: Any = f"{draw(TEXT)} {mentioned}"
    if calls and draw(st.integers(0, 4)) == 0:  # a conversation with an earlier call to mask
        query = [
            {"role": "user", "content": draw(TEXT)},
            {"role": "assistant", "content": "", "tool_calls": [calls[0]]},
            {"role": "tool", "content": draw(TEXT), "name": calls[0]["name"]},
            {"role": "user", "content": query},
        ]
    record = {"id": index, "query": query, "tools": json.dumps(tools), "answers": json.dumps(calls)}
    if draw(st.integers(0, 9)) == 0:
        del record["answers"]  # no gold answer (left out of training sets)
    return record


@st.composite
def xlam_dataset(draw: st.DrawFn, min_size: int = 1, max_size: int = 8) -> list[dict[str, Any]]:
    """xLAM records (``tools``/``answers`` as JSON strings, like the release)."""
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    pool = [draw(xlam_tool(name)) for name in names]
    n = draw(st.integers(min_size, max_size))
    return [draw(xlam_record(pool, i)) for i in range(n)]


def to_examples(records: list[dict[str, Any]]) -> list[Example]:
    """The records through the xLAM reader's own per-record conversion."""
    return [example_from_xlam(r, i, Path("generated.json")) for i, r in enumerate(records)]


LAYOUTS = ("compact", "indent", "tabs", "jsonl")
"""How a data set file is laid out: one JSON line, an indented JSON list (as xLAM's release), a
tab-indented one, JSON Lines."""


def write_dataset(records: list[dict[str, Any]], path: Path, layout: str = "compact") -> Path:
    if layout == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    else:
        indent = {"compact": None, "indent": 4, "tabs": "\t"}[layout]
        text = json.dumps(records, ensure_ascii=False, indent=indent)
    path.write_text(text, encoding="utf-8")
    return path
