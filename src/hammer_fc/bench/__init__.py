"""On-device measurements (the paper's size / memory / speed table) for GGUF files on this machine.

``run_bench`` measures each file in its own fresh process (:mod:`hammer_fc.bench.measure`) so
that memory figures do not mix, and returns one JSON-ready dict; :mod:`hammer_fc.bench.report`
turns it into a table and a plot.
"""

from __future__ import annotations

import multiprocessing
import os
import random
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from hammer_fc.bench.measure import BenchSettings, measure_model
from hammer_fc.bench.prompts import TOOL_COUNTS, bench_examples
from hammer_fc.errors import HammerError
from hammer_fc.model_spec import reader_quant

CALL_TOOLS = 5
"""Tools offered in the one timed tool call (a typical app exposes a handful); one of TOOL_COUNTS."""


def file_info(path: Path) -> dict[str, Any]:
    """Size, quantization and name from the file itself (header only)."""
    import gguf

    if not path.is_file():
        raise HammerError(f"no such GGUF file: {path}", field="model")
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, OSError) as err:
        raise HammerError(f"not a GGUF file: {err}", file=str(path)) from err
    name = reader.fields.get("general.name")
    return {
        "path": str(path),
        "name": name.contents() if name is not None else path.stem,
        "quant": reader_quant(reader),
        "file_size_mib": path.stat().st_size / 2**20,
        "params_m": sum(int(t.n_elements) for t in reader.tensors) / 1e6,
    }


def machine_info(settings: BenchSettings, paths: list[Path]) -> dict[str, Any]:
    """What the figures were measured on, including which of llama.cpp's optional CPU paths
    (AMX, repacked weights) were used for the files measured, and why."""
    import llama_cpp

    from hammer_fc.cpu import cpu_model
    from hammer_fc.inference.llamacpp_cpu import cpu_plan

    plans = [cpu_plan(Path(p)) for p in paths]
    return {
        "cpu": cpu_model(),
        "cpu_paths": "; ".join(dict.fromkeys(plan.summary for plan in plans)),
        "cores": os.cpu_count(),
        "threads": settings.threads,
        "llama_cpp_python": llama_cpp.__version__,
        "load_average": os.getloadavg()[0],
    }


def run_bench(
    paths: list[Path], settings: BenchSettings, *, seed: int = 0, console: Console | None = None
) -> dict[str, Any]:
    """Measure every file; returns ``{"machine", "settings", "models": [...]}``."""
    console = console or Console(quiet=True)  # the caller's console shows progress; none: silent
    infos = [file_info(Path(p)) for p in paths]
    examples = bench_examples(TOOL_COUNTS, random.Random(seed))
    results = []
    spawn = multiprocessing.get_context("spawn")  # a clean process: no memory from earlier models
    for index, info in enumerate(infos, 1):
        with (
            console.status(f"measuring {info['path']} ({info['quant']}, {index}/{len(infos)})"),
            ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool,
        ):
            try:
                figures = pool.submit(measure_model, info["path"], examples, CALL_TOOLS, settings).result()
            except BrokenProcessPool as err:
                raise HammerError(f"the measuring process died: {err}", file=info["path"]) from err
        results.append({**info, **figures})
    return {
        "machine": machine_info(settings, [Path(p) for p in paths]),
        "settings": {**asdict(settings), "seed": seed},
        "models": results,
    }
