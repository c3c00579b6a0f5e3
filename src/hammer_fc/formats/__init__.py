"""Outside formats <-> :class:`~hammer_fc.schema.Example`: one module per format, and here the
three entry points every command uses: :func:`read_examples`, :func:`write_examples` and
:func:`detect_format`.

Formats: ``xlam``, ``openai``, ``bfcl`` and ``paper`` are read; ``xlam``, ``openai`` and
``alpaca`` are written. A path may also be a BFCL spec, ``bfcl:<category>`` or ``bfcl:<group>``
(``all``, ``live``, ``non_live``), read from the installed ``bfcl-eval`` package, or a Hugging
Face data set (``hf:ORG/NAME[:SPLIT]``, a Parquet/Arrow file, a ``save_to_disk`` folder; see
:mod:`hammer_fc.formats.hf`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.bfcl import iter_bfcl, read_bfcl
from hammer_fc.formats.hf import dataset_format, is_dataset_source, iter_dataset
from hammer_fc.formats.openai import read_openai, write_openai
from hammer_fc.formats.paper import read_paper
from hammer_fc.formats.records import first_record
from hammer_fc.formats.xlam import read_xlam, write_xlam
from hammer_fc.schema import Example

FORMATS = ("xlam", "openai", "bfcl", "paper", "alpaca")
READ_FORMATS = ("xlam", "openai", "bfcl", "paper")
WRITE_FORMATS = ("xlam", "openai", "alpaca")
BFCL_SPEC_PREFIX = "bfcl:"
MAX_ERRORS = 20
"""How many skipped records' errors a :class:`ReadResult` keeps (the count is always exact)."""

_READERS: dict[str, Callable[[Path], Iterator[Example | HammerError]]] = {
    "xlam": read_xlam,
    "openai": read_openai,
    "bfcl": read_bfcl,
    "paper": read_paper,
}


def _write_alpaca(examples: Iterable[Example], path: Path, template: str = "hammer") -> int:
    from hammer_fc.formats.alpaca import write_alpaca  # needs the prompts package

    return write_alpaca(examples, path, template)


_WRITERS: dict[str, Callable[[Iterable[Example], Path], int]] = {
    "xlam": write_xlam,
    "openai": write_openai,
    "alpaca": _write_alpaca,
}
TEMPLATED = ("alpaca",)
"""The written formats that hold rendered prompts (and so take a prompt template)."""


@dataclass
class ReadResult:
    """What a reader produced: the examples, and how many records it skipped and why."""

    examples: list[Example] = field(default_factory=list)
    skipped: int = 0
    errors: list[HammerError] = field(default_factory=list)
    """The first :data:`MAX_ERRORS` errors of the skipped records."""
    format: str = ""


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
        return iter_bfcl(str(path).removeprefix(BFCL_SPEC_PREFIX))
    if is_dataset_source(path):
        return iter_dataset(path, fmt)
    if fmt not in _READERS:
        raise HammerError(f"cannot read format {fmt!r} (readable: {', '.join(READ_FORMATS)})", field="format")
    return _READERS[fmt](Path(path))


def read_examples(path: str | Path, fmt: str | None = None, *, skip_invalid: bool = False) -> ReadResult:
    """Read every example of a file (or BFCL spec); ``fmt=None`` detects the format.

    A malformed record raises :class:`HammerError` naming the file, the 0-based record index and
    the field, unless ``skip_invalid``: then it is skipped, counted in ``skipped`` and its error
    kept in ``errors`` (the first few). Nothing is dropped silently.
    """
    fmt = fmt or detect_format(path)
    result = ReadResult(format=fmt)
    with gc_paused():
        for item in _items(path, fmt):
            if isinstance(item, HammerError):
                if not skip_invalid:
                    raise item
                result.skipped += 1
                if len(result.errors) < MAX_ERRORS:
                    result.errors.append(item)
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


def write_examples(
    examples: Iterable[Example], path: str | Path, fmt: str, *, template: str | None = None
) -> int:
    """Write examples in ``fmt`` (``xlam``, ``openai``, ``alpaca``); returns how many.
    ``template`` (alpaca only) is the prompt template of the rendered prompts."""
    if fmt not in _WRITERS:
        raise HammerError(
            f"cannot write format {fmt!r} (writable: {', '.join(WRITE_FORMATS)})", field="format"
        )
    if template is None:
        return _WRITERS[fmt](examples, Path(path))
    if fmt not in TEMPLATED:
        raise HammerError(f"--template applies to alpaca output only, not {fmt}", field="--template")
    return _write_alpaca(examples, Path(path), template)


def convert_file(
    src: str | Path,
    dst: str | Path,
    *,
    to_fmt: str,
    from_fmt: str | None = None,
    skip_invalid: bool = False,
    template: str | None = None,
) -> tuple[ReadResult, int]:
    """``hammer data convert``: read ``src`` (format detected unless given), write ``dst``.

    Returns what was read and how many examples were written. The output format (and the
    template) are checked before anything is read, so a typo costs nothing."""
    if to_fmt not in _WRITERS:
        raise HammerError(
            f"cannot write format {to_fmt!r} (writable: {', '.join(WRITE_FORMATS)})", field="--to"
        )
    if template is not None:
        from hammer_fc.prompts import get_template

        get_template(template)
        if to_fmt not in TEMPLATED:
            raise HammerError(f"--template applies to alpaca output only, not {to_fmt}", field="--template")
    if from_fmt is not None and from_fmt not in READ_FORMATS:
        raise HammerError(
            f"cannot read format {from_fmt!r} (readable: {', '.join(READ_FORMATS)})", field="--from"
        )
    result = read_examples(src, from_fmt, skip_invalid=skip_invalid)
    return result, write_examples(result.examples, dst, to_fmt, template=template)


__all__ = [
    "FORMATS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "ReadResult",
    "convert_file",
    "detect_format",
    "format_of_record",
    "is_dataset_source",
    "read_examples",
    "write_examples",
]
