"""``hammer data``: convert between formats and prepare Hammer training sets."""

from __future__ import annotations

import typer

app = typer.Typer(help="Read, convert and prepare function-calling data.", no_args_is_help=True)
