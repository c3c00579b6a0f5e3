"""The fork/``pwrite`` scheduler of ``hammer data prepare``: loading and rendering split over
processes by blocks of contiguous examples.

Each worker publishes its blocks' example counts and byte sizes in shared memory and
``pwrite``s a block as soon as everything before it is sized, so no output crosses a process
boundary and a worker holds at most a few rendered blocks. What a line holds is the renderer's
business (:mod:`.render`); this module only knows blocks of bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from hammer_fc.errors import HammerError
from hammer_fc.outputs import atomic_output
from hammer_fc.schema import Example

BLOCK = 4096
"""Examples (or input records) per block: the unit a worker loads, renders and writes. Large
enough that the bookkeeping per block costs nothing, small enough (about 12 MB of output) that
a worker holding a few of them stays small and the workers finish close together."""
MIN_PARALLEL_LINES = 20_000
"""Below this many output lines a second process costs more than it saves."""


@dataclass
class Loaded:
    """What loading one block gave: its examples and what it left out."""

    examples: list[Example]
    skipped: int = 0
    """Records skipped (malformed, failing a check, or without a gold answer)."""
    kinds: Counter[str] = field(default_factory=Counter)
    """The skipped records by kind of problem."""
    errors: list[HammerError] = field(default_factory=list)
    """The first few errors of the skipped records."""


Loader = Callable[[int], Loaded]
"""Block index -> its examples; runs in the process that renders the block. Raises
:class:`HammerError` to stop the run (the error of the earliest failing block is raised)."""


@dataclass
class WriteStats:
    """What was written, and what the loaders left out (per block)."""

    lines: int = 0
    examples: int = 0
    masked: int = 0
    irrelevant: int = 0
    bytes: int = 0
    workers: int = 1
    block_examples: list[int] = field(default_factory=list)
    """Examples per block."""
    loaded: dict[int, Loaded] = field(default_factory=dict)
    """Each block's load report (its ``examples`` dropped: they stayed in the workers)."""


@dataclass
class Block:
    """A run of contiguous examples: the unit a worker loads, renders and writes."""

    examples: list[Example]
    start: int = 0
    """Index of the block's first example in the whole data set (the per-example seed)."""
    items: list[Any] | None = None
    """What the renderer compiled from ``examples`` on first use, kept for later epochs."""


class BlockRenderer(Protocol):
    """Renders a block's lines for one epoch (compiling its examples into ``block.items`` on
    first use) and counts the masked lines it drew."""

    masked: int

    def block(self, epoch: int, block: Block) -> list[bytes]: ...


_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024


def _pwrite_all(fd: int, pieces: list[bytes], offset: int) -> None:
    """Write ``pieces`` one after another from ``offset`` (``pwritev``: no user-space copy)."""
    for start in range(0, len(pieces), _IOV_MAX):
        chunk = pieces[start : start + _IOV_MAX]
        size = sum(map(len, chunk))
        written = os.pwritev(fd, chunk, offset)
        if written < size:  # a short write: finish the rest plainly
            rest = memoryview(b"".join(chunk))[written:]
            while rest:
                n = os.pwrite(fd, rest, offset + written)
                rest, written = rest[n:], written + n
        offset += size


_UNSET = -3
_FAILED = -1
_NOT_LOADED = -2
MAX_PENDING = 8
"""Rendered blocks a worker may hold while their place in the file is not yet known (a worker
that runs ahead waits rather than hold more)."""
_POLL_S = (0.0005, 0.02)
"""A waiting worker polls after the first of these many seconds, backing off to the second: a
short wait ends fast, and a long one (the other worker descheduled on a busy machine) does not
burn CPU polling."""


