"""Real kills: ``hammer train`` and ``hammer eval run`` in a subprocess, SIGKILLed once they have
saved something (the file system is polled: no sleep decides anything), then resumed; and a
run stopped during its final save, whose half-written model every loader refuses."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_train import adapter, assert_identical, build_tiny

from hammer_fc.errors import HammerError
from hammer_fc.model_spec import resolve
from hammer_fc.outputs import MARKER
from hammer_fc.train.config import TrainConfig, load_recipe
from hammer_fc.train.trainer import CHECKPOINTS, TrainJob, run_training
from helpers.hammer_cli import ENV, HAMMER, hammer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module", autouse=True)
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of this module's runs (in this process and in subprocesses), with
    ``dtype: auto``'s per-machine verdict kept out of the user's cache (shared by every run
    here, as on one machine)."""
    cache = str(tmp_path_factory.mktemp("xdg-cache"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", cache)
        yield {**ENV, "XDG_CACHE_HOME": cache}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CPU recipe cut to the tiny model: 12 steps, a checkpoint every 2, dropout on."""
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    path.write_text(
        (ROOT / "configs/smollm2-cpu.yaml").read_text()
        .replace("dropout: 0.0", "dropout: 0.1").replace("top_layers: 8", "top_layers: 1")
        .replace("token_budget: 140000", "token_budget: null")
        .replace("no_call_share: 0.2", "no_call_share: null").replace("cutoff: 768", "cutoff: 1024")
        .replace("batch_size: 4", "batch_size: 2").replace("epochs: 1", "epochs: 3")
        .replace("save_steps: 10", "save_steps: 2").replace("max_steps: -1", "max_steps: 12")
    )  # fmt: skip
    return path


def train_command(tiny: Path, out: Path, recipe: Path) -> list[str]:
    return [
        *HAMMER, "train", "--model", str(tiny / "model"), "--data", str(tiny / "data.jsonl"),
        "--config", str(recipe), "-o", str(out),
    ]  # fmt: skip


def kill_when(command: list[str], env: dict[str, str], ready: Callable[[], bool]) -> None:
    """Start ``command``, SIGKILL it as soon as ``ready()`` holds; fail if it ended first."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not ready():
            if process.poll() is not None:
                pytest.fail(
                    f"ended (exit {process.returncode}) before the kill: {process.stderr.read()[-2000:]!r}"
                )
            time.sleep(0.02)  # polling interval only: the condition is the file system's
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


def test_sigkilled_training_resumes_to_the_uninterrupted_runs_adapter(
    tmp_path: Path, tiny: Path, recipe: Path, env: dict[str, str]
) -> None:
    """SIGKILL once the step-2 checkpoint is published (at step 2, 3 or in the step-4 save),
    ``--resume``: the adapter equals an uninterrupted run's, bit for bit. Killed, the folder is
    refused by every loader with the resume command."""
    whole = tmp_path / "whole"
    done = subprocess.run(
        train_command(tiny, whole, recipe), capture_output=True, text=True, env=env, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (whole / MARKER).exists()

    killed = tmp_path / "killed"
    kill_when(
        train_command(tiny, killed, recipe), env, lambda: (killed / CHECKPOINTS / "checkpoint-2").is_dir()
    )
    assert (killed / MARKER).is_file()
    with pytest.raises(HammerError, match=rf"unfinished training output .*hammer train --resume -o {killed}"):
        resolve(str(killed))
    refused = hammer("export", "--model", killed, "-o", tmp_path / "x.gguf")
    assert refused.returncode == 2 and "unfinished training output" in refused.stderr, refused.stderr

    resumed = hammer_run(["train", "--resume", "-o", str(killed)], env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    stats = json.loads((killed / "data_stats.json").read_text())["run"]
    assert stats["steps"] == 12 and stats["resumed_from"] is not None
    assert not (killed / MARKER).exists()
    assert resolve(str(killed)).adapter == str(killed)
    assert_identical(adapter(whole), adapter(killed))


def hammer_run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HAMMER, *args], capture_output=True, text=True, env=env, timeout=900)


def test_a_stop_during_the_final_save_leaves_a_folder_loaders_refuse(
    tmp_path: Path, tiny: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final adapter is half written when the run stops (the file cut in two, as a kill in
    ``save_pretrained`` leaves it): ``resolve`` (every loader: eval, serve, export, train) refuses
    the folder naming the resume; ``--resume`` writes it whole, equal to an uninterrupted run's."""
    from transformers import Trainer

    config = load_recipe(str(recipe))
    data = [str(tiny / "data.jsonl")]
    whole = run_training(TrainJob(str(tiny / "model"), data, tmp_path / "whole", config)).out_dir
    save_model = Trainer.save_model

    def stopped_halfway(self: Trainer, output_dir: str | None = None, _internal_call: bool = False) -> None:
        save_model(self, output_dir, _internal_call)
        if _internal_call:  # a checkpoint's save
            return
        weights = Path(output_dir) / "adapter_model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "save_model", stopped_halfway)
    out = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        run_training(TrainJob(str(tiny / "model"), data, out, config))
    monkeypatch.undo()
    assert (out / "adapter_config.json").is_file() and (out / MARKER).is_file()  # looks whole; is not
    for spec, extra in ((str(out), {}), (str(tiny / "model"), {"adapter": str(out)})):
        with pytest.raises(HammerError, match=r"unfinished training output .*--resume"):
            resolve(spec, **extra)
    resumed = run_training(TrainJob("", [], out, TrainConfig(), resume=True))
    assert resumed.summary["resumed_from"].endswith("checkpoint-12")  # nothing left to train: re-saved
    assert not (out / MARKER).exists()
    assert_identical(adapter(whole), adapter(out))


CITIES = ("Lyon", "Tokyo", "Lima", "Oslo", "Cairo", "Quito")


def test_sigkilled_evaluation_resumes_and_generates_only_the_rest(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``hammer eval run`` SIGKILLed once a prediction is on disk (maybe in the middle of the
    next line): the rerun generates only the cases without a whole line, and scores as an
    uninterrupted run does."""
    tool = "[{'name': 'weather', 'description': 'Weather in a city.', 'parameters': " \
        "{'city': {'type': 'str', 'description': 'City.'}}}]"  # fmt: skip
    cases = [
        {
            "query": f"Weather in {city}?",
            "tools": tool,
            "answers": [{"name": "weather", "arguments": {"city": city}}],
        }
        for city in CITIES
    ]
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(cases))
    common = ["eval", "run", "--model", "smollm2-135m", "--bench", str(bench), "--max-new-tokens", "48"]
    whole = hammer_run([*common, "-o", str(tmp_path / "whole")], env)
    assert whole.returncode == 0, whole.stderr[-3000:]

    out = tmp_path / "killed"
    predictions = out / "predictions.jsonl"
    kill_when(
        [*HAMMER, *common, "-o", str(out)],
        env,
        lambda: predictions.is_file() and b"\n" in predictions.read_bytes(),
    )
    whole_lines = predictions.read_bytes().count(b"\n")
    assert 1 <= whole_lines < len(CITIES)
    resumed = hammer_run([*common, "-o", str(out)], env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["throughput"]["generated"] == len(CITIES) - whole_lines
    assert summary["benches"] == json.loads((tmp_path / "whole" / "summary.json").read_text())["benches"]
    ids = [json.loads(line)["id"] for line in predictions.read_text().splitlines() if line.endswith("}")]
    assert sorted(set(ids)) == [str(i) for i in range(len(CITIES))]
