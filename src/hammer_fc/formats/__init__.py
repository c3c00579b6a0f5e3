"""Outside formats <-> :class:`~hammer_fc.schema.Example`: one module per format, and here the
three entry points every command uses: :func:`read_examples`, :func:`write_examples` and
:func:`detect_format`.

Formats: ``xlam``, ``openai``, ``bfcl`` and ``paper`` are read; ``xlam`` and ``openai`` are
written (training sets, alpaca included, by :mod:`hammer_fc.prepare`; an alpaca file is
recognised here only to say that it cannot be read back). A path may also be a BFCL spec,
``bfcl:<category>`` or ``bfcl:<group>``
(``all``, ``live``, ``non_live``), read from the installed ``bfcl-eval`` package, or a Hugging
Face data set (``hf:ORG/NAME[:SPLIT]``, a Parquet/Arrow file, a ``save_to_disk`` folder; see
:mod:`hammer_fc.formats.hf`).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hammer_fc.errors import MALFORMED, HammerError
from hammer_fc.formats.bfcl import bfcl_file, iter_bfcl, read_bfcl
from hammer_fc.formats.bfcl_multi_turn import is_multi_turn_spec, iter_multi_turn
from hammer_fc.formats.checks import check_example
from hammer_fc.formats.hf import dataset_format, is_dataset_source, iter_dataset
from hammer_fc.formats.openai import read_openai, write_openai
from hammer_fc.formats.paper import read_paper
from hammer_fc.formats.records import first_record
from hammer_fc.formats.xlam import read_xlam, write_xlam
from hammer_fc.schema import Example

FORMATS = ("xlam", "openai", "bfcl", "paper", "alpaca")
READ_FORMATS = ("xlam", "openai", "bfcl", "paper")
WRITE_FORMATS = ("xlam", "openai")
BFCL_SPEC_PREFIX = "bfcl:"
MAX_ERRORS = 20
"""How many skipped records' errors a :class:`ReadResult` keeps (the count is always exact)."""

_READERS: dict[str, Callable[[Path], Iterator[Example | HammerError]]] = {
    "xlam": read_xlam,
    "openai": read_openai,
    "bfcl": read_bfcl,
    "paper": read_paper,
}


_WRITERS: dict[str, Callable[[Iterable[Example], Path], int]] = {
    "xlam": write_xlam,
    "openai": write_openai,
}


@dataclass
class ReadResult:
    """What a reader produced: the examples, and how many records it skipped and why."""

    examples: list[Example] = field(default_factory=list)
    skipped: int = 0
    errors: list[HammerError] = field(default_factory=list)
    """The first :data:`MAX_ERRORS` errors of the skipped records."""
    format: str = ""
    skipped_kinds: Counter[str] = field(default_factory=Counter)
    """Skipped records by kind of problem (``malformed``, ``unknown function`` ...)."""

    def skip(self, error: HammerError) -> None:
        """Count a skipped record (and keep its error while there are few)."""
        self.skipped += 1
        self.skipped_kinds[error.kind or MALFORMED] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


def describe_kinds(kinds: Counter[str]) -> str:
    """``3 malformed, 1 unknown function``: skipped records by kind, most frequent first."""
    return ", ".join(f"{n:,} {kind}" for kind, n in kinds.most_common())


CALLS_FIELD: dict[str, Callable[[Example], tuple[str, str]]] = {
    "xlam": lambda _: ("answers", ""),
    "paper": lambda _: ("answers", ""),
    "bfcl": lambda _: ("ground_truth", ""),
    "openai": lambda example: (
        f"messages[{len(example.messages)}].tool_calls",
        ".function",
    ),  # the final turn
}
"""Where each format keeps the gold calls (and a call's name and arguments), for the field of a
check's error."""


def format_of_record(record: Any, *, file: str | None = None) -> str:
    """Which format a record is in, from its keys (see :func:`detect_format`)."""
    if not isinstance(record, dict):
        raise HammerError(
            f"cannot detect the format: the first record is a {type(record).__name__}", file=file
        )
    if "question" in record and "function" in record:
        return "bfcl"
    if "messages" in record:
        return "openai"
    if "query" in record and "tools" in record:
        # xLAM's signature: answers as a JSON string (or, with no answers, tools as JSON text);
        # the paper's files have answer lists and Python-literal tool strings.
        answers, tools = record.get("answers"), record["tools"]
        if isinstance(answers, str) or (
            answers is None and isinstance(tools, str) and tools.lstrip()[:2] != "[{'"
        ):
            return "xlam"
        return "paper"
    if "prompt" in record and "completion" in record:
        raise HammerError(
            "a prepared training set (prompt/completion) cannot be read back as examples", file=file
        )
    if "instruction" in record and "output" in record:
        raise HammerError(
            "an alpaca training set is write-only: it cannot be read back as examples", file=file
        )
    keys = ", ".join(sorted(map(str, record))[:8])
    raise HammerError(f"cannot detect the format from a record with keys: {keys}; pass --from", file=file)