@dataclass
class _Job:
    """One worker's share: blocks ``rank``, ``rank + workers``, ... of ``n_blocks``.

    Workers never wait for each other round by round (on a busy machine a barrier per round
    costs more than the work): each publishes, in shared arrays, how many examples each of its
    blocks holds (hence every example's index) and how many bytes each rendered block takes; a
    block is written (``pwrite``) as soon as the sizes of everything before it are known. The
    only wait for all is the one after loading.
    """

    n_blocks: int
    load: Loader
    renderer: BlockRenderer
    epochs: int
    workers: int
    fd: int
    counts: Any = None
    """Shared: examples per block (_UNSET until loaded; _FAILED; _NOT_LOADED after a failure)."""
    sizes: Any = None
    """Shared: bytes per (epoch, block) slot, -1 until rendered."""
    check: Callable[[], None] = lambda: None
    """Raises if another worker died (called while waiting)."""
    blocks: dict[int, Block] = field(default_factory=dict)
    loaded: dict[int, Loaded] = field(default_factory=dict)
    errors: dict[int, HammerError] = field(default_factory=dict)
    _known: int = 0
    """Slots before this one all have known sizes ..."""
    _end: int = 0
    """... and end at this offset."""
    _offsets: dict[int, int] = field(default_factory=dict)

    def load_mine(self, rank: int) -> None:
        for b in range(rank, self.n_blocks, self.workers):
            try:
                loaded = self.load(b)
            except HammerError as err:
                self.errors[b] = err
                for later in range(b + self.workers, self.n_blocks, self.workers):
                    self.counts[later] = _NOT_LOADED
                self.counts[b] = _FAILED
                return
            self.blocks[b] = Block(loaded.examples)
            self.loaded[b] = replace(loaded, examples=[])
            self.counts[b] = len(loaded.examples)

    def wait(self, ready: Callable[[], bool]) -> None:
        pause, longest = _POLL_S
        while not ready():
            self.check()
            time.sleep(pause)
            pause = min(2 * pause, longest)

    def first_failure(self) -> int | None:
        return next((b for b in range(self.n_blocks) if self.counts[b] == _FAILED), None)

    def place_blocks(self) -> int:
        """Give each block of this worker its first example's index; returns the total."""
        start = 0
        for b in range(self.n_blocks):
            if b in self.blocks:
                self.blocks[b].start = start
            start += self.counts[b]
        return start

    def _flush(self, pending: dict[int, list[bytes]]) -> None:
        """Write every pending block whose offset is now known."""
        sizes, slots = self.sizes, self.epochs * self.n_blocks
        while self._known < slots and sizes[self._known] >= 0:
            self._offsets[self._known] = self._end
            self._end += sizes[self._known]
            self._known += 1
        for slot in [s for s in pending if s < self._known]:
            _pwrite_all(self.fd, pending.pop(slot), self._offsets.pop(slot))

    def render_mine(self, rank: int, on_progress: Callable[[int], None] | None) -> None:
        """Render this worker's blocks, epoch by epoch, writing each once its place is known."""
        pending: dict[int, list[bytes]] = {}
        reported = 0
        for epoch in range(self.epochs):
            for b in range(rank, self.n_blocks, self.workers):
                slot = epoch * self.n_blocks + b
                pieces = self.renderer.block(epoch, self.blocks[b])
                pending[slot] = pieces
                self.sizes[slot] = sum(map(len, pieces))
                self._flush(pending)
                if len(pending) > MAX_PENDING:
                    self.wait(lambda: self._flush(pending) or len(pending) <= MAX_PENDING)
                if on_progress is not None:
                    done = sum(
                        self.counts[s % self.n_blocks] for s in range(len(self.sizes)) if self.sizes[s] >= 0
                    )
                    on_progress(done - reported)
                    reported = done
        self.wait(lambda: self._flush(pending) or not pending)

    def report(self) -> tuple[int, int, dict[int, Loaded], dict[int, HammerError]]:
        irrelevant = sum(e.calls == [] for block in self.blocks.values() for e in block.examples)
        return self.renderer.masked, irrelevant, self.loaded, self.errors


