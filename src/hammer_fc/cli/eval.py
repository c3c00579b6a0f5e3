"""``hammer eval``: score existing outputs, or run a model on benchmarks and score it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Evaluate function calling: BFCL and the paper's F1 benchmarks.", no_args_is_help=True)

BENCH_HELP = "bfcl:<category>, bfcl:all|non_live|live, or a paper benchmark file; comma-separated."
METRIC_HELP = "F1 of paper benchmarks: hammer (ours), or authors (theirs as well, quirks included)."
TEMPLATE_HELP = (
    "hammer (our models, base models), hammer-chat (Hammer 2.x), authors-1.0 / authors-2.1 "
    "(the authors' test prompts), authors-sft (their training prompt)."
)
ABSTAIN_HELP = (
    "Answer [] when the model's probability of the no-call answer is at least this (0..1), "
    "else a constrained answer must call; off: decode as the model does "
    "(default: the adapter's abstain.json, else off)."
)


@app.command("score")
def score(
    bench: Annotated[str, typer.Option("--bench", help=BENCH_HELP)],
    predictions: Annotated[
        Path,
        typer.Option(
            "--predictions", help='JSON Lines: {"id", "output": text} or {"id", "calls": [...]} per case.'
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--output", help="Verdicts file (JSON Lines), one per case.")],
    metric: Annotated[str, typer.Option("--metric", help=METRIC_HELP)] = "hammer",
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Also write the summary (JSON) to this file.")
    ] = None,
) -> None:
    """Score existing model outputs without running a model."""
    from rich.console import Console

    from hammer_fc.eval.report import rich_table
    from hammer_fc.eval.runner import score_predictions

    result = score_predictions(bench, predictions, out, metric=metric, summary_path=summary)
    Console().print(rich_table(result))
    missing = sum(r["missing"] for r in result["benches"].values())
    if missing:
        Console(stderr=True).print(f"[yellow]{missing} cases have no prediction and were not scored[/]")


@app.command("run")
def run(
    bench: Annotated[str, typer.Option("--bench", help=BENCH_HELP)],
    out: Annotated[Path, typer.Option("-o", "--output", help="Run directory (rerun into it to resume).")],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="smollm2-135m, hammer-smol, a Hugging Face id or directory, a .gguf file, "
            "or openai:<model>@<base_url>.",
        ),
    ] = "smollm2-135m",
    adapter: Annotated[str | None, typer.Option("--adapter", help="LoRA adapter directory.")] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend", help="hf, llamacpp or openai (default: llamacpp for GGUF without adapter)."
        ),
    ] = None,
    template: Annotated[str, typer.Option("--template", help=TEMPLATE_HELP)] = "hammer",
    metric: Annotated[str, typer.Option("--metric", help=METRIC_HELP)] = "hammer",
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most N cases per bench, drawn with --seed.")
    ] = None,
    mask_names: Annotated[
        bool,
        typer.Option("--mask-names", help="Also run with random function/parameter names; report the drop."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --limit subset and of the masking.")] = 0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Answer length cap.")] = 256,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Prompts per batch (hf, openai).")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads (llamacpp, hf).")] = None,
    no_prefix_reuse: Annotated[
        bool, typer.Option("--no-prefix-reuse", help="Recompute every prompt from scratch (llamacpp).")
    ] = False,
    constrained: Annotated[
        bool,
        typer.Option(
            "--constrained/--free",
            help="Decode under the grammar `hammer serve` uses, built from each case's tools.",
        ),
    ] = False,
    abstain_threshold: Annotated[
        str, typer.Option("--abstain-threshold", metavar="FLOAT|off", help=ABSTAIN_HELP)
    ] = "card",
    max_tools: Annotated[
        int | None,
        typer.Option(
            "--max-tools",
            min=0,
            help="Show the model only the N tools most relevant to the query (BM25), as "
            "`hammer serve --max-tools` does (0 or unset: all).",
        ),
    ] = None,
) -> None:
    """Run a model on benchmarks: predictions, verdicts and a summary in the run directory."""
    from rich.console import Console

    from hammer_fc.eval.report import cases_progress, rich_table
    from hammer_fc.eval.runner import run_eval
    from hammer_fc.inference.load import default_backend, supported_options
    from hammer_fc.model_spec import resolve

    chosen = backend or default_backend(resolve(model, adapter))
    wanted = {"n_threads": threads, "reuse_prefix": not no_prefix_reuse}
    if batch_size is not None:
        wanted["batch_size"] = batch_size
    options = supported_options(chosen, wanted)
    with cases_progress(Console(stderr=True)) as progress:
        summary = run_eval(
            model,
            bench,
            out_dir=out,
            backend=backend,
            adapter=adapter,
            template=template,
            limit=limit,
            seed=seed,
            mask_names=mask_names,
            max_new_tokens=max_new_tokens,
            backend_options=options,
            metric=metric,
            constrained=constrained,
            progress=progress,
            abstain_threshold=abstain_threshold,
            max_tools=max_tools,
        )
    Console().print(rich_table(summary))


@app.command("calibrate")
def calibrate(
    model: Annotated[
        str, typer.Option("--model", help="hammer-smol, an adapter directory, a .gguf file, ...")
    ] = "hammer-smol",
    out: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The adapter directory to record the threshold in (default: where the model's "
            "calibration is read from: its adapter directory, or NAME.abstain.json beside a GGUF).",
        ),
    ] = None,
    adapter: Annotated[str | None, typer.Option("--adapter", help="LoRA adapter directory.")] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="hf or llamacpp (default: by model kind).")
    ] = None,
    template: Annotated[str, typer.Option("--template", help=TEMPLATE_HELP)] = "hammer",
    limit: Annotated[
        int, typer.Option("--limit", help="Examples of each kind (irrelevance, calls), drawn with --seed.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the subsets.")] = 0,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads (llamacpp, hf).")] = None,
) -> None:
    """Pick the abstain threshold on BFCL live (irrelevance vs calls; never non-live) and record
    it where the model reads it: the adapter directory (abstain.json and a section of its
    README), or NAME.abstain.json beside a GGUF (each export has its own threshold)."""
    from rich.console import Console

    from hammer_fc.eval.calibrate import calibrate as run_calibration
    from hammer_fc.eval.calibrate import rich_table
    from hammer_fc.eval.report import cases_progress

    with cases_progress(Console(stderr=True)) as progress:
        record = run_calibration(
            model,
            out,
            adapter=adapter,
            backend=backend,
            template=template,
            limit=limit,
            seed=seed,
            backend_options={"n_threads": threads},
            progress=progress,
        )
    Console().print(rich_table(record))


@app.command("report")
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="`hammer eval run` directories (finished or not).")],
    as_markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a markdown table (README, model card) instead.")
    ] = False,
    common: Annotated[
        bool, typer.Option("--common", help="Count only the cases every row has (same cases everywhere).")
    ] = False,
    counts: Annotated[
        bool, typer.Option("--counts/--no-counts", help="Cases per cell, in parentheses.")
    ] = True,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="Also draw accuracy by category (PNG) to this file.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the rows (JSON) here.")] = None,
    show_failures: Annotated[
        bool,
        typer.Option("--failures", help="Also show, per row, why its cases failed (counts by category)."),
    ] = False,
) -> None:
    """Compare run directories: accuracy per category, non-live AST and the renamed-function drop."""
    import json

    from rich.console import Console

    from hammer_fc.eval import failures
    from hammer_fc.eval.compare import SHORT, collect, label, markdown_table, plot, rich_table
    from hammer_fc.outputs import atomic_output, check_output

    for path in (plot_path, json_path):
        if path is not None:
            check_output(path)  # before reading the runs
    rows = collect(run_dirs, common=common)
    if as_markdown:
        typer.echo(markdown_table(rows, counts=counts), nl=False)
    else:
        Console().print(rich_table(rows, counts=counts))
    for row in rows if show_failures else ():
        title = f"Why {label(row)} fails"
        if as_markdown:
            typer.echo(f"\n{title}:\n\n" + failures.markdown(row.failures, row.case_counts), nl=False)
        else:
            Console().print(failures.rich_table(row.failures, row.case_counts, title=title, short=SHORT))
    if plot_path is not None:
        plot(rows, plot_path)
    if json_path is not None:
        with atomic_output(json_path) as sink:
            sink.write((json.dumps([r.to_dict() for r in rows], indent=2) + "\n").encode())
