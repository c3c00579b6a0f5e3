"""``hammer recipe``: multi-stage jobs that produce a published result in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Multi-stage recipes (resumable: rerun the same command to continue).", no_args_is_help=True
)


@app.command("evidence")
def evidence(
    adapter: Annotated[
        Path, typer.Option("--adapter", help="The trained adapter directory (e.g. runs/hammer-smol-v2).")
    ],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Where models, run directories and the report go.")
    ],
    ablation: Annotated[
        Path | None, typer.Option("--ablation", help="The same recipe trained with masking ratio 0.")
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="The base model (default: the adapter's base).")
    ] = None,
    subset: Annotated[int, typer.Option("--subset", help="Cases per category of the subset runs.")] = 50,
    full: Annotated[
        bool, typer.Option("--full/--no-full", help="Run base and adapter constrained on all 1,390 cases.")
    ] = True,
    full_limit: Annotated[
        int | None, typer.Option("--full-limit", help="Cap the 'full' runs at N per category (a trial).")
    ] = None,
    free_masked: Annotated[
        bool, typer.Option("--free-masked/--no-free-masked", help="Free runs with --mask-names too.")
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the subset and of the renamed names.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", help="Evals run at the same time.")] = 2,
    threads: Annotated[int, typer.Option("--threads", help="llama.cpp threads per eval.")] = 1,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Answer length cap.")] = 256,
    bench: Annotated[
        str, typer.Option("--bench", help="BFCL categories (default all of non-live; fewer for a trial).")
    ] = "bfcl:non_live",
    into: Annotated[
        list[Path] | None,
        typer.Option(
            "--into", help="Paste the tables into this markdown file too, between markers (repeatable)."
        ),
    ] = None,
) -> None:
    """Issue 10's evidence: exports, base vs adapter constrained and free, renamed functions,
    the masking-ratio-0 ablation, F16/Q8_0/Q4_K_M; then evidence.md, evidence.json, accuracy.png."""
    from rich.console import Console

    from hammer_fc.eval.compare import rich_table
    from hammer_fc.recipes.evidence import TITLES, EvidenceOptions, run_evidence

    options = EvidenceOptions(
        adapter=adapter,
        out_dir=out,
        ablation=ablation,
        base=base,
        subset=subset,
        full=full,
        full_limit=full_limit,
        free_masked=free_masked,
        seed=seed,
        jobs=jobs,
        threads=threads,
        max_new_tokens=max_new_tokens,
        bench=bench,
        into=tuple(into or ()),
    )
    tables = run_evidence(options)
    console = Console()
    for key, rows in tables.items():
        if rows:
            console.print(rich_table(rows, title=TITLES[key]))
    console.print(f"report: {out / 'evidence.md'}, {out / 'evidence.json'}, {out / 'accuracy.png'}")
