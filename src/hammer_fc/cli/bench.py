"""``hammer bench``: size, memory and speed of GGUF files on this machine (see :mod:`hammer_fc.bench`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=False, pretty_exceptions_enable=False)


@app.callback(invoke_without_command=True)
def bench(
    models: Annotated[
        list[Path], typer.Option("--model", "-m", help="A GGUF file; repeat to compare quantizations.")
    ],
    out: Annotated[Path, typer.Option("-o", "--output", help="Where the metrics JSON goes.")],
    threads: Annotated[
        int | None,
        typer.Option(help="llama.cpp threads (default: half the cores decode, all read prompts; 1 if busy)."),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Also write a PNG comparing the files.")] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs per figure (median reported).")] = 3,
    n_ctx: Annotated[int, typer.Option(min=512, help="Context size (sizes the KV cache).")] = 4096,
) -> None:
    """Measure file size, peak memory, load time, prefill/decode speed and one tool call per file."""
    import json

    from rich.console import Console

    from hammer_fc.bench import BenchSettings, run_bench
    from hammer_fc.bench.report import bench_plot, bench_table
    from hammer_fc.outputs import atomic_output, check_output

    check_output(out)  # before minutes of measuring
    if plot is not None:
        check_output(plot)
    console = Console(stderr=True)
    result = run_bench(models, BenchSettings(threads=threads, n_ctx=n_ctx, repeats=repeats), console=console)
    with atomic_output(out) as sink:
        sink.write((json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode())
    Console().print(bench_table(result))
    if plot is not None:
        console.print(f"plot: {bench_plot(result, plot)}", highlight=False)
    console.print(f"metrics: {out}", highlight=False)
