"""``hammer recipe evidence``: every run behind issue 10's evidence tables, then the report.

Stages, each resumable (rerun the same command to continue):

1. **export**: the base model at Q4_K_M, the adapter at F16, Q8_0 and Q4_K_M, the ablation
   adapter (if given) at Q4_K_M, as ``models/<name>-<quant>.gguf`` (a file already there is
   complete: export writes under a partial name first, so it is kept);
2. **subset** (``--subset N`` cases per category, seed ``--seed``; the same cases everywhere):
   base and adapter at Q4_K_M constrained with ``--mask-names``, free (with ``--mask-names``
   unless ``--no-free-masked``), the ablation constrained with ``--mask-names``, the adapter's
   F16 and Q8_0 constrained;
3. **full** (skipped with ``--no-full``): base and adapter at Q4_K_M constrained on every
   non-live case, into the same run directories as their subset runs (the subset's
   predictions are kept: only the other cases are generated).

Each eval is a ``hammer eval run`` subprocess (``--threads`` llama.cpp threads), ``--jobs``
of them at a time; its output goes to ``logs/<run>.log``. After each stage the report
(``evidence.md``, ``evidence.json``, ``accuracy.png``) is rewritten from what the run
directories hold, so a stopped recipe still leaves its tables, each cell with its case count.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hammer_fc.cpu import cpu_model
from hammer_fc.errors import HammerError
from hammer_fc.eval import failures
from hammer_fc.eval.benches import load_benches, select_cases
from hammer_fc.eval.compare import AS_GIVEN, CAPTION, MASKED, Row, collect, markdown_table, plot
from hammer_fc.eval.paste import paste_into
from hammer_fc.outputs import check_output_dir

BENCH = "bfcl:non_live"
QUANTS = ("F16", "Q8_0", "Q4_K_M")
HEADLINE_QUANT = "Q4_K_M"
QUIET = {"TQDM_DISABLE": "1", "TRANSFORMERS_VERBOSITY": "error"}


@dataclass(frozen=True)
class EvidenceOptions:
    """What ``hammer recipe evidence`` runs (see the module doc)."""

    adapter: Path
    out_dir: Path
    ablation: Path | None = None
    base: str | None = None
    """The base model (default: the one the adapter's config names)."""
    subset: int = 50
    full: bool = True
    full_limit: int | None = None
    """Cases per category of the "full" runs (``None``: all; a number only for a trial)."""
    free_masked: bool = True
    seed: int = 0
    jobs: int = 2
    threads: int = 1
    max_new_tokens: int = 256
    bench: str = BENCH
    """The categories (default all of non-live; fewer only for a trial)."""
    into: tuple[Path, ...] = ()
    """Markdown files (README, adapter card) to paste the tables into, between markers."""


@dataclass(frozen=True)
class Model:
    """One model of the recipe and its GGUF exports."""

    name: str
    spec: str
    """What ``hammer export --model`` gets: the base spec or the adapter directory."""


@dataclass
class EvalJob:
    """One ``hammer eval run`` invocation into one run directory."""

    run_dir: Path
    model_file: Path
    constrained: bool
    limit: int | None
    mask_names: bool
    options: EvidenceOptions
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.run_dir.parent.parent / "logs" / f"{self.run_dir.name}.log"

    def command(self) -> list[str]:
        o = self.options
        # The run directory records its model by this path: absolute, so that the same command
        # resumes it from any working directory.
        model = str(self.model_file.resolve())
        cmd = [sys.executable, "-m", "hammer_fc.cli", "eval", "run", "--model", model]
        cmd += ["--bench", o.bench, "--seed", str(o.seed), "--threads", str(o.threads)]
        cmd += ["--max-new-tokens", str(o.max_new_tokens), "-o", str(self.run_dir)]
        cmd.append("--constrained" if self.constrained else "--free")
        if self.limit is not None:
            cmd += ["--limit", str(self.limit)]
        if self.mask_names:
            cmd.append("--mask-names")
        return cmd

    def keys(self) -> set[tuple[str, str, bool]]:
        """The cases this invocation needs (to count its progress)."""
        out = set()
        for bench in load_benches(self.options.bench):
            for example in select_cases(bench, self.limit, self.options.seed):
                out.add((bench.name, example.id, False))
                if self.mask_names:
                    out.add((bench.name, example.id, True))
        return out


def adapter_base(adapter: Path) -> str:
    """The base model an adapter directory names (its ``adapter_config.json``)."""
    config = adapter / "adapter_config.json"
    if not adapter.is_dir():
        raise HammerError("no such adapter directory", file=str(adapter), field="adapter")
    if not config.is_file():
        raise HammerError(
            "not an adapter directory (no adapter_config.json; a training run writes it when done)",
            file=str(adapter),
            field="adapter",
        )
    base = json.loads(config.read_text()).get("base_model_name_or_path")
    if not base:
        raise HammerError("names no base model", file=str(config), field="base_model_name_or_path")
    return str(base)


def models(options: EvidenceOptions) -> tuple[Model, Model, Model | None]:
    """(base, adapter, ablation), checked before any work."""
    base_spec = options.base or adapter_base(options.adapter)
    adapter = Model(options.adapter.resolve().name, str(options.adapter))
    ablation = None
    if options.ablation is not None:
        adapter_base(options.ablation)
        ablation = Model(options.ablation.resolve().name, str(options.ablation))
        if ablation.name == adapter.name:
            raise HammerError(
                f"the ablation adapter has the adapter's name {adapter.name!r}: rename one folder",
                field="ablation",
            )
    base = Model(Path(base_spec).name.removesuffix(".gguf"), base_spec)
    if base.name in (adapter.name, ablation and ablation.name):
        raise HammerError(f"the base model and an adapter are both named {base.name!r}", field="base")
    return base, adapter, ablation


def _check(options: EvidenceOptions) -> None:
    for name in ("subset", "jobs", "threads", "max_new_tokens"):
        if getattr(options, name) < 1:
            raise HammerError(f"--{name.replace('_', '-')} must be at least 1", field=name)
    if options.full_limit is not None and options.full_limit < 1:
        raise HammerError("--full-limit must be at least 1", field="full_limit")
    for path in options.into:
        if not path.is_file():
            raise HammerError("no such file to paste the evidence into", file=str(path), field="into")


def gguf_path(out: Path, model: Model, quant: str) -> Path:
    return out / "models" / f"{model.name}-{quant}.gguf"


def run_dir(out: Path, model: Model, quant: str, constrained: bool) -> Path:
    return out / "eval" / f"{model.name}-{quant}-{'constrained' if constrained else 'free'}"


def plan(options: EvidenceOptions) -> tuple[list[tuple[Model, str]], list[list[EvalJob]]]:
    """The exports and the eval stages (subset, then full) the options ask for."""
    base, adapter, ablation = models(options)
    out = options.out_dir
    exports = [(base, HEADLINE_QUANT), *((adapter, q) for q in QUANTS)]
    if ablation is not None:
        exports.append((ablation, HEADLINE_QUANT))

    def job(model: Model, quant: str, constrained: bool, limit: int | None, mask: bool) -> EvalJob:
        return EvalJob(
            run_dir(out, model, quant, constrained),
            gguf_path(out, model, quant),
            constrained,
            limit,
            mask,
            options,
        )

    n = options.subset
    subset = [
        job(adapter, HEADLINE_QUANT, True, n, True),
        job(base, HEADLINE_QUANT, True, n, True),
        job(adapter, HEADLINE_QUANT, False, n, options.free_masked),
        job(base, HEADLINE_QUANT, False, n, options.free_masked),
    ]
    if ablation is not None:
        subset.append(job(ablation, HEADLINE_QUANT, True, n, True))
    subset += [job(adapter, quant, True, n, False) for quant in QUANTS if quant != HEADLINE_QUANT]
    stages = [subset]
    if options.full:
        stages.append([job(m, HEADLINE_QUANT, True, options.full_limit, False) for m in (adapter, base)])
    return exports, stages


def run_evidence(options: EvidenceOptions, console: Console | None = None) -> dict[str, list[Row]]:
    """Run every stage (resuming what ``out_dir`` holds); the report's rows by table."""
    console = console or Console(stderr=True)
    _check(options)
    exports, stages = plan(options)
    out = check_output_dir(options.out_dir)
    (out / "logs").mkdir(exist_ok=True)
    with _quiet():  # before transformers (and tqdm) are imported: they read it then
        from hammer_fc.export import export_gguf
        from hammer_fc.model_spec import resolve

        console.rule(f"export: {len(exports)} GGUF files")
        for model, quant in exports:
            path = gguf_path(out, model, quant)
            if path.is_file():
                console.print(f"[dim]{path} is there[/]")
                continue
            console.print(f"{model.spec} -> {path}")
            export_gguf(resolve(model.spec), path, quant, console=console)
        tables: dict[str, list[Row]] = {}
        for name, jobs in zip(("subset", "full"), stages, strict=False):
            console.rule(f"evaluate: {name} ({len(jobs)} runs, {options.jobs} at a time)")
            try:
                run_jobs(jobs, options.jobs, console)
            finally:  # what the runs hold so far, even when one failed or was stopped
                tables = write_report(options)
    return tables


@contextmanager
def _quiet() -> Iterator[None]:
    """No tqdm bars from transformers' GGUF de-quantisation nor its deprecation warnings (they
    would bury the recipe's own lines; the evals inherit it); a variable the user set is kept,
    and the environment and warning filters are restored afterwards."""
    added = {k: v for k, v in QUIET.items() if k not in os.environ}
    os.environ.update(added)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers(\.|$)")
            warnings.filterwarnings("ignore", message="Could not find a config file", module=r"peft(\.|$)")
            yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _done(job: EvalJob, wanted: set[tuple[str, str, bool]]) -> int:
    path = job.run_dir / "predictions.jsonl"
    if not path.is_file():
        return 0
    count = 0
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a line being written
        count += (record["bench"], record["id"], record["masked"]) in wanted
    return count


def run_jobs(jobs: Sequence[EvalJob], workers: int, console: Console) -> None:
    """Run ``jobs`` as subprocesses, ``workers`` at a time, with a progress bar per job."""
    wanted = {id(job): job.keys() for job in jobs}
    stop = threading.Event()
    running: dict[int, subprocess.Popen[bytes]] = {}

    def work(job: EvalJob) -> None:
        if stop.is_set():
            return
        job.run_dir.parent.mkdir(parents=True, exist_ok=True)
        job.log.parent.mkdir(parents=True, exist_ok=True)
        with job.log.open("ab") as log:
            log.write(f"$ {shlex.join(job.command())}\n".encode())
            log.flush()
            process = subprocess.Popen(job.command(), stdout=log, stderr=subprocess.STDOUT, env=_child_env())
            running[id(job)] = process
            code = process.wait()
        if code != 0:
            stop.set()
            for other in running.values():
                if other is not process:
                    other.terminate()  # resumable: a rerun continues them
            tail = job.log.read_text(errors="replace").strip().splitlines()[-3:]
            raise HammerError(
                f"`hammer eval run` failed (exit {code}): {' | '.join(tail)}", file=str(job.log)
            )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress, ThreadPoolExecutor(max_workers=workers) as pool:
        tasks = {
            id(job): progress.add_task(_describe(job), total=len(wanted[id(job)]), start=False)
            for job in jobs
        }
        futures: list[Future[None]] = [pool.submit(work, job) for job in jobs]
        try:
            while not all(f.done() for f in futures):
                _refresh(jobs, wanted, tasks, running, progress)
                time.sleep(2.0)
            _refresh(jobs, wanted, tasks, running, progress)
        except KeyboardInterrupt:
            stop.set()
            for process in running.values():
                process.terminate()
            raise
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]


