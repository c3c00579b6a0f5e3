"""``hammer data prepare``: a Hammer training set, masked afresh for every epoch.

Reads the inputs (any readable format; xLAM through a reader that shares one ``Tool`` object per
distinct tool, so the writer renders each tool once; without irrelevance to add, the xLAM files
are only cut into record ranges here and each worker parses its own), adds irrelevance
examples, and writes
``epochs`` views of every example (:mod:`hammer_fc.augment.epochs`: the masking ratio is the
share of examples masked, drawn per ``(seed, epoch, index)``) with the fast writer of
:mod:`hammer_fc.prepare.render`.

Irrelevance examples (``add_irrelevance``, a share of the inputs) are built once from the inputs,
appended after them and then treated like every other example in every epoch: the output has
``epochs x (inputs + added)`` lines, epoch by epoch, in input order (trainers shuffle). Composed
multi-call examples (``compose``, a share of the inputs; :mod:`hammer_fc.augment.compose`) are
drawn afresh for each epoch and follow that epoch's other lines; composing takes the plain
writer (with ``compose=0`` the output is what it was without the option). Every
record passes the checks of :mod:`hammer_fc.formats.checks` on either path (answers that name
unknown functions or arguments, unknown parameter types, and no gold answer, as BFCL
``live_relevance`` has: nothing to train on): a problem stops the run, or with ``skip_invalid``
the record is left out and counted by kind in the summary.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from hammer_fc.augment.compose import check_variant_share, compose_count
from hammer_fc.augment.epochs import check_masking, default_mask_ratio
from hammer_fc.augment.irrelevance import add_irrelevance, irrelevance_count, tool_pool
from hammer_fc.errors import MALFORMED, HammerError
from hammer_fc.formats import describe_kinds, gc_paused
from hammer_fc.formats.checks import (
    check_calls,
    check_unique_names,
    declared_names,
    unknown_type,
    unknown_type_error,
)
from hammer_fc.formats.records import (
    LineRecords,
    ParsedRecords,
    RecordSlices,
    SplitError,
    iter_records,
    slice_records,
)
from hammer_fc.outputs import check_output
from hammer_fc.prepare.parallel import BLOCK, MIN_PARALLEL_LINES, Loaded, WriteStats, default_workers
from hammer_fc.prepare.records import OUTPUT_FORMATS, OutputFormat
from hammer_fc.prepare.render import write_blocks, write_plain, write_prepared
from hammer_fc.schema import Example, Tool

__all__ = ["PrepareResult", "SourceStats", "load_examples", "prepare", "summary_rows", "with_irrelevance"]


@dataclass
class SourceStats:
    """What one input file gave."""

    path: Path
    format: str
    examples: int = 0
    skipped: int = 0
    """Records skipped (``skip_invalid``): malformed, failing a check, or without a gold answer."""
    skipped_kinds: Counter[str] = field(default_factory=Counter)
    """The skipped records by kind of problem."""
    errors: list[HammerError] = field(default_factory=list)


MAX_ERRORS_KEPT = 5


class XlamReader:
    """The xLAM reader with one ``Tool`` object per distinct tool of the data set.

    xLAM repeats its 3,673 APIs across 60k records; converting each distinct tool JSON once and
    sharing the object is what lets the writer render each tool once. A record is built by the
    xLAM reader's own :func:`~hammer_fc.formats.xlam.example_from_xlam`, handed a tool reader
    that shares tools, so the result, errors included, is the reader's. It gets the checks
    ``read_examples`` applies, in the same order (names, types, then calls), a shared tool's types and
    names worked out once.
    """

    def __init__(self) -> None:
        from hammer_fc.formats.xlam import example_from_xlam
        from hammer_fc.schema.params import tool_from_xlam

        self._tool_from_xlam = tool_from_xlam
        self._example_from_xlam = example_from_xlam
        self._tools: dict[bytes, Tool] = {}
        self._unknown: dict[int, tuple[str, str] | None] = {}
        """``id`` of a shared tool -> its first unknown type (:func:`unknown_type`) ..."""
        self._declared: dict[int, frozenset[str] | None] = {}
        """... and its parameter names (:func:`declared_names`): checked once per tool."""

    def _tool(self, tool_dict: object, *, path: str) -> Tool:
        """The shared ``Tool`` of ``tool_dict`` (converted on first sight; errors not kept)."""
        try:
            key: bytes | None = orjson.dumps(tool_dict)
        except orjson.JSONEncodeError:  # what only the standard library parses (huge ints): not shared
            key = None
        tool = None if key is None else self._tools.get(key)
        if tool is None:
            tool = self._tool_from_xlam(tool_dict, path=path)
            if key is not None:
                self._tools[key] = tool
            self._unknown[id(tool)] = unknown_type(tool)
            self._declared[id(tool)] = declared_names(tool)
        return tool

    def convert(self, path: Path, index: int, raw: object) -> Example:
        """Record ``index`` of ``path`` -> Example; a located :class:`HammerError` if malformed."""
        try:
            if isinstance(raw, HammerError):
                raise raw
            example = self._example_from_xlam(raw, index, path, self._tool)
            check_unique_names(example.tools)
            for i, tool in enumerate(example.tools):
                if (found := self._unknown[id(tool)]) is not None:
                    raise unknown_type_error(found, f"tools[{i}]")
            check_calls(example, require_answer=True, declared=self._declared)
            return example
        except HammerError as err:
            raise err.located(file=str(path), record=index) from None
        except (TypeError, ValueError, KeyError, AttributeError) as err:  # as the formats package says it
            raise HammerError(
                f"malformed record ({type(err).__name__}: {err})", file=str(path), record=index
            ) from None

    def load(self, path: Path, records: Iterable[tuple[int, object]], *, skip_invalid: bool) -> Loaded:
        """Convert ``records`` (each checked; a gold answer required)."""
        loaded = Loaded([])
        for index, raw in records:
            try:
                loaded.examples.append(self.convert(path, index, raw))
            except HammerError as err:
                if not skip_invalid:
                    raise
                loaded.skipped += 1
                loaded.kinds[err.kind or MALFORMED] += 1
                if len(loaded.errors) < MAX_ERRORS_KEPT:
                    loaded.errors.append(err)
        return loaded


Records = ParsedRecords | RecordSlices | LineRecords
"""A file's records, parsed a range at a time (``parse(lo, hi)``)."""


