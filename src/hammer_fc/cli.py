"""The ``hammer`` command: thin typer sub-apps, one per stage, each calling one function.

Every sub-app lives in ``cli_<stage>.py``; this module only assembles them and turns a
:class:`~hammer_fc.errors.HammerError` into one clean line on stderr and exit code 2.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from hammer_fc.errors import HammerError

app = typer.Typer(
    name="hammer",
    help="Robust on-device function calling: data, training, evaluation, export and serving.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Sub-apps (one line each; keep alphabetical).
from hammer_fc.cli_data import app as data_app  # noqa: E402

app.add_typer(data_app, name="data")


def main() -> None:
    """Entry point: run the app, report user errors without a traceback."""
    try:
        app(standalone_mode=False)
    except HammerError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(130)
    except Exception as err:  # click usage errors arrive here with standalone_mode=False
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(2)
        raise