def _refresh(
    jobs: Sequence[EvalJob],
    wanted: dict[int, set[tuple[str, str, bool]]],
    tasks: dict[int, Any],
    running: dict[int, subprocess.Popen[bytes]],
    progress: Progress,
) -> None:
    for job in jobs:
        if id(job) in running:
            progress.start_task(tasks[id(job)])
            progress.update(tasks[id(job)], completed=_done(job, wanted[id(job)]))


def _describe(job: EvalJob) -> str:
    what = "all" if job.limit is None else f"{job.limit}/category"
    return f"{job.run_dir.name} ({what}{', masked too' if job.mask_names else ''})"


def _child_env() -> dict[str, str]:
    """The children find this package as the parent did (a source checkout on PYTHONPATH too)."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def report_tables(options: EvidenceOptions) -> dict[str, list[Row]]:
    """The tables of the issue's item 6 from the run directories that exist."""
    base, adapter, ablation = models(options)
    out = options.out_dir

    def dirs(pairs: Sequence[tuple[Model, str, bool]]) -> list[Path]:
        found = [run_dir(out, m, q, c) for m, q, c in pairs]
        return [d for d in found if (d / "run.json").is_file()]

    def rows(pairs: Sequence[tuple[Model, str, bool]], *, common: bool, names: Sequence[str]) -> list[Row]:
        found = dirs(pairs)
        if not found:
            return []
        return [r for r in collect(found, common=common) if r.names in names]

    q = HEADLINE_QUANT
    headline = [(base, q, True), (adapter, q, True), (base, q, False), (adapter, q, False)]
    robust = [(base, q, True), (adapter, q, True), *([(ablation, q, True)] if ablation else [])]
    robust += [(base, q, False), (adapter, q, False)] if options.free_masked else []
    quants = [(adapter, quant, True) for quant in QUANTS]
    return {
        "headline": rows(headline, common=False, names=(AS_GIVEN,)),
        "robustness": rows(robust, common=True, names=(AS_GIVEN, MASKED)),
        "quantization": rows(quants, common=True, names=(AS_GIVEN,)),
    }


