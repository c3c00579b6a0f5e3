"""What the CPU says of itself (``/proc/cpuinfo``): its name for reports and cache keys, and its
feature flags. Stages decide from what the CPU then *does* (llama.cpp's probe, the bf16 timing);
these only tell them what to try and what to key a verdict by."""

from __future__ import annotations

import platform
from pathlib import Path

_NAME_KEYS = ("model name", "Model", "Hardware")
"""x86's name line, then Arm's."""
_FLAG_KEYS = ("flags", "Features")


def _fields(keys: tuple[str, ...]) -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in keys:
            return value.strip()
    return None


def cpu_model() -> str:
    """The CPU's marketing name (``lscpu``'s "Model name"), else the platform's."""
    return _fields(_NAME_KEYS) or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The feature flags the kernel reports (empty where there is no ``/proc/cpuinfo``)."""
    return set((_fields(_FLAG_KEYS) or "").split())
