"""``dtype: auto``: the precision follows the CPU's flags and a cached measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hammer_fc.train.precision import (
    CACHE_NAME,
    CPU_BF16_FLAGS,
    cache_key,
    choose_precision,
    cpu_flags,
)

NATIVE = bool(set(CPU_BF16_FLAGS) & cpu_flags())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "hammer-fc" / CACHE_NAME


def test_a_cpu_without_native_bf16_trains_in_fp32_without_measuring(cache: Path) -> None:
    chosen = choose_precision("auto", hidden=576, intermediate=1536, flags={"avx2", "fma"})
    assert chosen.dtype == "fp32" and "no native bf16" in chosen.reason
    assert not cache.exists()
    assert choose_precision("bf16", hidden=576, intermediate=1536).reason == "set in the recipe"


@pytest.mark.parametrize(("fp32_s", "bf16_s", "dtype"), [(0.04, 0.016, "bf16"), (0.04, 0.8, "fp32")])
def test_the_cached_measurement_decides(cache: Path, fp32_s: float, bf16_s: float, dtype: str) -> None:
    """A verdict measured once is reused, so every later run on the machine chooses alike."""
    threads = torch.get_num_threads()
    cache.parent.mkdir(parents=True)
    entry = {"fp32_s": fp32_s, "bf16_s": bf16_s, "threads": threads, "measured": "2026-01-01"}
    cache.write_text(json.dumps({cache_key(576, 1536, threads): entry}))
    chosen = choose_precision("auto", hidden=576, intermediate=1536, flags={"amx_bf16"})
    assert chosen.dtype == dtype
    assert (
        f"measured {fp32_s / bf16_s:.2f}x the speed of fp32" in chosen.reason and "amx_bf16" in chosen.reason
    )


@pytest.mark.skipif(not NATIVE, reason="this CPU has no native bf16 flag: auto never measures here")
def test_the_probe_runs_once_per_machine_and_shape(cache: Path) -> None:
    first = choose_precision("auto", hidden=256, intermediate=512)
    saved = json.loads(cache.read_text())
    (entry,) = saved.values()
    assert entry["fp32_s"] > 0 and entry["bf16_s"] > 0
    assert choose_precision("auto", hidden=256, intermediate=512) == first  # from the cache
    assert json.loads(cache.read_text()) == saved
    choose_precision("auto", hidden=128, intermediate=256)
    assert len(json.loads(cache.read_text())) == 2  # another shape, another measurement


def test_a_model_without_a_known_shape_trains_in_fp32(cache: Path) -> None:
    chosen = choose_precision("auto", hidden=0, intermediate=0, flags={"amx_bf16"})
    assert chosen.dtype == "fp32" and "hidden_size" in chosen.reason and not cache.exists()


@pytest.mark.skipif(not NATIVE, reason="this CPU has no native bf16 flag: auto never measures here")
def test_an_unwritable_cache_still_gives_a_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # hammer-fc/ cannot be created under a file
    chosen = choose_precision("auto", hidden=256, intermediate=512)
    assert chosen.dtype in ("bf16", "fp32") and "not cached" in chosen.reason
