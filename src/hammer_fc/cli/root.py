"""The ``hammer`` command: thin typer sub-apps, one per stage, each calling one function.

Every sub-app lives in ``cli/<stage>.py``; this module only assembles them (plus the
``quickstart`` recipe) and turns a :class:`~hammer_fc.errors.HammerError` into one clean line on
stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from hammer_fc.errors import HammerError

app = typer.Typer(
    name="hammer",
    help="Robust on-device function calling: data, training, evaluation, export and serving.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Sub-apps (one line each; keep alphabetical).
from hammer_fc.cli.bench import app as bench_app  # noqa: E402

app.add_typer(bench_app, name="bench")
from hammer_fc.cli.data import app as data_app  # noqa: E402

app.add_typer(data_app, name="data")
from hammer_fc.cli.eval import app as eval_app  # noqa: E402

app.add_typer(eval_app, name="eval")
from hammer_fc.cli.export import app as export_app  # noqa: E402

app.add_typer(export_app, name="export")
from hammer_fc.cli.serve import app as serve_app  # noqa: E402

app.add_typer(serve_app, name="serve")
from hammer_fc.cli.train import app as train_app  # noqa: E402

app.add_typer(train_app, name="train")


def main() -> None:
    """Entry point: run the app, report user errors without a traceback.

    The app runs in click's standalone mode, so typer itself turns a usage error (unknown
    option or command, missing option, bad value) into the usage line, the message and exit
    code 2, and Ctrl-C into 130, whichever click it bundles (typer >= 0.22 vendors its own as
    ``typer._click``: an ``isinstance`` test against ``click`` no longer catches its errors)."""
    try:
        app(prog_name="hammer")
    except HammerError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)


@app.command()
def quickstart(
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Where every stage writes.")] = Path(
        "runs/quickstart"
    ),
    eval_limit: Annotated[int, typer.Option(help="Cases per non-live BFCL category.")] = 4,
    train_steps: Annotated[int, typer.Option(help="Optimizer steps of the short training run.")] = 6,
    constrained: Annotated[
        bool,
        typer.Option(
            "--constrained/--free", help="Evaluate under the tool grammar (as hammer serve decodes) or free."
        ),
    ] = True,
    seed: int = 0,
    threads: Annotated[int | None, typer.Option(help="llama.cpp threads (default: llama.cpp's).")] = None,
) -> None:
    """The main job on the embedded model and data: prepare, evaluate, train, export, bench, serve."""
    from hammer_fc.recipes.quickstart import QuickstartOptions, run_quickstart

    run_quickstart(
        QuickstartOptions(
            out_dir=out_dir,
            eval_limit=eval_limit,
            train_steps=train_steps,
            constrained=constrained,
            seed=seed,
            threads=threads,
        )
    )