def _child(job: _Job, rank: int, results: Any) -> None:
    """A forked worker: load its blocks, render them, report (or report what stopped it)."""
    try:
        job.load_mine(rank)
        job.wait(lambda: _UNSET not in job.counts)
        if job.first_failure() is None:
            job.place_blocks()
            job.render_mine(rank, None)
        results.put((job.report(), None))
    except BaseException:
        results.put((None, traceback.format_exc()))
        raise SystemExit(1) from None


def default_workers() -> int:
    """Every core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def schedule(
    n_blocks: int,
    load: Loader,
    renderer: BlockRenderer,
    out: Path,
    *,
    epochs: int,
    workers: int = 1,
    on_loaded: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> WriteStats:
    """Load ``n_blocks`` blocks with ``load`` and write what ``renderer`` makes of them to ``out``,
    block after block, epoch after epoch, in ``workers`` processes. ``on_loaded(examples)`` is
    called once everything is loaded (it may raise to stop the run)."""
    workers = max(1, min(workers, n_blocks))
    with atomic_output(out) as sink:  # the workers pwrite into it; nothing goes through its buffer
        job = _Job(n_blocks, load, renderer, epochs, workers, sink.fileno())
        run = _run_alone if workers == 1 else _run_parallel
        stats = run(job, on_loaded, on_progress)
    stats.lines = epochs * stats.examples
    stats.irrelevant *= epochs
    stats.workers = workers
    stats.block_examples = list(job.counts)
    return stats


def _run_alone(job: _Job, on_loaded, on_progress) -> WriteStats:
    job.counts = [_UNSET] * job.n_blocks
    job.sizes = [-1] * (job.epochs * job.n_blocks)
    job.load_mine(0)
    failed = job.first_failure()
    if failed is not None:
        raise job.errors[failed]
    total = job.place_blocks()
    if on_loaded is not None:
        on_loaded(total)
    job.render_mine(0, on_progress)
    masked, irrelevant, loaded, _ = job.report()
    return WriteStats(examples=total, masked=masked, irrelevant=irrelevant, bytes=job._end, loaded=loaded)


def _run_parallel(job: _Job, on_loaded, on_progress) -> WriteStats:
    """Rank 0 runs here, ranks 1.. in forked children (they inherit ``load``'s data, unpickled)."""
    ctx = multiprocessing.get_context("fork")
    job.counts = ctx.Array("q", [_UNSET] * job.n_blocks, lock=False)
    job.sizes = ctx.Array("q", [-1] * (job.epochs * job.n_blocks), lock=False)
    results = ctx.SimpleQueue()
    children = [
        ctx.Process(target=_child, args=(job, rank, results), daemon=True) for rank in range(1, job.workers)
    ]
    reports: list[tuple[Any, str | None]] = []

    def check() -> None:  # a child that stopped early has said why, or died
        if not results.empty():
            reports.append(results.get())
        if any(r[1] is not None for r in reports) or any(c.exitcode not in (None, 0) for c in children):
            raise RuntimeError("a prepare worker failed:\n" + "\n".join(r[1] or "" for r in reports))

    job.check = check
    for child in children:
        child.start()
    total = -1
    try:
        job.load_mine(0)
        job.wait(lambda: _UNSET not in job.counts)
        if job.first_failure() is None:
            total = job.place_blocks()
            if on_loaded is not None:
                on_loaded(total)
            job.render_mine(0, on_progress)
        while len(reports) < len(children):
            reports.append(results.get())
    except BaseException:
        for child in children:
            child.terminate()
            child.join()
        raise
    for child in children:
        child.join()
    masked, irrelevant, loaded, errors = job.report()
    for report, crash in reports:
        if crash is not None:
            raise RuntimeError(f"a prepare worker failed:\n{crash}")
        masked += report[0]
        irrelevant += report[1]
        loaded.update(report[2])
        errors.update(report[3])
    failed = job.first_failure()
    if failed is not None:
        raise errors[failed]
    size = sum(job.sizes)
    return WriteStats(examples=total, masked=masked, irrelevant=irrelevant, bytes=size, loaded=loaded)
