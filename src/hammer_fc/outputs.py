"""Output files: a clear error for a target that cannot be one, and nothing half-written.

Every command that writes a file (``data convert``, ``data prepare``, ``eval score``, ``bench``, ``export``)
checks its ``-o`` with :func:`check_output` (a folder, ``eval run``'s or ``train``'s, with
:func:`check_output_dir`) before doing any work (a typo in ``-o`` should not
cost a benchmark run) and writes through :func:`atomic_output`: a hidden ``.<name>.partial``
next to the target, renamed over it once complete and removed on any failure, so the target
is either the old file or the whole new one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from hammer_fc.errors import HammerError


def check_output(path: str | Path) -> Path:
    """``path`` as a file that can be written (its folder created if need be), or a
    :class:`HammerError` naming it: a directory, a folder that cannot be created or written."""
    path = Path(path)
    if path.is_dir():
        raise HammerError("is a directory: -o names the file to write", file=str(path))
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        message = f"cannot create its folder {parent}: {err.strerror or err}"
        raise HammerError(message, file=str(path)) from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise HammerError(f"its folder {parent} is not writable", file=str(path))
    return path


def check_output_dir(path: str | Path) -> Path:
    """``path`` as a folder to write into (created if need be; ``eval run -o``), or a
    :class:`HammerError` naming it: an existing file, a folder that cannot be created or written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise HammerError("is a file: -o names the folder to write into", file=str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HammerError(f"cannot create the folder: {err.strerror or err}", file=str(path)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise HammerError("the folder is not writable", file=str(path))
    return path


def partial_path(path: Path) -> Path:
    """Where :func:`atomic_output` writes ``path`` until it is complete."""
    return path.with_name(f".{path.name}.partial")


@contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: renamed into place when the block ends, removed
    if it raises. An operating-system failure (no space, no permission, the target turned into a
    directory meanwhile) is a :class:`HammerError` naming ``path``."""
    path = check_output(path)
    partial = partial_path(path)
    try:
        with partial.open("wb") as sink:
            yield sink
        os.replace(partial, path)
    except OSError as err:
        raise HammerError(f"cannot write: {err.strerror or err}", file=str(path)) from None
    finally:
        partial.unlink(missing_ok=True)


# A training output folder that is still being written says so, and loaders refuse it.
#
# ``hammer train`` writes its final model into ``-o`` in place (``save_pretrained`` writes the
# adapter's files one after the other), so a kill during that save would leave a folder that
# looks like a model and is half of one. The run therefore drops :data:`MARKER` into ``-o``
# before it writes anything there and removes it only once the model, tokenizer and reports are
# written and synced to disk: a folder without it is whole (or not a training output at all),
# and ``model_spec.resolve`` refuses one with it, naming the resume command. Folders
# written before the marker existed have none and load as before.

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
    sync_files(path for path in out_dir.iterdir() if path.name != MARKER)
    (out_dir / MARKER).unlink(missing_ok=True)


def sync_files(paths: Iterable[Path]) -> None:
    """Flush each of ``paths`` that is a file to disk (folders are skipped): what must be on
    disk before a rename or marker says it is whole."""
    for path in paths:
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


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
