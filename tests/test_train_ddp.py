"""A real 2-process DDP run on CPU via ``accelerate launch`` (gloo), two steps on a tiny llama."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_train import build_tiny

ROOT = Path(__file__).resolve().parents[1]


def test_accelerate_launch_two_cpu_processes(tmp_path: Path) -> None:
    tiny = build_tiny(tmp_path)
    out = tmp_path / "ddp"
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [
        str(accelerate), "launch", "--config_file", str(ROOT / "configs/accelerate/cpu-ddp-2proc.yaml"),
        "--main_process_port", "29533",
        "-m", "hammer_fc.train", "--model", str(tiny / "model"), "--data", str(tiny / "data.jsonl"),
        "--config", "smollm2-cpu", "--max-steps", "2", "-o", str(out),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads((out / "data_stats.json").read_text())["run"]
    assert run["device"].endswith("x2") and run["steps"] == 2
    assert (out / "adapter_model.safetensors").is_file()
    assert done.stdout.count("trained ->") == 1  # only the main process reports
