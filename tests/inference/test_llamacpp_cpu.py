"""llama.cpp on whatever CPU this is: the optional paths are chosen by a probe, and a prompt long
enough to reach them (AMX took any batch of more than a few dozen tokens) runs through the
backend without killing the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.inference import llamacpp_cpu
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.inference.llamacpp_cpu import PROBE_TOKENS, CpuPlan, ProbeResult, cpu_plan, decide
from hammer_fc.model_spec import resolve
from hammer_fc.schema import Example, Message


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(llamacpp_cpu.ENV_OVERRIDE, raising=False)
    return tmp_path


def _dies_of(sig: str):
    """A probe whose child really dies of ``sig`` (a crash is a signal, not an exit code)."""

    def probe(path: Path, *, extra_bufts: bool) -> ProbeResult:
        code = f"import os, signal; os.kill(os.getpid(), signal.{sig})"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True)
        return ProbeResult(done.returncode, "")

    return probe


def test_a_long_prompt_prefills_through_the_backend() -> None:
    """The crash's trigger: a prompt of well over 600 tokens through the llama.cpp backend."""
    backend = LlamaCppBackend(resolve("smollm2-135m"), n_ctx=2048)
    try:
        text = " ".join(f"Call the tool number {i} with its default arguments." for i in range(90))
        example = Example(messages=[Message(role="user", content=text)], tools=[])
        prompt = backend.format(example, "hammer")
        assert backend.count_tokens(prompt) >= 600
        out = backend.generate([prompt], max_new_tokens=4)
        assert len(out) == 1 and isinstance(out[0], str)
        assert backend.stats.prompt_tokens >= 600
    finally:
        backend.close()


@pytest.mark.slow
def test_the_probe_decides_once_and_caches(cache_home: Path, embedded_gguf: Path) -> None:
    first = cpu_plan(embedded_gguf)
    assert first.probed
    assert str(PROBE_TOKENS) in first.reason
    again = cpu_plan(embedded_gguf)
    assert not again.probed  # read back from the cache
    assert (again.extra_bufts, again.reason) == (first.extra_bufts, first.reason)
    assert (cache_home / "hammer-fc" / "llamacpp-cpu.json").is_file()


def test_the_probe_child_runs_the_prefill(embedded_gguf: Path) -> None:
    """The child itself, on the plain path (safe everywhere): it really prefills and says so."""
    result = llamacpp_cpu.run_probe(embedded_gguf, extra_bufts=False)
    assert result.returncode == 0, result.detail
    assert result.detail == f"ok: {PROBE_TOKENS} tokens"


def test_a_probe_that_dies_turns_the_extra_buffers_off(embedded_gguf: Path) -> None:
    calls = []

    def probe(path: Path, *, extra_bufts: bool) -> ProbeResult:
        calls.append(extra_bufts)
        return _dies_of("SIGILL")(path, extra_bufts=True) if extra_bufts else ProbeResult(0, "ok")

    plan = decide(embedded_gguf, probe)
    assert calls == [True, False]
    assert not plan.extra_bufts and plan.probed
    assert "SIGILL" in plan.reason


def test_a_library_that_dies_on_the_plain_path_too_is_one_clear_error(embedded_gguf: Path) -> None:
    with pytest.raises(HammerError, match=r"dies with SIGSEGV on this CPU .*make llama-rebuild"):
        decide(embedded_gguf, _dies_of("SIGSEGV"))


def test_an_inconclusive_probe_is_safe_and_not_cached(embedded_gguf: Path) -> None:
    plan = decide(embedded_gguf, lambda path, *, extra_bufts: ProbeResult(1, "ImportError: no llama"))
    assert plan == CpuPlan(False, "probe inconclusive: ImportError: no llama", plan.cpu, probed=False)


def test_the_environment_forces_the_choice(
    cache_home: Path, embedded_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(llamacpp_cpu.ENV_OVERRIDE, "0")
    plan = cpu_plan(embedded_gguf)
    assert not plan.extra_bufts and not plan.probed
    assert not (cache_home / "hammer-fc").exists()


def test_the_command_prints_the_plan(embedded_gguf: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hammer_fc.inference.llamacpp_cpu", str(embedded_gguf)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"llama.cpp on {llamacpp_cpu.cpu_model()}: ")
