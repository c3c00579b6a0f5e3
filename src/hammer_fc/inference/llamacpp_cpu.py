"""Which of llama.cpp's optional CPU paths run on this machine, found by running them.

pip builds llama-cpp-python for the CPU it is built on (``-march=native``), and llama.cpp then
puts weights in *extra buffer types* where the CPU reports the features for them: tiles for
AMX int8, or weights repacked for AVX2 / AVX-512 kernels. A CPU can report a feature that the
OS or the hypervisor does not fully enable. On an Intel Xeon VM with AMX, the first prompt of
more than a few dozen tokens dies inside ``ggml_backend_amx_mul_mat`` (SIGSEGV at ``ldtilecfg``
or SIGILL at ``tileloadd``), while a standalone AMX program runs fine on the same VM. CPUID
cannot tell these cases apart, so we try it instead: a child process opens the model with the
extra buffer types and prefills a :data:`PROBE_TOKENS`-token prompt. If the child dies of a
signal, models are opened with ``use_extra_bufts = False``, which gives llama.cpp's plain CPU
kernels (still AVX2 / AVX-512 where compiled in). The verdict is cached per machine, llama.cpp
build and weight type (see :func:`_cache_key`), so the probe runs once.

``HAMMER_LLAMA_EXTRA_BUFTS=0`` or ``=1`` skips the probe and forces the choice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hammer_fc.cpu import cpu_flags, cpu_model
from hammer_fc.errors import HammerError

PROBE_TOKENS = 700
"""Prompt length of the probe: well past the few dozen tokens that send a batch to AMX."""
PROBE_TIMEOUT_S = 600
ENV_OVERRIDE = "HAMMER_LLAMA_EXTRA_BUFTS"

_patch_lock = threading.Lock()


@dataclass(frozen=True)
class CpuPlan:
    """How llama.cpp models are opened on this machine, and why."""

    extra_bufts: bool
    """llama.cpp's extra buffer types (AMX tiles, repacked weights) in use."""
    reason: str
    cpu: str
    probed: bool = False
    """True when this process ran the probe (not read from the cache or the environment)."""

    @property
    def summary(self) -> str:
        paths = "AMX / repacked weights on" if self.extra_bufts else "plain CPU kernels (extra buffers off)"
        return f"{paths} ({self.reason})"

    def describe(self) -> str:
        return f"llama.cpp on {self.cpu}: {self.summary}"


def _llama_build() -> str:
    """The installed llama.cpp build: version plus size and mtime of its CPU library, so a
    rebuilt wheel (other flags, another machine's cache) is probed afresh."""
    import llama_cpp

    lib = Path(llama_cpp.__file__).parent / "lib"
    stamps = sorted(
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in lib.glob("libggml-cpu*") if p.is_file()
    )
    return f"{llama_cpp.__version__}|{'|'.join(stamps)}"


def _weight_type(path: Path) -> str:
    """The GGUF file type: which tensors the extra buffer types would take depends on it."""
    try:
        from gguf import GGUFReader

        field = GGUFReader(str(path)).fields.get("general.file_type")
        return str(int(field.contents())) if field is not None else "unknown"
    except Exception:  # an unreadable header: llama.cpp will say what is wrong when it loads
        return "unknown"