def _open_records(path: Path, fmt: str | None, *, split: bool = True) -> tuple[str, Records | None]:
    """The file's format and, for xLAM, its records: cut (``split``; parsed later, by the
    workers) or parsed once, the first one also telling the format (the formats package's own
    rule) rather than once to detect and again to read."""
    from hammer_fc.formats import BFCL_SPEC_PREFIX, detect_format, format_of_record, is_dataset_source

    if str(path).startswith(BFCL_SPEC_PREFIX) or fmt not in (None, "xlam") or is_dataset_source(path):
        return fmt or detect_format(path), None
    source: Records | None = slice_records(path) if split else None
    if source is not None:
        try:
            first = source.parse(0, 1)[0][1]
        except SplitError:
            source = None
    if source is None:
        source = ParsedRecords(list(iter_records(path)))
        first = source.parse(0, 1)[0][1] if len(source) else None
    if len(source) == 0 or isinstance(first, HammerError):
        name = fmt or detect_format(path)  # the formats package words the error
    else:
        name = fmt or format_of_record(first, file=str(path))
    return name, source if name == "xlam" else None


def _stats(path: Path, fmt: str, loaded: Iterable[Loaded], examples: int) -> SourceStats:
    stats = SourceStats(path=path, format=fmt, examples=examples)
    for part in loaded:
        stats.skipped += part.skipped
        stats.skipped_kinds += part.kinds
        stats.errors += part.errors[: MAX_ERRORS_KEPT - len(stats.errors)]
    return stats


def load_examples(
    paths: Sequence[Path],
    fmt: str | None = None,
    *,
    skip_invalid: bool = False,
    on_file: Callable[[int], None] | None = None,
) -> tuple[list[Example], list[SourceStats]]:
    """Read every input (format detected per file unless ``fmt``), checked, a gold answer
    required. A bad record stops the run unless ``skip_invalid`` (then counted per file, by kind)."""
    from hammer_fc.formats import read_examples

    examples: list[Example] = []
    sources = []
    xlam = XlamReader()
    for path in paths:
        name, records = _open_records(path, fmt, split=False)
        if records is not None:
            loaded = xlam.load(path, records.parse(0, len(records)), skip_invalid=skip_invalid)
        else:
            result = read_examples(path, name, skip_invalid=skip_invalid, check=True, require_answers=True)
            errors = list(result.errors[:MAX_ERRORS_KEPT])
            loaded = Loaded(result.examples, result.skipped, result.skipped_kinds, errors)
        examples.extend(loaded.examples)
        sources.append(_stats(path, name, [loaded], len(loaded.examples)))
        if on_file is not None:
            on_file(1)
    return examples, sources


