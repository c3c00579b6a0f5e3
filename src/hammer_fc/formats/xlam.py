"""xLAM records (xlam-function-calling-60k and its irrelevance add-on): a JSON list or JSONL of
``{"id", "query", "answers", "tools"}`` where ``tools`` and ``answers`` are JSON *strings*.

``answers: "[]"`` is an irrelevance example (the right answer is no call); a record without
``answers`` has no gold answer (``calls=None``). ``query`` is one user turn; a conversation that
is more than that is written (and read back) as a list of ``{"role", "content"}`` turns, as the
paper's benchmark files do, rather than flattened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
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
    turn_from_message,
    write_records,
)
from hammer_fc.schema import Example, Tool
from hammer_fc.schema.params import tool_from_xlam, tool_to_xlam

ToolReader = Callable[..., Tool]
"""``(tool dict, *, path) -> Tool``: :func:`~hammer_fc.schema.params.tool_from_xlam`, or one
that shares a ``Tool`` per distinct tool (``hammer data prepare``)."""


def example_from_xlam(record: Any, index: int, path: Path, tool_from: ToolReader = tool_from_xlam) -> Example:
    """One xLAM record -> Example (id from the record, else the 0-based index); each tool read
    with ``tool_from``."""
    record = require_keys(record, "query", "tools")
    tools = require_list(json_field(record["tools"], "tools"), "tools")
    answers = record.get("answers")
    record_id = record.get("id")
    return Example(
        messages=query_messages(record["query"]),
        tools=[tool_from(t, path=f"tools[{i}]") for i, t in enumerate(tools)],
        calls=None if answers is None else calls_from_list(answers, "answers"),
        id=str(index) if record_id is None else str(record_id),
        meta={"source": "xlam"},
    )


def read_xlam(path: Path) -> Iterator[Example | HammerError]:
    return examples_from_records(path, example_from_xlam)


def _record_id(example_id: str, index: int) -> int | str:
    """xLAM ids are integers: keep an integer-looking id an integer, any other id as it is."""
    if not example_id:
        return index
    return int(example_id) if example_id.isdigit() and str(int(example_id)) == example_id else example_id


def xlam_record(example: Example, index: int) -> dict[str, Any]:
    """One Example -> xLAM record; ``tools``/``answers`` as ``json.dumps`` strings like the data set."""
    messages = example.messages
    plain = len(messages) == 1 and messages[0].role == "user" and not messages[0].tool_calls
    record: dict[str, Any] = {
        "id": _record_id(example.id, index),
        "query": messages[0].content if plain else [turn_from_message(m) for m in messages],
    }
    if example.calls is not None:
        record["answers"] = json.dumps([c.to_dict() for c in example.calls])
    record["tools"] = json.dumps([tool_to_xlam(t) for t in example.tools])
    return record


def write_xlam(examples: Iterable[Example], path: Path) -> int:
    """A JSON list (``.json``) or JSON Lines (``.jsonl``), by the file's extension."""
    records = (xlam_record(e, i) for i, e in enumerate(examples))
    return write_records(records, path, jsonl=path.suffix.lower() == ".jsonl")
