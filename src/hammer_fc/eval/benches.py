"""Benchmark specs -> cases: ``bfcl:<category>`` (or the ``bfcl:all`` / ``bfcl:non_live`` /
``bfcl:live`` groups, one bench per category) and paper benchmark files (scored by F1).

A subset (``--limit``) is drawn with ``random.Random`` seeded from the run's seed and the bench's
name, so the same seed picks the same cases in every run, whatever other benches run with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hammer_fc.errors import HammerError
from hammer_fc.formats import BFCL_SPEC_PREFIX, is_dataset_source, read_examples
from hammer_fc.formats.bfcl import bfcl_categories, load_bfcl
from hammer_fc.schema import Example


@dataclass
class Bench:
    """One benchmark's cases and how they are judged."""

    name: str
    """``bfcl:<category>`` or the file path as given."""
    kind: Literal["bfcl", "f1"]
    examples: list[Example]

    @property
    def category(self) -> str:
        """The BFCL category (``bfcl`` benches only)."""
        return self.name.removeprefix(BFCL_SPEC_PREFIX)


def split_specs(specs: str | list[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b,c"]`` -> ``["a", "b", "c"]`` (order kept, duplicates dropped)."""
    items = [specs] if isinstance(specs, str) else list(specs)
    out: list[str] = []
    for item in items:
        for spec in item.split(","):
            spec = spec.strip()
            if spec and spec not in out:
                out.append(spec)
    if not out:
        raise HammerError("no benchmark given", field="bench")
    return out


def bench_names(specs: str | list[str]) -> list[str]:
    """Every bench a spec list names, BFCL groups expanded to their categories."""
    names: list[str] = []
    for spec in split_specs(specs):
        if spec.startswith(BFCL_SPEC_PREFIX):
            expanded = [BFCL_SPEC_PREFIX + c for c in bfcl_categories(spec.removeprefix(BFCL_SPEC_PREFIX))]
        else:
            expanded = [spec]
        names.extend(name for name in expanded if name not in names)
    return names


def load_bench(name: str) -> Bench:
    """Read one bench (a name from :func:`bench_names`)."""
    if name.startswith(BFCL_SPEC_PREFIX):
        return Bench(name, "bfcl", load_bfcl(name.removeprefix(BFCL_SPEC_PREFIX)))
    # A benchmark's gold is scored as it is (a few Tool-Alpaca answers call functions their tool
    # list lacks): the training-data checks are not for it.
    if is_dataset_source(name):  # hf:ORG/NAME[:SPLIT], Parquet/Arrow, save_to_disk: rows in any format
        result = read_examples(name, check=False)
    else:
        path = Path(name)
        if not path.is_file():
            raise HammerError(f"no such benchmark file (or bfcl:<category> spec): {name}", field="bench")
        result = read_examples(path, "paper", check=False)
    for index, example in enumerate(result.examples):
        if example.calls is None:
            raise HammerError("no gold answers to score against", file=name, record=index, field="answers")
    return Bench(name, "f1", result.examples)


def load_benches(specs: str | list[str]) -> list[Bench]:
    return [load_bench(name) for name in bench_names(specs)]


def select_cases(bench: Bench, limit: int | None, seed: int) -> list[Example]:
    """All cases, or ``limit`` of them drawn reproducibly from ``seed`` (kept in bench order)."""
    if limit is None or limit >= len(bench.examples):
        return list(bench.examples)
    if limit < 1:
        raise HammerError(f"--limit must be at least 1, got {limit}", field="limit")
    rng = random.Random(f"{seed}:{bench.name}")
    picked = sorted(rng.sample(range(len(bench.examples)), limit))
    return [bench.examples[i] for i in picked]
