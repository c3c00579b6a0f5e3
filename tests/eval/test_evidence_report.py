"""``hammer eval report``: the table's figures are the run summaries' figures, read from real
``hammer eval run`` directories (the embedded GGUF, one case per non-live category)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hammer_fc.eval.benches import load_bench
from hammer_fc.eval.compare import AS_GIVEN, MASKED, collect, markdown_table, model_and_quant, read_run
from hammer_fc.eval.runner import run_eval, score_predictions
from helpers.hammer_cli import hammer


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, embedded_gguf: Path) -> Path:
    """A constrained run with renamed functions: 7 plain and 7 masked cases."""
    out = tmp_path_factory.mktemp("report") / "base-constrained"
    run_eval(
        str(embedded_gguf),
        "bfcl:non_live",
        out_dir=out,
        limit=1,
        mask_names=True,
        constrained=True,
        max_new_tokens=48,
        backend_options={"n_threads": 1},
    )
    return out


@pytest.fixture(scope="module")
def gold_dir(run_dir: Path) -> Path:
    """The same run with the gold answer put in for the plain case of three categories, so that
    the figures are not all zero; its summary is what ``hammer eval score`` makes of it."""
    out = run_dir.with_name("gold")
    shutil.copytree(run_dir, out)
    fixed = {"bfcl:simple_python", "bfcl:multiple", "bfcl:parallel"}
    lines = []
    for line in (out / "predictions.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["bench"] in fixed and not record["masked"]:
            example = next(e for e in load_bench(record["bench"]).examples if e.id == record["id"])
            record["calls"] = [c.to_dict() for c in example.calls or []]
            record.pop("parse_error", None)
        lines.append(json.dumps(record))
    (out / "predictions.jsonl").write_text("\n".join(lines) + "\n")
    score_predictions(
        "bfcl:non_live",
        out / "predictions.jsonl",
        out / "verdicts.jsonl",
        summary_path=out / "summary.json",
    )
    return out


def _check_against_summary(directory: Path) -> None:
    summary = json.loads((directory / "summary.json").read_text())
    plain, masked = collect([directory])
    assert (plain.names, masked.names) == (AS_GIVEN, MASKED)
    for name, result in summary["benches"].items():
        assert plain.cells[name].cases == result["cases"]
        assert plain.cells[name].accuracy == pytest.approx(result["accuracy"])
        assert masked.cells[name].accuracy == pytest.approx(result["masked"]["accuracy"])
    assert plain.non_live_ast == pytest.approx(summary["bfcl"]["non_live_ast"])
    assert masked.non_live_ast == pytest.approx(summary["bfcl_masked"]["non_live_ast"])
    assert masked.drop == pytest.approx(
        summary["bfcl"]["non_live_ast"] - summary["bfcl_masked"]["non_live_ast"]
    )


@pytest.mark.slow
def test_figures_equal_the_run_summary(run_dir: Path) -> None:
    _check_against_summary(run_dir)
    plain, masked = collect([run_dir])
    assert (plain.model, plain.quant, plain.decoding) == ("SmolLM2-135M-Instruct", "Q4_1", "constrained")
    assert plain.cases == masked.cases == 7


@pytest.mark.slow
def test_figures_equal_the_summary_with_right_answers(gold_dir: Path) -> None:
    _check_against_summary(gold_dir)
    plain, masked = collect([gold_dir])
    assert plain.cells["bfcl:simple_python"].accuracy == 1.0
    assert plain.non_live_ast is not None and plain.non_live_ast >= 0.5  # multiple, parallel, half of simple
    assert masked.drop is not None and masked.drop > 0


@pytest.mark.slow
def test_markdown_shows_each_cell_and_its_count(gold_dir: Path) -> None:
    rows = collect([gold_dir])
    text = markdown_table(rows)
    header, _rule, plain_line, masked_line = text.splitlines()[:4]
    assert header.startswith("| model | quant | decoding | names | simple_python |")
    assert (
        "| simple_java | simple_javascript | multiple | parallel | parallel_multiple | irrelevance |"
        in header
    )
    assert plain_line.startswith("| SmolLM2-135M-Instruct | Q4_1 | constrained | as given | 100.0 (1) |")
    ast = rows[0].non_live_ast
    assert f"| {100 * ast:.1f} (6) |" in plain_line  # six AST categories, irrelevance not counted
    assert masked_line.endswith(f"| {100 * rows[1].drop:.1f} |")


@pytest.mark.slow
def test_a_run_in_progress_is_read_as_far_as_it_got(run_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial)
    (partial / "summary.json").unlink()
    lines = (partial / "predictions.jsonl").read_bytes().splitlines(keepends=True)
    torn = b"".join(lines[:5]) + lines[5][:20]  # a line being written
    (partial / "predictions.jsonl").write_bytes(torn)
    rows = collect([partial])
    assert sum(row.cases for row in rows) == 5
    assert all(row.non_live_ast is None for row in rows)  # not all categories yet: no overall figure
    assert (partial / "predictions.jsonl").read_bytes() == torn  # left as it was for the writer


@pytest.mark.slow
def test_common_cases_and_a_larger_run(run_dir: Path, gold_dir: Path, tmp_path: Path) -> None:
    """A run that went on with --limit 2 into the same directory shows n = 2 per category; with
    --common, only the cases both directories hold are counted."""
    bigger = tmp_path / "bigger"
    shutil.copytree(run_dir, bigger)
    run_eval(
        str(read_run(run_dir).settings["model"]),
        "bfcl:simple_javascript,bfcl:irrelevance",
        out_dir=bigger,
        limit=2,
        constrained=True,
        max_new_tokens=48,
        backend_options={"n_threads": 1},
    )
    plain = collect([bigger])[0]
    assert plain.cells["bfcl:simple_javascript"].cases == 2
    assert plain.cells["bfcl:simple_python"].cases == 1
    both = collect([bigger, gold_dir], common=True)
    assert [row.cells["bfcl:irrelevance"].cases for row in both] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("runs/e/models/hammer-smol-v2-Q4_K_M.gguf", ("hammer-smol-v2", "Q4_K_M")),
        ("/x/SmolLM2-135M-Instruct.Q4_1.gguf", ("SmolLM2-135M-Instruct", "Q4_1")),
        ("m-f16.gguf", ("m", "F16")),
        ("plain.gguf", ("plain", "-")),
        ("hammer-smol", ("hammer-smol", "-")),
    ],
)
def test_model_and_quant_from_the_file_name(model: str, expected: tuple[str, str]) -> None:
    assert model_and_quant(model) == expected


@pytest.mark.slow
def test_cli_markdown_plot_and_json(gold_dir: Path, tmp_path: Path) -> None:
    result = hammer(
        "eval",
        "report",
        gold_dir,
        "--markdown",
        "--plot",
        tmp_path / "acc.png",
        "--json",
        tmp_path / "rows.json",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == markdown_table(collect([gold_dir]))
    assert (tmp_path / "acc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [r["names"] for r in rows] == [AS_GIVEN, MASKED]
    terminal = hammer("eval", "report", gold_dir)
    assert terminal.returncode == 0 and "n=1" in terminal.stdout


def test_cli_errors_name_the_directory(tmp_path: Path) -> None:
    missing = hammer("eval", "report", tmp_path / "nope")
    assert missing.returncode == 2 and "nope: no such run directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = hammer("eval", "report", tmp_path / "empty")
    assert empty.returncode == 2 and "not a `hammer eval run` directory" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr


def test_a_broken_prediction_line_is_named(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "m.gguf", "constrained": True}))
    line = {"bench": "bfcl:simple_python", "id": "simple_python_0", "masked": False, "calls": [{"name": "f"}]}
    (run / "predictions.jsonl").write_text(json.dumps(line) + "\n")
    result = hammer("eval", "report", run)
    assert result.returncode == 2
    assert "predictions.jsonl: record 0: not a prediction line" in result.stderr


def test_settings_that_change_the_answers_show_in_the_row(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    settings = {"model": "m-Q8_0.gguf", "constrained": True, "abstain_threshold": 0.20526, "max_tools": 5}
    (run / "run.json").write_text(json.dumps(settings))
    line = {"bench": "bfcl:simple_python", "id": "simple_python_0", "masked": False, "calls": []}
    (run / "predictions.jsonl").write_text(json.dumps(line) + "\n")
    (row,) = collect([run])
    assert (row.model, row.quant) == ("m, abstain at 0.205, top 5 tools", "Q8_0")
    settings.update(abstain_threshold=None, max_tools=None)
    (run / "run.json").write_text(json.dumps(settings))
    assert collect([run])[0].model == "m"
