"""``dtype: auto``: the training precision this machine does fast.

On a GPU the rule is the device's: bf16 where it has bf16, else fp16 mixed precision. On a CPU
bf16 pays only where the cores do it natively (AMX or AVX512-BF16 on x86, the ``bf16`` feature on
Arm); elsewhere it is emulated and many times slower than fp32 (issue 9 reports ~20x on an
AVX2-only EPYC, and a LoRA step 1.74x faster in bf16 on an AMX Xeon). A flag is not proof (CPUID can
report features a hypervisor does not enable), so where one is present a child process times a
linear layer of the model's size, forward and backward, in fp32 and under bf16 autocast; a crash
there costs the child only. The verdict is cached per machine, CPU, torch version, thread count
and shape (``$XDG_CACHE_HOME/hammer-fc/train-dtype.json``), so every later run decides the same
way: a verdict re-measured on a noisy machine could flip and break "same command, same seed,
same adapter".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hammer_fc.cpu import cpu_flags, cpu_model

CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")
"""/proc/cpuinfo flags of native bf16 arithmetic (x86 AMX, x86 AVX-512, Arm ``Features``)."""
MIN_SPEEDUP = 1.25
"""bf16 must beat fp32 by this much on the probe: the whole step also pays for casts and for
fp32 work outside matmuls (4.7x on the matmul gave 1.74x on the step here)."""
PROBE_TOKENS = 512
PROBE_TIMEOUT_S = 120
CACHE_NAME = "train-dtype.json"


@dataclass(frozen=True)
class Precision:
    """What a run computes in, and why (recorded in the run's files and its model card)."""

    dtype: str
    """``bf16``, ``fp16`` or ``fp32``: the autocast / mixed-precision dtype."""
    reason: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hammer-fc"


def accelerator() -> str | None:
    """The accelerator torch would train on (``cuda``, ``mps``, ``xpu``), or ``None`` on CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        return "xpu"
    return None


def choose_precision(
    requested: str, *, hidden: int = 0, intermediate: int = 0, flags: set[str] | None = None
) -> Precision:
    """The precision for ``requested`` (``auto`` or an explicit dtype) on this machine.

    ``hidden`` x ``intermediate`` is the model's MLP projection, the shape the CPU probe times
    (needed for ``auto`` on a CPU only);
    ``flags`` defaults to this CPU's (a parameter so that a CPU without bf16 can be described).
    """
    device = accelerator()
    if requested != "auto":
        return Precision(requested, "set in the recipe")
    if device == "cuda":
        import torch

        if torch.cuda.is_bf16_supported():
            return Precision("bf16", f"auto: {torch.cuda.get_device_name()} supports bf16")
        return Precision("fp16", f"auto: {torch.cuda.get_device_name()} has no bf16: fp16 mixed precision")
    if device is not None:
        return Precision("fp32", f"auto: no rule for {device}: fp32 (set dtype to bf16 or fp16 to try them)")
    native = sorted(set(CPU_BF16_FLAGS) & (cpu_flags() if flags is None else flags))
    if not native:
        return Precision(
            "fp32", f"auto: {cpu_model()} has no native bf16 (no {'/'.join(CPU_BF16_FLAGS)} flag)"
        )
    if hidden <= 0 or intermediate <= 0:
        return Precision("fp32", "auto: the model's config names no hidden_size to measure bf16 with: fp32")
    probe = cached_probe(hidden, intermediate)
    shape = f"{PROBE_TOKENS}x{hidden}x{intermediate} linear layer, forward + backward"
    where = f"{cpu_model()} has {', '.join(native)}"
    if "error" in probe:
        return Precision(
            "fp32",
            f"auto: {where}, but the bf16 probe failed ({probe['error']}; the verdict is kept in "
            f"{cache_dir() / CACHE_NAME}: delete it to measure again): fp32",
        )
    speedup = probe["fp32_s"] / probe["bf16_s"]
    verdict = "bf16" if speedup >= MIN_SPEEDUP else "fp32"
    return Precision(
        verdict,
        f"auto: {where}; bf16 autocast measured {speedup:.2f}x the speed of fp32 on a {shape} "
        f"({probe['threads']} threads, {probe['measured']}; needs >= {MIN_SPEEDUP}x)",
    )


def cache_key(hidden: int, intermediate: int, threads: int) -> str:
    """What a verdict holds for: this CPU, torch build, thread count and shape."""
    import torch

    shape = f"{PROBE_TOKENS}x{hidden}x{intermediate}"
    return f"{cpu_model()} | torch {torch.__version__} | {threads} threads | {shape}"


def cached_probe(hidden: int, intermediate: int) -> dict[str, Any]:
    """The probe's result for this machine and shape: from the cache, else measured once.

    A file lock makes the processes of one ``accelerate launch`` measure once and agree. Where
    the cache cannot be written, every run measures afresh.
    """
    import torch
    from filelock import FileLock

    threads = torch.get_num_threads()
    key = cache_key(hidden, intermediate, threads)
    path = cache_dir() / CACHE_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock")
        lock.acquire()
    except OSError:
        return {**run_probe(hidden, intermediate, threads), "threads": threads, "measured": "not cached"}
    try:
        cache = _read_cache(path)
        if key not in cache:
            cache[key] = {**run_probe(hidden, intermediate, threads), "threads": threads}
            cache[key]["measured"] = time.strftime("%Y-%m-%d", time.gmtime())
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache, indent=1) + "\n")
            os.replace(tmp, path)
        return cache[key]
    finally:
        lock.release()


def _read_cache(path: Path) -> dict[str, Any]:
    """The cache, or empty if absent or unreadable (it is only ever a saving)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_probe(hidden: int, intermediate: int, threads: int) -> dict[str, Any]:
    """Time the layer in a child process: {"fp32_s", "bf16_s"}, or {"error"} if the child died."""
    cmd = [sys.executable, "-m", "hammer_fc.train.precision", str(hidden), str(intermediate), str(threads)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {PROBE_TIMEOUT_S} s"}
    if done.returncode < 0:
        return {"error": f"the child process died with {signal.Signals(-done.returncode).name}"}
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
    return json.loads(done.stdout)


def time_layer(hidden: int, intermediate: int, repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` seconds of one forward + backward of a ``hidden -> intermediate``
    linear layer on :data:`PROBE_TOKENS` tokens, fp32 and under bf16 autocast, interleaved so
    that load from other processes hits both alike."""
    import torch

    torch.manual_seed(0)
    layer = torch.nn.Linear(hidden, intermediate, bias=False)
    x = torch.randn(PROBE_TOKENS, hidden, requires_grad=True)

    def step(bf16: bool) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = layer(x)
        y.float().sum().backward()
        return time.perf_counter() - start

    best = {"fp32_s": float("inf"), "bf16_s": float("inf")}
    for i in range(repeats + 1):
        for name, bf16 in (("fp32_s", False), ("bf16_s", True)):
            seconds = step(bf16)
            if i:  # the first round warms up the kernels
                best[name] = min(best[name], seconds)
    return best


if __name__ == "__main__":
    import torch

    torch.set_num_threads(int(sys.argv[3]))
    sys.stdout.write(json.dumps(time_layer(int(sys.argv[1]), int(sys.argv[2]))))
