"""LLaMA-Factory alpaca JSON (what the Hammer authors trained with): one record per example,
``{"instruction": <Hammer training prompt>, "input": "", "output": <fenced JSON answer>}``.

Write-only: the prompt and answer come from a template of :mod:`hammer_fc.prompts` (``hammer`` by
default; ``authors-sft`` / ``authors-1.0`` / ``authors-2.1`` write the authors' own files), so
this file holds no prompt text of its own. An example without a gold answer (``calls=None``) cannot be a
training record and is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.records import write_records
from hammer_fc.schema import Example


def alpaca_records(examples: Iterable[Example], template: str = "hammer") -> Iterator[dict[str, Any]]:
    from hammer_fc.prompts import get_template

    chosen = get_template(template)
    for index, example in enumerate(examples):
        if example.calls is None:
            raise HammerError(
                "has no gold answer (calls=None); an alpaca record needs one", record=example.id or index
            )
        yield {"instruction": chosen.prompt(example), "input": "", "output": chosen.completion(example.calls)}


def write_alpaca(examples: Iterable[Example], path: Path, template: str = "hammer") -> int:
    """A JSON list (JSON Lines for a ``.jsonl`` path): LLaMA-Factory reads both."""
    return write_records(alpaca_records(examples, template), path, jsonl=path.suffix.lower() == ".jsonl")