def _cache_key(path: Path) -> str:
    text = "\n".join([cpu_model(), " ".join(sorted(cpu_flags())), _llama_build(), _weight_type(path)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hammer-fc" / "llamacpp-cpu.json"


def _read_cache() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(key: str, plan: CpuPlan) -> None:
    """Best effort: an unwritable cache only means probing again next time."""
    path = cache_path()
    data = _read_cache()
    data[key] = {k: v for k, v in asdict(plan).items() if k != "probed"}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass


@dataclass(frozen=True)
class ProbeResult:
    returncode: int
    detail: str

    @property
    def signal_name(self) -> str | None:
        """The signal that killed the child (``SIGILL``...), None if it exited by itself."""
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


def run_probe(path: Path, *, extra_bufts: bool) -> ProbeResult:
    """Open ``path`` in a child process and prefill :data:`PROBE_TOKENS` tokens."""
    cmd = [
        sys.executable,
        "-m",
        "hammer_fc.inference.llamacpp_cpu",
        str(path),
        "--extra-bufts",
        "1" if extra_bufts else "0",
    ]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, preexec_fn=_no_core_dump
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(1, f"no answer within {PROBE_TIMEOUT_S} s")
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    return ProbeResult(done.returncode, tail[0])


def _no_core_dump() -> None:
    """A probe that dies is expected here; it should not leave a core file behind."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def decide(path: Path, probe: Any = run_probe) -> CpuPlan:
    """Probe the fast path, then (if it died) the plain one; see the module docstring."""
    cpu = cpu_model()
    fast = probe(path, extra_bufts=True)
    if fast.returncode == 0:
        return CpuPlan(True, f"a {PROBE_TOKENS}-token prefill ran with them", cpu, probed=True)
    if fast.signal_name is None:
        # Not a crash (a file llama.cpp cannot read, say): nothing learnt about the CPU, so
        # nothing cached; the plain kernels are the safe guess, and the caller's own load
        # reports a real error in the file.
        return CpuPlan(False, f"probe inconclusive: {fast.detail}", cpu, probed=False)
    plain = probe(path, extra_bufts=False)
    if plain.returncode != 0 and plain.signal_name is not None:
        import llama_cpp

        raise HammerError(
            f"llama.cpp (llama-cpp-python {llama_cpp.__version__}) dies with {plain.signal_name} on this "
            f"CPU ({cpu}) even with its optional paths off: it was built for another CPU. Rebuild it "
            "here: `make llama-rebuild` (or pip install --no-cache-dir --force-reinstall "
            f"llama-cpp-python=={llama_cpp.__version__})",
            field="model",
        )
    return CpuPlan(
        False,
        f"a {PROBE_TOKENS}-token prefill with AMX / repacked weights died with {fast.signal_name} "
        "in a probe process",
        cpu,
        probed=True,
    )


def cpu_plan(path: Path) -> CpuPlan:
    """The plan for opening ``path`` here: forced by the environment, cached, or probed now."""
    forced = os.environ.get(ENV_OVERRIDE)
    if forced in ("0", "1"):
        return CpuPlan(forced == "1", f"{ENV_OVERRIDE}={forced}", cpu_model())
    key = _cache_key(path)
    cached = _read_cache().get(key)
    if isinstance(cached, dict) and {"extra_bufts", "reason", "cpu"} <= cached.keys():
        return CpuPlan(bool(cached["extra_bufts"]), str(cached["reason"]), str(cached["cpu"]))
    plan = decide(path)
    if plan.probed:
        _write_cache(key, plan)
    return plan


def open_llama(path: str | Path, **kwargs: Any) -> Any:
    """``llama_cpp.Llama(path, **kwargs)`` with the optional CPU paths this machine runs."""
    import llama_cpp

    if kwargs.get("vocab_only"):
        return llama_cpp.Llama(str(path), **kwargs)
    plan = cpu_plan(Path(path))
    return _construct(str(path), extra_bufts=plan.extra_bufts, **kwargs)


def _construct(path: str, *, extra_bufts: bool, **kwargs: Any) -> Any:
    """``Llama`` takes no ``use_extra_bufts`` argument; it reads llama.cpp's default model
    parameters while constructing, so those are swapped for the duration (under a lock)."""
    import llama_cpp
    import llama_cpp.llama_cpp as lib

    if extra_bufts:
        return llama_cpp.Llama(path, **kwargs)
    with _patch_lock:
        default = lib.llama_model_default_params

        def params() -> Any:
            p = default()
            p.use_extra_bufts = False
            return p

        lib.llama_model_default_params = params
        try:
            return llama_cpp.Llama(path, **kwargs)
        finally:
            lib.llama_model_default_params = default


def _probe_main(path: str, extra_bufts: bool) -> None:
    """The child: open, prefill :data:`PROBE_TOKENS` tokens, exit 0 (or die trying)."""
    llm = _construct(path, extra_bufts=extra_bufts, n_ctx=PROBE_TOKENS + 64, verbose=False)
    text = "The quick brown fox jumps over the lazy dog while tools are called. " * 64
    tokens = llm.tokenize(text.encode(), add_bos=False)[:PROBE_TOKENS]
    llm.eval(tokens)
    print(f"ok: {len(tokens)} tokens")


def main(argv: list[str] | None = None) -> None:
    """``python -m hammer_fc.inference.llamacpp_cpu [GGUF]``: print this machine's plan
    (probing if needed) for ``GGUF`` (default: the embedded model). With ``--extra-bufts`` it is
    the probe child itself."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("gguf", nargs="?")
    parser.add_argument("--extra-bufts", choices=["0", "1"])
    args = parser.parse_args(argv)
    if args.gguf is None:
        from hammer_fc.model_spec import embedded_gguf_path

        args.gguf = str(embedded_gguf_path())
    if args.extra_bufts is not None:
        _probe_main(args.gguf, args.extra_bufts == "1")
        return
    try:
        print(cpu_plan(Path(args.gguf)).describe())
    except HammerError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
