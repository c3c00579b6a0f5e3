"""``hammer data``: convert between formats and prepare Hammer training sets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Read, convert and prepare function-calling data.", no_args_is_help=True)


@app.command("convert")
def convert(
    src: Annotated[
        str,
        typer.Argument(
            metavar="IN",
            help="Input file, bfcl:<category|all|live|non_live>, hf:ORG/NAME[:SPLIT], "
            "a Parquet/Arrow file or a save_to_disk folder.",
        ),
    ],
    to_fmt: Annotated[str, typer.Option("--to", help="Output format: xlam, openai, alpaca.")],
    out: Annotated[
        Path, typer.Option("-o", "--output", help="Output file (xlam, alpaca: .json list or .jsonl).")
    ],
    from_fmt: Annotated[
        str | None,
        typer.Option("--from", help="Input format: xlam, openai, bfcl, paper (detected when omitted)."),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Skip bad records (malformed, answers naming unknown functions or arguments, unknown "
            "types; no gold answer for alpaca), counted by kind, instead of stopping.",
        ),
    ] = False,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            help="Prompt template of alpaca output: hammer (default), hammer-chat, authors-sft, "
            "authors-1.0, authors-2.1.",
        ),
    ] = None,
) -> None:
    """Convert a data set between formats (xlam, openai, bfcl, paper -> xlam, openai, alpaca)."""
    from rich.console import Console
    from rich.markup import escape

    from hammer_fc.formats import describe_kinds
    from hammer_fc.prepare.convert import convert_file

    console = Console(stderr=True)
    with console.status(f"converting {src}"):
        done = convert_file(
            src, out, to_fmt=to_fmt, from_fmt=from_fmt, skip_invalid=skip_invalid, template=template
        )
    result = done.read
    for error in result.errors:
        console.print(f"[yellow]skipped:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    skipped = (
        f", [yellow]skipped {result.skipped} invalid ({describe_kinds(result.skipped_kinds)})[/]"
        if result.skipped
        else ""
    )
    console.print(
        f"read {len(result.examples)} examples ({result.format}) from {escape(src)}{skipped}; "
        f"wrote {done.written} ({to_fmt}) to {escape(str(out))}",
        highlight=False,
        soft_wrap=True,
    )
    if done.lost:
        console.print(
            f"[yellow]warning:[/] {sum(done.lost.values())} parameter type(s) written with less than "
            f"they say:",
            highlight=False,
            soft_wrap=True,
        )
        for what, n in done.lost.most_common():
            console.print(f"  {n} x {escape(what)}", highlight=False, soft_wrap=True)


@app.command("prepare")
def prepare(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="IN...", help="Input files, bfcl:<category|group>, hf:ORG/NAME[:SPLIT] data sets."
        ),
    ],
    out: Annotated[
        Path, typer.Option("-o", "--output", help="Output JSON Lines file, one example per line.")
    ],
    from_fmt: Annotated[
        str | None,
        typer.Option(
            "--from", help="Format of every input: xlam, openai, bfcl, paper (detected per file if omitted)."
        ),
    ] = None,
    epochs: Annotated[
        int, typer.Option("--epochs", help="Views of every example to write, masking drawn afresh for each.")
    ] = 1,
    mask_ratio: Annotated[
        float | None,
        typer.Option(
            "--mask-ratio",
            help="Share of examples masked per epoch (default: paper 0.33; with --masking released, 2/3).",
        ),
    ] = None,
    masking: Annotated[
        str,
        typer.Option(
            "--masking", help="hammer (ours), or released (the authors' released script, quirks included)."
        ),
    ] = "hammer",
    template: Annotated[
        str,
        typer.Option(
            "--template",
            help="Prompt template: hammer (ours), hammer-chat, authors-sft (the authors' SFT rows), ...",
        ),
    ] = "hammer",
    add_irrelevance: Annotated[
        float,
        typer.Option(
            "--add-irrelevance", help="No-call examples to add, as a share of the inputs (0: none)."
        ),
    ] = 0.0,
    compose: Annotated[
        float,
        typer.Option(
            "--compose",
            help="Multi-call examples built per epoch from single-call ones, share of inputs (0: none).",
        ),
    ] = 0.0,
    compose_variants: Annotated[
        float,
        typer.Option(
            "--compose-variants",
            help="Share of the composed examples that are value variants: one request saying several "
            "values side by side ('in Oslo and Lima'), one call per value (0: none).",
        ),
    ] = 0.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of every random choice (same seed, same output).")
    ] = 0,
    out_format: Annotated[
        str,
        typer.Option(
            "--format", help="prompt-completion, or alpaca (LLaMA-Factory instruction/input/output)."
        ),
    ] = "prompt-completion",
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Skip bad records (malformed, answers naming unknown functions or arguments, unknown "
            "types, no gold answer), counted by kind, instead of stopping.",
        ),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes to render with (default: all cores).")
    ] = None,
) -> None:
    """Prepare a Hammer training set: function masking drawn per epoch, irrelevance augmentation.

    Writes epochs x (inputs + added irrelevance examples + composed examples) lines;
    --add-irrelevance 0 and --compose 0 add none.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from hammer_fc.outputs import check_output
    from hammer_fc.prepare.run import prepare as run_prepare
    from hammer_fc.prepare.run import summary_rows

    check_output(out)  # before the progress bar: a bad -o is one line
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:

        def step(description: str, total: int | None) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)

        result = run_prepare(
            [Path(p) for p in inputs],
            out,
            fmt=from_fmt,
            epochs=epochs,
            mask_ratio=mask_ratio,
            add_irrelevance=add_irrelevance,
            compose=compose,
            compose_variants=compose_variants,
            seed=seed,
            out_format=out_format,  # type: ignore[arg-type]  (checked by run_prepare)
            skip_invalid=skip_invalid,
            workers=workers,
            progress=step,
            template=template,
            masking=masking,
        )
    for source in result.sources:
        for error in source.errors:
            console.print(f"[yellow]skipped:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    table = Table(title="hammer data prepare", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for what, value in summary_rows(result):
        table.add_row(what, value)
    console.print(table)
