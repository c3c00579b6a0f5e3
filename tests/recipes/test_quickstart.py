"""``hammer quickstart``, the README's main job, run as a user runs it (a subprocess) with the
smallest settings: every stage runs, its files are where the summary says, the evaluation is
constrained, and the dependencies' noise stays out of the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hammer_fc.cli import main as cli_main
from hammer_fc.formats.bfcl import BFCL_NON_LIVE

HAMMER = Path(sys.executable).with_name("hammer")
CLI = "from hammer_fc.cli import main; main()"
LAUNCH = [str(HAMMER)] if HAMMER.exists() else [sys.executable, "-c", CLI]
NOISE = (
    "Traceback",
    "Warning:",  # FutureWarning, UserWarning, ... from a dependency
    "Unable to fetch remote file",
    "de-quantizing",  # transformers' GGUF progress bar
    "it/s]",  # any tqdm bar
    "llama_model_loader",  # llama.cpp's own log
    "llama_context:",
)
STAGES = [
    "data",
    "eval base",
    "train",
    "export quick",
    "eval quick",
    "export hammer-smol",
    "eval hammer-smol",
    "bench",
    "serve",
]


@pytest.mark.slow
def test_quickstart_runs_every_stage_quietly_and_says_where_its_files_are(tmp_path: Path) -> None:
    out = tmp_path / "qs"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TQDM_DISABLE")}
    env["COLUMNS"] = "200"  # the summary table on one line per stage
    args = ["quickstart", "-o", str(out), "--eval-limit", "1", "--train-steps", "1", "--threads", "1"]
    run = subprocess.run([*LAUNCH, *args], capture_output=True, text=True, env=env, timeout=1200)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    for noise in NOISE:
        assert noise not in output, f"{noise!r} in the quickstart's output"

    summary = json.loads((out / "summary.json").read_text())
    assert [s["stage"] for s in summary["stages"]] == STAGES
    assert all(s["seconds"] > 0 for s in summary["stages"])
    assert f"hammer quickstart: {len(STAGES)} steps in" in run.stdout
    for stage in STAGES:
        assert stage in run.stdout

    lines = (out / "train.jsonl").read_bytes().count(b"\n")
    assert lines == summary["data"]["lines"] > 0
    assert 0 < summary["data"]["masked"] < lines
    for name in ("eval-base", "eval-quick", "eval-hammer-smol"):
        assert json.loads((out / name / "run.json").read_text())["constrained"] is True
        predictions = (out / name / "predictions.jsonl").read_text().splitlines()
        assert len(predictions) == 7  # one case per non-live category
        assert any(json.loads(p)["calls"] for p in predictions), "constrained answers are readable"
    for label in ("base", "quick (1 steps)", "hammer-smol"):
        assert set(summary["eval"][label]["per_category"]) == {f"bfcl:{c}" for c in BFCL_NON_LIVE}
    assert (out / "train-quick" / "adapter_config.json").is_file()
    for gguf in ("quick-Q4_K_M.gguf", "hammer-smol-Q4_K_M.gguf"):
        assert (out / gguf).stat().st_size > 50 * 2**20
    bench = json.loads((out / "bench.json").read_text())
    assert bench["models"][0]["path"] == str(out / "hammer-smol-Q4_K_M.gguf")
    serve = summary["serve"]
    assert serve["finish_reason"] in ("tool_calls", "stop")
    assert all(call["name"] == "get_weather" for call in serve["tool_calls"])  # under the grammar


def test_quickstart_refuses_a_bad_option_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["hammer", "quickstart", "-o", str(tmp_path), "--eval-limit", "0"])
    with pytest.raises(SystemExit) as exit_:
        cli_main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--eval-limit must be at least 1, got 0" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # refused before any stage ran
