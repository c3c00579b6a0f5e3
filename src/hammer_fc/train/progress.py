"""Progress of a run: a rich bar with tokens/s and ETA, and one log line per logging step.

The log lines matter for runs in the background (``nohup``), where no bar is drawn: they carry
the same figures (step, loss, learning rate, tokens/s, ETA) as plain text.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from transformers import TrainerCallback


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN: no step timed yet
        return "-"
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class RichProgress(TrainerCallback):
    """Tokens/s counts the tokens this session trained on (``num_input_tokens_seen``)."""

    def __init__(self, console: Console | None = None, notes: list[str] | None = None) -> None:
        self.console = console or Console(quiet=True)
        self.notes = notes or []
        """Printed once when training starts (the chosen dtype and why, skipped checkpoints)."""
        self.progress: Progress | None = None
        self.task: Any = None
        self.start = 0.0
        self.start_step = 0
        self.start_tokens = 0
        self.tokens_per_s = 0.0

    def _rate(self, state: Any) -> tuple[float, float]:
        """(tokens/s, seconds left) over this session's steps."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        steps = state.global_step - self.start_step
        left = (state.max_steps - state.global_step) * elapsed / steps if steps else float("nan")
        return (state.num_input_tokens_seen - self.start_tokens) / elapsed, left

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.start = time.perf_counter()
        self.start_step = state.global_step
        self.start_tokens = state.num_input_tokens_seen
        if not state.is_world_process_zero:
            return
        for note in self.notes:
            self.console.print(note, highlight=False, soft_wrap=True)
        self.progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7.1f} tok/s  loss {task.fields[loss]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "train", total=state.max_steps, completed=state.global_step, rate=0.0, loss="-"
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.tokens_per_s, _ = self._rate(state)
            self.progress.update(self.task, completed=state.global_step, rate=self.tokens_per_s)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if self.progress is None or not logs or "loss" not in logs:
            return
        rate, left = self._rate(state)
        self.progress.update(self.task, loss=f"{logs['loss']:.4f}")
        self.progress.console.log(
            f"step {state.global_step}/{state.max_steps}  epoch {state.epoch:.2f}  loss {logs['loss']:.4f}  "
            f"lr {logs.get('learning_rate', 0):.2e}  {rate:.1f} tok/s  ETA {_clock(left)}",
            highlight=False,
        )

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.tokens_per_s, _ = self._rate(state)
            self.progress.stop()
            self.progress = None