TITLES = {
    "headline": "Base vs adapter, Q4_K_M: constrained (full non-live) and free (seeded subset)",
    "robustness": "Renamed functions (`--mask-names`), on the subset's cases: the drop, and masking ratio 0",
    "quantization": "Accuracy by quantization (constrained, on the subset's cases)",
}
FAILURES_TITLE = "Why the constrained answers fail (headline cases, names as given; cases per reason)"


def evidence_markdown(options: EvidenceOptions, tables: dict[str, list[Row]], *, level: int = 2) -> str:
    """The command, the conditions and the tables, headings at ``level``."""
    lines = [
        f"`{_command_line(options)}`",
        "",
        f"Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {cpu_model()} "
        f"({os.cpu_count()} cores; {options.jobs} evals at a time, {options.threads} llama.cpp "
        f"thread(s) each), seed {options.seed}, subset {options.subset} cases per category.",
        "",
        CAPTION,
        "",
    ]
    for key, rows in tables.items():
        lines += [f"{'#' * level} {TITLES[key]}", ""]
        lines += [markdown_table(rows, caption=False) if rows else "(no run yet)\n"]
    constrained = [row for row in tables.get("headline", []) if row.decoding == "constrained"]
    if constrained:
        lines += [f"{'#' * level} {FAILURES_TITLE}", ""]
        for row in constrained:
            lines += [f"{row.model} {row.quant}:", "", failures.markdown(row.failures, row.case_counts)]
    return "\n".join(lines)