def detect_format(path: str | Path) -> str:
    """The format of a file, from its first record's shape (a BFCL spec is ``bfcl``)."""
    if str(path).startswith(BFCL_SPEC_PREFIX):
        return "bfcl"
    if is_dataset_source(path):
        return dataset_format(path)
    return format_of_record(first_record(Path(path)), file=str(path))


def _items(path: str | Path, fmt: str) -> Iterator[Example | HammerError]:
    if str(path).startswith(BFCL_SPEC_PREFIX):
        if fmt != "bfcl":
            raise HammerError(f"a BFCL spec is read as bfcl, not {fmt}", file=str(path))
        spec = str(path).removeprefix(BFCL_SPEC_PREFIX)
        return iter_multi_turn(spec) if is_multi_turn_spec(spec) else iter_bfcl(spec)
    if is_dataset_source(path):
        return iter_dataset(path, fmt)
    if fmt not in _READERS:
        raise HammerError(f"cannot read format {fmt!r} (readable: {', '.join(READ_FORMATS)})", field="format")
    return _READERS[fmt](Path(path))


def read_examples(
    path: str | Path,
    fmt: str | None = None,
    *,
    skip_invalid: bool = False,
    check: bool | None = None,
    require_answers: bool = False,
) -> ReadResult:
    """Read every example of a file (or BFCL spec); ``fmt=None`` detects the format.

    A malformed record raises :class:`HammerError` naming the file, the 0-based record index and
    the field, unless ``skip_invalid``: then it is skipped, counted in ``skipped`` (by kind in
    ``skipped_kinds``) and its error kept in ``errors`` (the first few). Nothing is dropped
    silently. ``check`` applies :func:`~hammer_fc.formats.checks.check_example` (answers naming
    unknown functions or arguments, unknown parameter types; with ``require_answers``, a record
    without a gold answer). By default it is on for every format but ``paper``: the paper's
    benchmark files are test sets whose gold is scored (and converted, e.g. into the authors' test
    prompts) as it is, and six Tool-Alpaca answers call functions their tool list lacks. Training
    (``prepare``, ``train``) asks for the checks explicitly.
    """
    fmt = fmt or detect_format(path)
    if check is None:
        check = fmt != "paper"
    result = ReadResult(format=fmt)
    spec = str(path).startswith(BFCL_SPEC_PREFIX)
    with gc_paused():
        for position, item in enumerate(_items(path, fmt)):
            if check and not isinstance(item, HammerError):
                try:
                    field, call_key = CALLS_FIELD[fmt](item)
                    check_example(item, field, require_answer=require_answers, call_key=call_key)
                except HammerError as err:
                    # File readers yield one item per record, in order; a BFCL spec spans files.
                    if spec:
                        item = err.located(file=str(bfcl_file(item.meta["category"])), record=item.id)
                    else:
                        item = err.located(file=str(path), record=position)
            if isinstance(item, HammerError):
                if not skip_invalid:
                    raise item
                result.skip(item)
            else:
                result.examples.append(item)
    return result


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector. Reading builds millions of small acyclic objects (parsed
    records, examples); the collector would walk the growing heap over and over (two thirds of
    the time on 60k xLAM records) and find nothing: the data are trees. Forked workers inherit
    the pause. Usable as a decorator."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write_examples(examples: Iterable[Example], path: str | Path, fmt: str) -> int:
    """Write examples in ``fmt`` (``xlam``, ``openai``); returns how many. A training set
    (alpaca, prompt-completion) is written by :mod:`hammer_fc.prepare.records`."""
    if fmt not in _WRITERS:
        raise HammerError(
            f"cannot write format {fmt!r} (writable: {', '.join(WRITE_FORMATS)})", field="format"
        )
    return _WRITERS[fmt](examples, Path(path))


__all__ = [
    "FORMATS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "ReadResult",
    "describe_kinds",
    "detect_format",
    "format_of_record",
    "is_dataset_source",
    "read_examples",
    "write_examples",
]