@dataclass
class _XlamBlocks:
    """xLAM records cut (or parsed) in the parent, parsed and converted block by block in the
    workers (a :data:`~hammer_fc.prepare.render.Loader`), so reading is as parallel as rendering."""

    files: list[tuple[Path, Records]]
    block: int
    skip_invalid: bool
    table: list[tuple[int, int]] = field(default_factory=list)
    """Block -> (file number, first record)."""
    reader: XlamReader = field(default_factory=XlamReader)

    def __post_init__(self) -> None:
        for f, (_, records) in enumerate(self.files):
            self.table += [(f, start) for start in range(0, len(records), self.block)]

    def __call__(self, b: int) -> Loaded:
        f, start = self.table[b]
        path, records = self.files[f]
        return self.reader.load(
            path, records.parse(start, start + self.block), skip_invalid=self.skip_invalid
        )


@dataclass
class PrepareResult:
    """Everything ``hammer data prepare`` reports."""

    out: Path
    sources: list[SourceStats]
    inputs: int
    added_irrelevant: int
    epochs: int
    mask_ratio: float
    written: WriteStats
    seconds: float
    template: str = "hammer"
    masking: str = "hammer"
    composed: int = 0
    """Multi-call examples composed per epoch (each epoch draws its own)."""


@gc_paused()
def prepare(
    paths: Sequence[Path],
    out: Path,
    *,
    fmt: str | None = None,
    epochs: int = 1,
    mask_ratio: float | None = None,
    add_irrelevance: float = 0.0,
    compose: float = 0.0,
    compose_variants: float = 0.0,
    seed: int = 0,
    out_format: OutputFormat = "prompt-completion",
    skip_invalid: bool = False,
    workers: int | None = None,
    block: int = BLOCK,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
    template: str = "hammer",
    masking: str = "hammer",
) -> PrepareResult:
    """Read ``paths``, add irrelevance examples, write ``epochs`` masked views of them to ``out``,
    each epoch followed by its ``compose`` x inputs composed multi-call examples
    (:mod:`hammer_fc.augment.compose`, masked like the others; a ``compose_variants`` share of
    them value variants, :mod:`hammer_fc.augment.variants`).

    ``workers`` processes (default: every core, for large jobs) render ``block`` examples each per
    round; neither changes the output. ``progress(description, total)`` (optional) starts a
    progress task and returns its advance function; the CLI passes a rich progress bar.
    ``template`` (a prompt template's name) and ``masking`` (``hammer`` or the authors'
    ``released``) other than ours take the plain one-process path; ``mask_ratio`` defaults to
    the masking's own (0.33; 2/3 for ``released``).
    """
    from hammer_fc.prompts import get_template

    get_template(template)
    check_masking(masking)
    if mask_ratio is None:
        mask_ratio = default_mask_ratio(masking)
    _check_options(
        epochs=epochs, mask_ratio=mask_ratio, add_irrelevance=add_irrelevance, out_format=out_format
    )
    compose_count(0, compose)  # rejects a negative share before anything is read
    check_variant_share(compose_variants)
    start = time.perf_counter()
    step = progress or (lambda _description, _total: lambda _n: None)
    check_output(out)  # before reading: a bad -o costs nothing
    options = {"epochs": epochs, "mask_ratio": mask_ratio, "seed": seed, "fmt": out_format}
    fast = template == "hammer" and masking == "hammer"
    # Only a run with nothing to add can take the fast path: only then is opening worth it.
    nothing_added = add_irrelevance == 0 and compose == 0
    opened = [(path, *_open_records(path, fmt)) for path in paths] if nothing_added and fast else []
    if opened and all(records is not None for _, _, records in opened):
        # The common case, xLAM in, nothing to add: the workers read as they write.
        xlam = {"out": out, "block": block, "skip_invalid": skip_invalid, "workers": workers, "step": step}
        try:
            written, sources = _write_xlam(opened, **xlam, **options)  # type: ignore[arg-type]
        except SplitError:  # a cut that parsing did not confirm: parse the files whole
            opened = [(path, *_open_records(path, fmt, split=False)) for path in paths]
            written, sources = _write_xlam(opened, **xlam, **options)  # type: ignore[arg-type]
        inputs, added, composed = written.examples, 0, 0
    else:
        examples, sources = load_examples(
            paths, fmt, skip_invalid=skip_invalid, on_file=step(f"reading {len(paths)} file(s)", len(paths))
        )
        _require_examples(len(examples))
        inputs = len(examples)
        examples = with_irrelevance(examples, add_irrelevance, seed=seed)
        added = len(examples) - inputs
        composed = compose_count(inputs, compose)
        on_progress = step(f"writing {epochs} epoch(s)", epochs * (len(examples) + composed))
        if fast and not composed:
            written = write_prepared(
                examples,
                out,
                workers=workers,
                block=block,
                on_progress=on_progress,
                **options,  # type: ignore[arg-type]
            )
        else:
            written = write_plain(
                examples,
                out,
                epochs=epochs,
                mask_ratio=mask_ratio,
                seed=seed,
                fmt=out_format,
                template=template,
                masking=masking,
                compose=composed,
                variant_share=compose_variants,
                on_progress=on_progress,
            )
    return PrepareResult(
        out=out,
        sources=sources,
        inputs=inputs,
        added_irrelevant=added,
        epochs=epochs,
        mask_ratio=mask_ratio,
        written=written,
        seconds=time.perf_counter() - start,
        template=template,
        masking=masking,
        composed=composed,
    )


