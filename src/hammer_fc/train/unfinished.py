"""A training output folder that is still being written says so, and loaders refuse it.

``hammer train`` writes its final model into ``-o`` in place (``save_pretrained`` writes the
adapter's files one after the other), so a kill during that save would leave a folder that
looks like a model and is half of one. The run therefore drops :data:`MARKER` into ``-o``
before it writes anything there and removes it only once the model, tokenizer and reports are
written and synced to disk: a folder without it is whole (or not a training output at all),
and :func:`~hammer_fc.models.resolve` refuses one with it, naming the resume command. Folders
written before the marker existed have none and load as before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hammer_fc.errors import HammerError

MARKER = "training.unfinished"
"""In a training output folder from the start of a run until its last file is written."""


def mark_unfinished(out_dir: Path, command: str) -> None:
    """Say that ``out_dir`` is being written (by ``command``), synced before any model file."""
    marker = out_dir / MARKER
    with marker.open("w") as sink:
        sink.write(json.dumps({"command": command, "pid": os.getpid()}) + "\n")
        sink.flush()
        os.fsync(sink.fileno())


def mark_finished(out_dir: Path) -> None:
    """Sync every file of ``out_dir`` (but its checkpoints) to disk, then drop the marker."""
    for path in out_dir.iterdir():
        if path.is_file() and path.name != MARKER:
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    (out_dir / MARKER).unlink(missing_ok=True)


def check_finished(folder: str | Path, field: str) -> None:
    """A :class:`HammerError` (on ``field``) if ``folder`` is a training output still being written."""
    folder = Path(folder)
    if (folder / MARKER).is_file():
        raise HammerError(
            f"{folder} is an unfinished training output ({MARKER} is there: the run was stopped, "
            f"or is still going, before its final model was written whole); "
            f"finish it with: hammer train --resume -o {folder}",
            field=field,
        )
