"""LLaMA-Factory alpaca JSON (what the Hammer authors trained with): one record per example,
``{"instruction": <Hammer training prompt>, "input": "", "output": <fenced JSON answer>}``.

Write-only: the prompt and answer come from :mod:`hammer_fc.prompts.training`, so this file holds
no prompt text of its own. An example without a gold answer (``calls=None``) cannot be a
training record and is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.records import write_records
from hammer_fc.schema import Example


def alpaca_records(examples: Iterable[Example]) -> Iterator[dict[str, Any]]:
    from hammer_fc.prompts.training import render_completion, render_prompt

    for index, example in enumerate(examples):
        if example.calls is None:
            raise HammerError(
                "has no gold answer (calls=None); an alpaca record needs one", record=example.id or index
            )
        yield {"instruction": render_prompt(example), "input": "", "output": render_completion(example.calls)}


def write_alpaca(examples: Iterable[Example], path: Path) -> int:
    """A JSON list (JSON Lines for a ``.jsonl`` path): LLaMA-Factory reads both."""
    return write_records(alpaca_records(examples), path, jsonl=path.suffix.lower() == ".jsonl")
