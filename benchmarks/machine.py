"""What every benchmark prints beside its figures: the machine and the library versions.

A figure without the CPU it ran on, the load it shared that CPU with and the versions of the
code on each side cannot be compared with another run; each benchmark prints these lines.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version

from hammer_fc.cpu import cpu_model


def versions(*packages: str) -> str:
    """``python 3.11.7, orjson 3.10.18, ...`` for the distributions named."""
    parts = [f"python {platform.python_version()}"]
    for package in packages:
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} (not installed)")
    return ", ".join(parts)


def machine_lines(*packages: str) -> list[str]:
    """The lines to print: CPU, cores, load average now, and the versions of ``packages``."""
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"machine: {cpu_model()}, {os.cpu_count()} cores, load average {load} (1 / 5 / 15 min)",
        f"versions: {versions('hammer-fc', *packages)}",
    ]
