"""A real 2-process DDP run on CPU via ``accelerate launch`` (gloo), two steps on a tiny llama."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from test_train import build_tiny

from hammer_fc.train.checkpoints import checkpoint_problem

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on now (the OS picks it), so parallel runs do not collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_accelerate_launch_two_cpu_processes(tmp_path: Path) -> None:
    tiny = build_tiny(tmp_path)
    out = tmp_path / "ddp"
    recipe = tmp_path / "recipe.yaml"  # the CPU recipe, saving every step
    recipe.write_text(
        (ROOT / "configs/smollm2-cpu.yaml").read_text().replace("save_steps: 10", "save_steps: 1")
    )
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [
        str(accelerate), "launch", "--config_file", str(ROOT / "configs/accelerate/cpu-ddp-2proc.yaml"),
        "--main_process_port", str(free_port()),
        "-m", "hammer_fc.cli", "train", "--model", str(tiny / "model"), "--data", str(tiny / "data.jsonl"),
        "--config", str(recipe), "--max-steps", "2", "-o", str(out),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads((out / "data_stats.json").read_text())["run"]
    assert run["device"].endswith("x2") and run["steps"] == 2
    assert (out / "adapter_model.safetensors").is_file()
    assert done.stdout.count("trained ->") == 1  # only the main process reports
    # Both ranks' files were in each checkpoint before it was published:
    for step in (1, 2):
        checkpoint = out / "checkpoints" / f"checkpoint-{step}"
        assert checkpoint_problem(checkpoint, step) is None
        assert {p.name for p in checkpoint.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    assert not any((out / "checkpoints" / ".staging").iterdir())
