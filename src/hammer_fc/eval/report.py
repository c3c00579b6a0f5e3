"""A run's summary as a table: markdown for ``summary.md`` and the README, rich for the terminal;
and the terminal's progress bar of a run (:func:`cases_progress`), for the CLI and the recipes
to show (the runner itself only calls back).

Both tables are built from the same rows so they always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

BFCL_ROW_NAMES = {
    "non_live_simple": "BFCL non-live simple",
    "non_live_ast": "BFCL non-live AST",
    "live_ast": "BFCL live AST",
    "irrelevance": "BFCL irrelevance",
    "relevance": "BFCL relevance",
    "overall": "BFCL overall (single-turn)",
}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def table_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one per bench, then BFCL's summary rows when BFCL categories ran.

    F1 columns appear when a paper benchmark ran (the authors' beside ours with ``--metric
    authors``), masked columns with ``--mask-names``.
    """
    benches = summary["benches"]
    with_f1 = any(r["kind"] == "f1" for r in benches.values())
    authors = any("authors" in r for r in benches.values())
    masked = bool(summary.get("mask_names"))
    abstain = any("abstain" in r for r in benches.values())
    header = ["Bench", "Cases", "Accuracy"]
    header += ["Abstained", "Acc. without threshold"] if abstain else []
    header += ["Name F1", "Args F1"] if with_f1 else []
    header += ["API F1 (authors)", "Param F1 (authors)"] if authors else []
    header += ["Masked acc.", "Drop"] if masked else []
    rows = []
    for name, result in benches.items():
        row = [
            name if name.startswith("bfcl:") else Path(name).name,
            str(result["cases"]),
            pct(result["accuracy"]),
        ]
        if abstain:
            figures = result.get("abstain", {})
            row += [str(figures.get("abstained", "")), pct(figures.get("accuracy_without"))]
        if with_f1:
            f1 = result["kind"] == "f1"
            row += [pct(result["name"]["f1"]), pct(result["args"]["f1"])] if f1 else ["", ""]
        if authors:
            theirs = result.get("authors", {})
            row += [pct(theirs.get("F1_api")), pct(theirs.get("F1_param"))] if theirs else ["", ""]
        if masked:
            row += [pct(result["masked"]["accuracy"]), pct(result["drop"]["accuracy"])]
        rows.append(row)
    plain, masked_rows = summary.get("bfcl") or {}, summary.get("bfcl_masked") or {}
    for key, label in BFCL_ROW_NAMES.items():
        if plain.get(key) is None:
            continue
        row = [label, "", pct(plain[key])] + (["", ""] if abstain else [])
        row += (["", ""] if with_f1 else []) + (["", ""] if authors else [])
        if masked:
            m = masked_rows.get(key)
            row += [pct(m), pct(None if m is None else plain[key] - m)]
        rows.append(row)
    return header, rows


def title(summary: dict[str, Any]) -> str:
    return f"{summary['model']} ({summary['backend']}, template {summary['template']})"


def markdown(summary: dict[str, Any]) -> str:
    header, rows = table_rows(summary)
    lines = [f"### {title(summary)}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def rich_table(summary: dict[str, Any]) -> Table:
    header, rows = table_rows(summary)
    table = Table(title=title(summary))
    for i, column in enumerate(header):
        if i == 0:
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


class RateColumn(ProgressColumn):
    """Cases per second, as rich estimates it from recent progress."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.completed and task.elapsed:
            speed = task.completed / task.elapsed
        return Text("-- cases/s" if speed is None else f"{speed:.2f} cases/s", style="progress.data.speed")


@contextmanager
def cases_progress(console: Console) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A bar on ``console`` while the block runs; yields the ``progress`` callback of
    :func:`~hammer_fc.eval.runner.run_eval`."""
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    bar = Progress(*columns, console=console)

    def start(description: str, total: int) -> Callable[[int], None]:
        bar.start()  # drawn from the first task on (again a no-op): an early error leaves no blank line
        task = bar.add_task(description, total=total)
        return lambda n: bar.advance(task, n)

    try:
        yield start
    finally:
        if bar.live.is_started:  # stopping an unstarted bar still prints a line on a non-terminal
            bar.stop()
