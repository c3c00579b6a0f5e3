"""The ``hammer`` command as a user runs it, in a subprocess, on this checkout's code: the
console script where it is installed, ``python -m hammer_fc.cli`` otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hammer_fc

SCRIPT = Path(sys.executable).with_name("hammer")
HAMMER = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hammer_fc.cli"]
SRC = str(Path(hammer_fc.__file__).parents[1])
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]), "COLUMNS": "200"}


def hammer(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``hammer ARGS``: exit code, stdout and stderr."""
    return subprocess.run([*HAMMER, *map(str, args)], capture_output=True, text=True, timeout=300, env=ENV)
