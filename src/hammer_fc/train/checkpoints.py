"""Checkpoints that are whole or absent, and the newest whole one for ``--resume``.

``transformers`` writes ``checkpoint-N`` in place, ``trainer_state.json`` last, so a kill during a
save leaves a folder that looks like a checkpoint and is not. :class:`~.trainer` saves each one
into :data:`STAGING` instead and renames it into place once every file (of every process) is
written: a kill at any moment leaves the previous checkpoint and either no new one or a whole
one. Folders written otherwise (older runs, copies) are still checked file by file by
:func:`checkpoint_problem` before a resume trusts them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

from hammer_fc.outputs import sync_files

STAGING = ".staging"
"""Subfolder of the checkpoints folder a checkpoint is written into before it is published."""
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHTS = (
    "adapter_model.safetensors",
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
)
TORCH_FILES = ("optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state.pth", "rng_state_*.pth")


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``checkpoint-N`` folder, newest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT.match(p.name)) and p.is_dir()]
    return sorted(found, reverse=True)


def _safetensors_problem(path: Path) -> str | None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as handle:
            handle.keys()
    except (SafetensorError, OSError) as err:
        return f"{path.name} is truncated or corrupt ({err})"
    return None


def checkpoint_problem(path: Path, step: int) -> str | None:
    """Why ``path`` is not a checkpoint of ``step`` that can be resumed from, or ``None``.

    Checks what a resume reads: the trainer state (valid, of this step), the weights (every
    safetensors file's header covers the file), and that each torch file (optimizer, scheduler,
    RNG states) is a whole zip archive, as ``torch.save`` writes them.
    """
    state = path / "trainer_state.json"
    try:
        saved_step = json.loads(state.read_text())["global_step"]
    except FileNotFoundError:
        return "trainer_state.json is missing"
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"trainer_state.json is unreadable ({err})"
    if saved_step != step:
        return f"trainer_state.json is of step {saved_step}"
    weights = next((path / name for name in WEIGHTS if (path / name).is_file()), None)
    if weights is None:
        return f"no weights ({' / '.join(WEIGHTS)})"
    if weights.name.endswith(".index.json"):
        try:
            shards = sorted(set(json.loads(weights.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError) as err:
            return f"{weights.name} is unreadable ({err})"
    else:
        shards = [weights.name] if weights.suffix == ".safetensors" else []
    for shard in shards:
        if problem := _safetensors_problem(path / shard):
            return problem
    deepspeed = any(p.is_dir() and p.name.startswith("global_step") for p in path.iterdir())
    if not deepspeed and not (path / "optimizer.pt").is_file() and not (path / "optimizer_0").is_dir():
        return "optimizer.pt is missing"
    for pattern in TORCH_FILES:
        for file in path.glob(pattern):
            if not zipfile.is_zipfile(file):
                return f"{file.name} is truncated or corrupt"
    return None


def newest_complete(folder: Path) -> tuple[Path | None, list[str]]:
    """The newest checkpoint that passes :func:`checkpoint_problem`, and one line per newer one
    skipped (``checkpoint-N: why``)."""
    skipped = []
    for step, path in checkpoints(folder):
        problem = checkpoint_problem(path, step)
        if problem is None:
            return path, skipped
        skipped.append(f"{path.name}: {problem}")
    return None, skipped


def publish(staged: Path, final: Path) -> None:
    """Move the whole checkpoint ``staged`` to ``final`` (same file system: renames only).

    A folder already at ``final`` (a broken one a resume skipped, re-saved at the same step) is
    first moved aside; a kill between the two renames leaves the previous checkpoints intact.
    The files are synced to disk first, so that a crash of the machine cannot publish a folder
    whose contents are still in memory.
    """
    sync_files(staged.rglob("*"))
    if final.exists():
        aside = staged.parent / f"replaced-{final.name}"
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(final, aside)
        os.replace(staged, final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(staged, final)