def write_report(options: EvidenceOptions) -> dict[str, list[Row]]:
    """``evidence.md`` (markdown tables to paste), ``evidence.json`` and ``accuracy.png``; the
    same tables pasted into each of ``options.into`` (between its evidence markers)."""
    tables = report_tables(options)
    out = options.out_dir
    (out / "evidence.md").write_text("# Evidence: BFCL non-live\n\n" + evidence_markdown(options, tables))
    (out / "evidence.json").write_text(
        json.dumps({k: [r.to_dict() for r in rows] for k, rows in tables.items()}, indent=2) + "\n"
    )
    if tables["headline"]:
        plot(
            tables["headline"], out / "accuracy.png", title="BFCL non-live accuracy: base vs adapter, Q4_K_M"
        )
    for path in options.into:
        paste_into(path, evidence_markdown(options, tables, level=3))
    return tables


def _command_line(options: EvidenceOptions) -> str:
    parts = ["hammer", "recipe", "evidence", "--adapter", str(options.adapter)]
    if options.ablation is not None:
        parts += ["--ablation", str(options.ablation)]
    if options.base is not None:
        parts += ["--base", options.base]
    parts += ["--subset", str(options.subset), "--seed", str(options.seed)]
    if not options.full:
        parts.append("--no-full")
    if options.full_limit is not None:
        parts += ["--full-limit", str(options.full_limit)]
    if not options.free_masked:
        parts.append("--no-free-masked")
    if options.bench != BENCH:
        parts += ["--bench", options.bench]
    if options.max_new_tokens != 256:
        parts += ["--max-new-tokens", str(options.max_new_tokens)]
    parts += ["-o", str(options.out_dir)]
    return shlex.join(parts)
