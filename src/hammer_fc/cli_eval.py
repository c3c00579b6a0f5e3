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
    from hammer_fc.eval.runner import score_predictions

    score_predictions(bench, predictions, out, metric=metric, summary_path=summary)


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
    from hammer_fc.eval.runner import run_eval
    from hammer_fc.inference.base import default_backend
    from hammer_fc.models import resolve

    chosen = backend or default_backend(resolve(model, adapter))
    options: dict[str, object] = {}
    if batch_size is not None and chosen in ("hf", "openai"):
        options["batch_size"] = batch_size
    if chosen in ("hf", "llamacpp"):
        options["n_threads"] = threads
    if chosen == "llamacpp":
        options["reuse_prefix"] = not no_prefix_reuse
    run_eval(
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
        max_tools=max_tools,
    )
