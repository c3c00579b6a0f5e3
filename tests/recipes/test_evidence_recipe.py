"""``hammer recipe evidence`` end to end on a trial size: the shipped adapter as "v2" and as the
ablation, two categories, one case per category in the subset, two in the "full" runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.compare import AS_GIVEN, MASKED
from hammer_fc.eval.paste import BEGIN, END, paste_into
from hammer_fc.model_spec import ADAPTERS_DIR
from hammer_fc.recipes.evidence import EvidenceOptions, plan
from helpers.hammer_cli import ENV, HAMMER, hammer

SHIPPED = ADAPTERS_DIR / "hammer-smol"
BENCH = "bfcl:simple_python,bfcl:irrelevance"


@pytest.fixture
def adapters(tmp_path: Path) -> tuple[Path, Path]:
    v2, mask0 = tmp_path / "hammer-smol-v2", tmp_path / "hammer-smol-v2-mask0"
    shutil.copytree(SHIPPED, v2)
    shutil.copytree(SHIPPED, mask0)
    return v2, mask0


def _recipe(v2: Path, mask0: Path, out: Path) -> list[str | Path]:
    return [
        "recipe",
        "evidence",
        "--adapter",
        v2,
        "--ablation",
        mask0,
        "--bench",
        BENCH,
        "--subset",
        "1",
        "--full-limit",
        "2",
        "--no-free-masked",
        "--max-new-tokens",
        "32",
        "-o",
        out,
    ]


def _run_recipe(args: list[str | Path]) -> subprocess.CompletedProcess[str]:
    """The recipe as a user runs it (exports and evals take minutes on a loaded CPU)."""
    return subprocess.run([*HAMMER, *map(str, args)], capture_output=True, text=True, timeout=3600, env=ENV)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


@pytest.mark.slow
def test_recipe_end_to_end_and_resumed(adapters: tuple[Path, Path], tmp_path: Path) -> None:
    v2, mask0 = adapters
    out = tmp_path / "evidence"
    result = _run_recipe(_recipe(v2, mask0, out))
    assert result.returncode == 0, result.stderr[-3000:]
    names = sorted(p.name for p in (out / "models").glob("*.gguf"))
    assert names == [
        "hammer-smol-v2-F16.gguf",
        "hammer-smol-v2-Q4_K_M.gguf",
        "hammer-smol-v2-Q8_0.gguf",
        "hammer-smol-v2-mask0-Q4_K_M.gguf",
        "smollm2-135m-Q4_K_M.gguf",
    ]
    tables = json.loads((out / "evidence.json").read_text())
    headline = [(r["model"], r["decoding"], r["cases"]) for r in tables["headline"]]
    assert headline == [
        ("smollm2-135m", "constrained", 4),  # the "full" runs: 2 per category
        ("hammer-smol-v2", "constrained", 4),
        ("smollm2-135m", "free", 2),  # the subset: 1 per category
        ("hammer-smol-v2", "free", 2),
    ]
    robust = [(r["model"], r["names"], r["cases"]) for r in tables["robustness"]]
    assert robust == [
        (model, names, 2)
        for model in ("smollm2-135m", "hammer-smol-v2", "hammer-smol-v2-mask0")
        for names in (AS_GIVEN, MASKED)
    ]
    assert [(r["quant"], r["cases"]) for r in tables["quantization"]] == [
        ("F16", 2),
        ("Q8_0", 2),
        ("Q4_K_M", 2),
    ]
    # A run of one invocation: the report's figures are its summary's.
    for row in tables["quantization"][:2]:
        summary = json.loads((Path(row["run_dir"]) / "summary.json").read_text())
        for bench, scored in summary["benches"].items():
            assert row["categories"][bench]["accuracy"] == scored["accuracy"]
    text = (out / "evidence.md").read_text()
    assert text.count("| model | quant | decoding | names |") == 3
    assert text.count("| cases |") == 2  # why base and adapter fail, constrained
    assert (out / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert "hammer-smol-v2-mask0 Q4_K_M constrained masked" in result.stdout
    assert "de-quantizing" not in result.stderr  # transformers' bars kept out of the recipe's lines

    # Rerun: every export and prediction is there, nothing is generated again.
    runs = sorted((out / "eval").iterdir())
    before = {run.name: _lines(run / "predictions.jsonl") for run in runs}
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()}
    again = _run_recipe(_recipe(v2, mask0, out))
    assert again.returncode == 0, again.stderr[-3000:]
    assert {run.name: _lines(run / "predictions.jsonl") for run in runs} == before
    assert {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()} == stamps
    assert json.loads((out / "evidence.json").read_text()) == tables


def test_a_missing_adapter_is_a_clear_error(tmp_path: Path) -> None:
    result = hammer("recipe", "evidence", "--adapter", tmp_path / "runs" / "v2", "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "v2: field 'adapter': no such adapter directory" in result.stderr
    (tmp_path / "unfinished").mkdir()
    result = hammer("recipe", "evidence", "--adapter", tmp_path / "unfinished", "-o", tmp_path / "out")
    assert result.returncode == 2 and "no adapter_config.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing done before the check


def test_plan_runs_the_subset_before_the_full_set(adapters: tuple[Path, Path], tmp_path: Path) -> None:
    v2, mask0 = adapters
    exports, (subset, full) = plan(EvidenceOptions(adapter=v2, ablation=mask0, out_dir=tmp_path))
    assert [(m.name, q) for m, q in exports] == [
        ("smollm2-135m", "Q4_K_M"),
        ("hammer-smol-v2", "F16"),
        ("hammer-smol-v2", "Q8_0"),
        ("hammer-smol-v2", "Q4_K_M"),
        ("hammer-smol-v2-mask0", "Q4_K_M"),
    ]
    assert {(job.limit, job.run_dir.name) for job in full} == {
        (None, "hammer-smol-v2-Q4_K_M-constrained"),
        (None, "smollm2-135m-Q4_K_M-constrained"),
    }
    assert all(job.limit == 50 for job in subset)
    masked = sorted(job.run_dir.name for job in subset if job.mask_names)
    assert masked == [
        "hammer-smol-v2-Q4_K_M-constrained",
        "hammer-smol-v2-Q4_K_M-free",
        "hammer-smol-v2-mask0-Q4_K_M-constrained",
        "smollm2-135m-Q4_K_M-constrained",
        "smollm2-135m-Q4_K_M-free",
    ]
    # the full runs go into the subset's directories: its predictions are reused
    assert {job.run_dir for job in full} <= {job.run_dir for job in subset}
    cmd = next(job for job in full if "smollm2" in job.run_dir.name).command()
    assert cmd[-1] == "--constrained" and "--limit" not in cmd and "--threads" in cmd


def test_adapters_need_distinct_names(tmp_path: Path) -> None:
    one, other = tmp_path / "a" / "v2", tmp_path / "b" / "v2"
    shutil.copytree(SHIPPED, one)
    shutil.copytree(SHIPPED, other)
    with pytest.raises(HammerError, match="rename one folder"):
        plan(EvidenceOptions(adapter=one, ablation=other, out_dir=tmp_path / "out"))


def test_paste_into_a_card_replaces_its_own_block(tmp_path: Path) -> None:
    card = tmp_path / "README.md"
    card.write_text("# card\n\ntext\n")
    paste_into(card, "| a |\n")
    first = card.read_text()
    assert first == f"# card\n\ntext\n\n{BEGIN}\n| a |\n{END}\n"
    card.write_text(first + "\n## after\n")
    paste_into(card, "| b |\n")
    assert card.read_text() == f"# card\n\ntext\n\n{BEGIN}\n| b |\n{END}\n\n## after\n"
    card.write_text(f"{END}\n{BEGIN}\n")
    with pytest.raises(HammerError, match="not in order"):
        paste_into(card, "x")


def test_a_missing_file_to_paste_into_is_refused_first(adapters: tuple[Path, Path], tmp_path: Path) -> None:
    result = hammer(
        "recipe", "evidence", "--adapter", adapters[0], "--into", tmp_path / "nope.md", "-o", tmp_path / "o"
    )
    assert result.returncode == 2 and "nope.md: field 'into': no such file" in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_trained_cards_evaluation_section_takes_the_tables(tmp_path: Path) -> None:
    """The card the trainer writes holds the markers, so the tables land in its evaluation
    section, not at its end."""
    from hammer_fc.train.config import TrainConfig
    from hammer_fc.train.data import DataStats
    from hammer_fc.train.report import model_card

    card = tmp_path / "README.md"
    config, stats = TrainConfig(), DataStats()
    card.write_text(
        model_card(
            name="v2", base="b", sources=["bfcl:live"], config=config, stats=stats, summary={}, command="c"
        )
    )
    paste_into(card, "| table |\n")
    text = card.read_text()
    assert "Not measured yet" not in text
    assert text.index("## Evaluation") < text.index("| table |") < text.index("## Reproduce")
