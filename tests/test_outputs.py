"""Output paths: a directory or an unwritable folder as ``-o`` is one clear error and exit code
2 before any work, and a failed write leaves neither a ``.partial`` file nor a truncated target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.runner import score_predictions
from hammer_fc.outputs import atomic_output, check_output, check_output_dir
from hammer_fc.prepare.convert import convert_file
from hammer_fc.prepare.run import prepare
from helpers.hammer_cli import hammer

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "xlam_sample.json"


def _targets(tmp_path: Path) -> dict[str, Path]:
    """A directory, and a path under a "folder" that is a file (root may write anywhere, so a
    read-only folder would not stop the tests' user)."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    return {"directory": tmp_path / "dir", "under-a-file": tmp_path / "file" / "out.jsonl"}


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.rglob(".*.partial"))


@pytest.mark.parametrize("kind", ["directory", "under-a-file"])
@pytest.mark.parametrize(
    "command",
    [
        ("data", "convert", SAMPLE, "--to", "openai"),
        ("data", "prepare", SAMPLE),  # the fast path: xLAM in, nothing to add
        ("data", "prepare", SAMPLE, "--add-irrelevance", "0.5"),  # the plain path
    ],
    ids=["convert", "prepare-fast", "prepare-plain"],
)
def test_bad_output_paths_exit_2_with_one_line(tmp_path: Path, kind: str, command: tuple) -> None:
    target = _targets(tmp_path)[kind]
    run = hammer(*command, "-o", target)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    expected = "is a directory" if kind == "directory" else "cannot create its folder"
    assert run.stderr.startswith(f"error: {target}: {expected}"), run.stderr
    assert _leftovers(tmp_path) == []
    assert (tmp_path / "file").read_text() == "x"


def test_library_entry_points_check_the_output_first(tmp_path: Path) -> None:
    targets = _targets(tmp_path)
    for target in targets.values():
        with pytest.raises(HammerError, match=str(target)):
            convert_file(SAMPLE, target, to_fmt="xlam")
        with pytest.raises(HammerError, match=str(target)):
            prepare([SAMPLE], target)
        with pytest.raises(HammerError, match=str(target)):
            score_predictions("bfcl:irrelevance", tmp_path / "no-such-predictions.jsonl", target)
    assert _leftovers(tmp_path) == []


def test_a_write_that_fails_half_way_keeps_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_output(out) as sink:
        sink.write(b"half")
        raise RuntimeError("stopped")
    assert out.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_convert_that_fails_while_writing_leaves_nothing(tmp_path: Path) -> None:
    """An alpaca record needs a gold answer: the error comes while writing."""
    src = tmp_path / "in.jsonl"
    record = {"query": "q", "tools": json.dumps([{"name": "f", "description": "", "parameters": {}}])}
    src.write_text(json.dumps({**record, "answers": "[]"}) + "\n" + json.dumps(record) + "\n")
    out = tmp_path / "out" / "alpaca.json"
    run = hammer("data", "convert", src, "--to", "alpaca", "-o", out)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert not out.exists() and _leftovers(tmp_path) == []


def test_check_output_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.json"
    assert check_output(target) == target and target.parent.is_dir() and not target.exists()


def test_a_run_folder_that_is_a_file_exits_2_before_any_work(tmp_path: Path) -> None:
    """``eval run -o`` names a folder: a file there (or above it) is one error line."""
    (tmp_path / "file").write_text("x")
    for target, message in ((tmp_path / "file", "is a file"), (tmp_path / "file" / "run", "cannot create")):
        with pytest.raises(HammerError, match=message):
            check_output_dir(target)
        run = hammer("eval", "run", "--model", "smollm2-135m", "--bench", "bfcl:simple_python", "-o", target)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith(f"error: {target}: {message}")
    assert check_output_dir(tmp_path / "a" / "run").is_dir()


def test_train_and_export_check_their_output_before_any_work(tmp_path: Path) -> None:
    """``train -o`` names a folder, ``export -o`` a file: a wrong one is one line, exit 2,
    before a model is loaded."""
    (tmp_path / "file").write_text("x")
    train = hammer("train", "--model", "smollm2-135m", "--data", SAMPLE, "-o", tmp_path / "file")
    assert train.returncode == 2 and train.stderr.startswith(f"error: {tmp_path / 'file'}: is a file")
    (tmp_path / "dir").mkdir()
    export = hammer("export", "--model", "smollm2-135m", "-q", "F16", "-o", tmp_path / "dir")
    assert export.returncode == 2 and export.stderr.startswith(f"error: {tmp_path / 'dir'}: is a directory")
    assert "Traceback" not in train.stderr + export.stderr


def test_resuming_a_folder_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    run = hammer("train", "--resume", "-o", tmp_path / "no-such-run")
    assert run.returncode == 2 and "nothing to resume: no such folder" in run.stderr, run.stderr
    assert not (tmp_path / "no-such-run").exists()