def _write_xlam(
    opened: list[tuple[Path, str, Records | None]],
    *,
    out: Path,
    block: int,
    skip_invalid: bool,
    workers: int | None,
    step: Callable[[str, int | None], Callable[[int], None]],
    epochs: int,
    **options: Any,
) -> tuple[WriteStats, list[SourceStats]]:
    """Write the prepared lines of xLAM files whose records the workers parse and convert."""
    blocks = _XlamBlocks([(path, records) for path, _, records in opened], block, skip_invalid)  # type: ignore[misc]
    reading = step(f"reading {len(opened)} file(s)", None)
    writing: list[Callable[[int], None]] = []

    def loaded(total: int) -> None:
        reading(total)
        _require_examples(total)
        writing.append(step(f"writing {epochs} epoch(s)", epochs * total))

    if workers is None:
        records = sum(len(r) for _, r in blocks.files)
        workers = default_workers() if epochs * records >= MIN_PARALLEL_LINES else 1
    written = write_blocks(
        len(blocks.table),
        blocks,
        out,
        epochs=epochs,
        workers=workers,
        on_loaded=loaded,
        on_progress=lambda n: writing[0](n),
        **options,
    )
    sources = []
    for f, (path, name, _) in enumerate(opened):
        mine = [b for b, (file, _) in enumerate(blocks.table) if file == f]
        count = sum(written.block_examples[b] for b in mine)
        sources.append(_stats(path, name, [written.loaded[b] for b in mine], count))
    return written, sources


def _require_examples(n: int) -> None:
    if n == 0:
        raise HammerError("no usable example in the input (every record was skipped)")


def with_irrelevance(examples: list[Example], share: float, *, seed: int = 0) -> list[Example]:
    """``examples`` followed by the ``[]`` examples ``share`` asks for (built once, from a stream
    of their own, with unrelated tools drawn from every tool of the inputs)."""
    if irrelevance_count(len(examples), share) == 0:
        return examples
    return add_irrelevance(examples, share, random.Random(f"{seed}:irrelevance"), tool_pool(examples))


def _check_options(*, epochs: int, mask_ratio: float, add_irrelevance: float, out_format: str) -> None:
    if epochs < 1:
        raise HammerError(f"epochs must be at least 1, got {epochs}", field="epochs")
    if not 0.0 <= mask_ratio <= 1.0:
        raise HammerError(
            f"the masking ratio is a share of examples, 0..1; got {mask_ratio}", field="mask_ratio"
        )
    if add_irrelevance < 0:
        raise HammerError(
            f"the irrelevance share must be >= 0, got {add_irrelevance}", field="add_irrelevance"
        )
    if out_format not in OUTPUT_FORMATS:
        raise HammerError(f"unknown output format {out_format!r} (choose from {', '.join(OUTPUT_FORMATS)})")


def summary_rows(result: PrepareResult) -> list[tuple[str, str]]:
    """The summary as (what, value) rows, for a table."""
    w = result.written
    rows = []
    for s in result.sources:
        detail = f"{s.examples:,} examples ({s.format})"
        if s.skipped:
            detail += f", {s.skipped:,} skipped ({describe_kinds(s.skipped_kinds)})"
        rows.append((str(s.path), detail))
    rows.append(("irrelevance examples added", f"{result.added_irrelevant:,}"))
    if result.composed:
        rows.append(("multi-call examples composed", f"{result.composed:,} per epoch, drawn afresh in each"))
    per_epoch = result.inputs + result.added_irrelevant + result.composed
    rows += [
        ("template, masking", f"{result.template}, {result.masking}"),
        ("epochs", str(result.epochs)),
        ("lines written", f"{w.lines:,} = {result.epochs} x {per_epoch:,}"),
        ("masked", f"{w.masked:,} ({w.masked / max(w.lines, 1):.1%}; ratio asked {result.mask_ratio:g})"),
        ("no-call ([]) lines", f"{w.irrelevant:,} ({w.irrelevant / max(w.lines, 1):.1%})"),
        ("output", f"{result.out} ({w.bytes / 1e6:,.1f} MB)"),
        ("time", f"{result.seconds:.2f} s on {w.workers} process(es)"),
    ]
    return rows
