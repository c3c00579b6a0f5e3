"""The paper's other benchmarks as the Hammer authors normalised them (API-Bank L1/L2,
Seal-Tools, Tool-Alpaca, Nexus Raven): one JSON list per benchmark of ``{"query", "tools",
"answers"}``, read with every quirk of formats.md §4 absorbed:

- ``query``: a string or a list of ``user``/``agent`` turns (``agent`` = assistant);
- ``tools``: a Python-literal string (single quotes, ``True``) -> ``ast.literal_eval`` (JSON and
  plain lists are accepted too); parameters are xLAM flat maps, or JSON-Schema objects;
- Seal-Tools answers ``{"tool", "parameters"}`` and a tool-level ``"required"`` list; Tool-Alpaca
  ``"required": true`` per parameter; ``return`` and other extra tool keys kept in ``Tool.extra``.

Example ids are the 0-based record index (what the F1 scorer keys predictions by). The file's
own tool objects and turn roles are kept in ``meta`` (:data:`SOURCE_TOOLS`, :data:`SOURCE_ROLES`)
for the authors' prompts, which show them exactly as written (``prompts/authors.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.records import (
    calls_from_list,
    examples_from_records,
    json_field,
    query_messages,
    require_keys,
    require_list,
)
from hammer_fc.schema import Example
from hammer_fc.schema.params import tool_from_xlam

SOURCE_TOOLS = "source_tools"
"""``meta`` key: ``[(Tool, the tool's dict as the file has it)]``."""
SOURCE_ROLES = "source_roles"
"""``meta`` key: the roles of a turn-list query as written (``agent`` and ``assistant`` differ there)."""


def example_from_paper(record: Any, index: int, path: Path) -> Example:
    """One benchmark case -> Example (``meta["bench"]`` = the file's stem)."""
    record = require_keys(record, "query", "tools")
    tools = json_field(record["tools"], "tools", literal=True)
    if isinstance(tools, dict):
        tools = [tools]
    tools = require_list(tools, "tools")
    answers = record.get("answers")
    objects = [tool_from_xlam(t, path=f"tools[{i}]") for i, t in enumerate(tools)]
    meta = {"source": "paper", "bench": path.stem, SOURCE_TOOLS: list(zip(objects, tools, strict=True))}
    if isinstance(record["query"], list):
        meta[SOURCE_ROLES] = [turn.get("role") for turn in record["query"]]
    return Example(
        messages=query_messages(record["query"]),
        tools=objects,
        calls=None if answers is None else calls_from_list(answers, "answers", literal=True),
        id=str(index),
        meta=meta,
    )


def read_paper(path: Path) -> Iterator[Example | HammerError]:
    return examples_from_records(path, example_from_paper)
