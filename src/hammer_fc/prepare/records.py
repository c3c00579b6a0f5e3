"""The records a training set holds, written and read back here only.

* ``prompt-completion`` JSON Lines (``hammer data prepare``'s default, what ``hammer train``
  reads): ``{"prompt", "completion", "masked", "irrelevant"}``, the prompt rendered (not wrapped
  in a chat template: the trainer wraps it as the backends do);
* LLaMA-Factory alpaca (what the Hammer authors trained with): ``{"instruction": <prompt>,
  "input": "", "output": <answer>}``, a JSON list or JSON Lines. Write-only: the prompt and answer
  come from a template of :mod:`hammer_fc.prompts` (``authors-*`` write the authors' own files),
  so this file holds no prompt text of its own.

:func:`build_record` is the one place a record's layout is spelled; the fast writer
(:mod:`.render`) takes its byte frame from :func:`record_frame`, built from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from hammer_fc.errors import HammerError
from hammer_fc.formats.records import write_records
from hammer_fc.prompts import get_template
from hammer_fc.schema import Example

OutputFormat = Literal["prompt-completion", "alpaca"]
OUTPUT_FORMATS: tuple[str, ...] = ("prompt-completion", "alpaca")


def build_record(
    fmt: OutputFormat, prompt: str, completion: str, *, masked: bool = False, irrelevant: bool = False
) -> dict[str, Any]:
    """One training record of ``fmt`` (``masked``/``irrelevant``: prompt-completion only)."""
    if fmt == "alpaca":
        return {"instruction": prompt, "input": "", "output": completion}
    return {"prompt": prompt, "completion": completion, "masked": masked, "irrelevant": irrelevant}


def record(
    example: Example, masked: bool, fmt: OutputFormat = "prompt-completion", template: str = "hammer"
) -> dict[str, Any]:
    """``example``'s record, rendered with the prompt template ``template``."""
    chosen = get_template(template)
    prompt, completion = chosen.prompt(example), chosen.completion(example.calls or [])
    return build_record(fmt, prompt, completion, masked=masked, irrelevant=example.calls == [])


def record_frame(fmt: OutputFormat, masked: bool, irrelevant: bool) -> tuple[bytes, bytes, bytes]:
    """The bytes of a record's JSON line around its prompt and its completion (both escaped JSON
    string contents): ``head + prompt + between + completion + end`` is the line."""
    line = orjson.dumps(build_record(fmt, "\0P", "\0C", masked=masked, irrelevant=irrelevant)) + b"\n"
    head, rest = line.split(b"\\u0000P")
    between, end = rest.split(b"\\u0000C")
    return head, between, end


def alpaca_records(examples: Iterable[Example], template: str = "hammer") -> Iterator[dict[str, Any]]:
    """An alpaca record per example; one without a gold answer (``calls=None``) is an error."""
    chosen = get_template(template)
    for index, example in enumerate(examples):
        if example.calls is None:
            raise HammerError(
                "has no gold answer (calls=None); an alpaca record needs one", record=example.id or index
            )
        yield build_record("alpaca", chosen.prompt(example), chosen.completion(example.calls))


def write_alpaca(examples: Iterable[Example], path: Path, template: str = "hammer") -> int:
    """A JSON list (JSON Lines for a ``.jsonl`` path): LLaMA-Factory reads both."""
    return write_records(alpaca_records(examples, template), path, jsonl=path.suffix.lower() == ".jsonl")


@dataclass(frozen=True)
class Prepared:
    """A prompt-completion record read back: already rendered, used as is."""

    prompt: str
    completion: str


def read_prepared(path: Path) -> list[Prepared] | None:
    """The records of a prompt-completion JSONL, or ``None`` when ``path`` is not one."""
    if path.suffix != ".jsonl" or not path.is_file():
        return None
    with path.open("rb") as handle:
        first = handle.readline()
        try:
            head = orjson.loads(first)
        except orjson.JSONDecodeError:
            return None
        if not (isinstance(head, dict) and "prompt" in head and "completion" in head):
            return None
        items = []
        for index, line in enumerate([first, *handle]):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
                items.append(Prepared(str(rec["prompt"]), str(rec["completion"])))
            except (orjson.JSONDecodeError, KeyError, TypeError) as err:
                raise HammerError(f"not a prepared record: {err}", file=str(path), record=index) from err
    return items
