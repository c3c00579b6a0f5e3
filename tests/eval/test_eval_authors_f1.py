"""The authors' F1 (--metric authors): their counting, quirks included, beside ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.authors_f1 import KEYS, authors_f1
from hammer_fc.eval.runner import score_predictions
from hammer_fc.formats import read_examples
from hammer_fc.prompts import get_template
from hammer_fc.schema import ToolCall
from helpers.shared_data import TOOLALPACA

SRC = Path(__file__).resolve().parents[2] / "src"


def _calls(*calls: tuple[str, dict]) -> str:
    return json.dumps([{"name": n, "arguments": a} for n, a in calls])


def test_example_a_string_values_and_empty_arguments() -> None:
    gold = [ToolCall("getWeather", {"city": "Paris", "days": 3, "unit": "celsius"})]
    pred = _calls(("getWeather", {"city": "Paris", "days": "3", "unit": "", "lang": "en"}))
    figures = authors_f1([(gold, pred)])
    assert (figures["P_api"], figures["R_api"], figures["F1_api"]) == (1.0, 1.0, 1.0)
    assert figures["P_param"] == figures["R_param"] == figures["F1_param"] == pytest.approx(2 / 3)


def test_example_b_duplicates_all_credited() -> None:
    gold = [ToolCall("setAlarm", {"time": "07:00"})]
    pred = _calls(("setAlarm", {"time": "07:00"}), ("setAlarm", {"time": "08:00"}))
    figures = authors_f1([(gold, pred)])
    assert (figures["P_api"], figures["R_api"]) == (1.0, 2.0)
    assert figures["F1_api"] == pytest.approx(4 / 3)
    assert (figures["P_param"], figures["R_param"]) == (0.5, 1.0)
    assert figures["F1_param"] == pytest.approx(2 / 3)


def test_example_c_format_errors_and_the_empty_arguments_credit() -> None:
    rows = [
        ([ToolCall("getTime", {})], '```json\n{"tool_calls": [{"name": "getTime", "arguments": {}}]}\n```'),
        ([ToolCall("getNews", {"topic": "x"})], "null"),
        ([ToolCall("getNews", {"topic": "x"})], "I cannot help with that."),
    ]
    figures = authors_f1(rows)
    assert figures["P_api"] == figures["R_api"] == figures["F1_api"] == pytest.approx(1 / 3)
    assert not {"P_param", "R_param", "F1_param"} & set(figures)  # 1/0/2: their script prints none
    assert figures["counts"]["correct_param"] == 1 and figures["counts"]["pred_param"] == 0


def test_first_matching_gold_call_is_used_not_the_best() -> None:
    gold = [ToolCall("f", {"a": 1, "b": 2}), ToolCall("f", {"a": 1, "b": 3, "c": 4})]
    pred = _calls(("f", {"a": 1, "b": 3, "c": 4}))
    counts = authors_f1([(gold, pred)])["counts"]
    assert counts["correct_param"] == 1  # a=1 against the first gold call; the exact second ignored


def test_values_compare_as_python_strings() -> None:
    gold = [ToolCall("f", {"n": 1, "flag": True, "x": 3})]
    pred = _calls(("f", {"n": 1.0, "flag": "true", "x": "3"}))
    assert authors_f1([(gold, pred)])["counts"]["correct_param"] == 1  # only 3 == "3"


def test_a_call_their_script_would_crash_on_is_reported() -> None:
    out = authors_f1([([ToolCall("f", {"a": 1})], '[{"name": "f"}]')])
    assert out["crashes"] == 1 and out["counts"]["pred_api"] == 1


@pytest.mark.skipif(not TOOLALPACA.is_file(), reason="the authors' samples are not here")
def test_perfect_predictions_score_above_one_on_tool_alpaca() -> None:
    """The issue's figure: their argument F1 of perfect answers on Tool-Alpaca is 1.0704."""
    examples = read_examples(TOOLALPACA, "paper").examples
    render = get_template("authors-1.0").completion
    figures = authors_f1([(e.calls or [], render(e.calls or [])) for e in examples])
    assert figures["F1_api"] == 1.0
    assert round(figures["F1_param"], 4) == 1.0704


@pytest.mark.skipif(not TOOLALPACA.is_file(), reason="the authors' samples are not here")
def test_eval_score_metric_authors_writes_the_summary(tmp_path: Path) -> None:
    """`hammer eval score --metric authors --summary S.json` as a user runs it (a subprocess)."""
    examples = read_examples(TOOLALPACA, "paper").examples
    render = get_template("authors-1.0").completion
    lines = [{"id": e.id, "output": render(e.calls or [])} for e in examples[:20]]
    lines[0] = {"id": examples[0].id, "output": "Sorry, no."}
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ["--bench", str(TOOLALPACA), "--predictions", str(predictions), "-o", str(tmp_path / "v.jsonl")]
    args += ["--metric", "authors", "--summary", str(tmp_path / "S.json")]
    run = subprocess.run(
        [sys.executable, "-c", "from hammer_fc.cli import main; main()", "eval", "score", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "S.json").read_text())
    assert set(KEYS) <= set(summary)
    expected = authors_f1([(e.calls or [], line["output"]) for e, line in zip(examples, lines, strict=False)])
    assert {k: summary[k] for k in KEYS} == {k: expected[k] for k in KEYS}
    bench = summary["benches"][str(TOOLALPACA)]
    assert bench["authors"]["F1_api"] == summary["F1_api"]
    assert bench["name"]["f1"] is not None  # ours still there, side by side
    assert "API F1 (authors)" in run.stdout


def test_unknown_metric_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HammerError, match="unknown metric 'paper'"):
        score_predictions("x.json", tmp_path / "p.jsonl", tmp_path / "v.jsonl", metric="paper")


class _GoldEcho:
    """Answers every case with its gold calls as shown (masked names on a masked case)."""

    name = "gold-echo"
    batch_size = 8

    def format(self, example, template: str) -> str:
        return get_template(template).completion(example.calls or [])

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        return list(prompts)

    def close(self) -> None:
        pass


@pytest.mark.skipif(not TOOLALPACA.is_file(), reason="the authors' samples are not here")
def test_eval_run_metric_authors_plain_and_masked(tmp_path: Path) -> None:
    from hammer_fc.eval.runner import run_eval

    summary = run_eval(
        "gold",
        str(TOOLALPACA),
        backend=_GoldEcho(),
        out_dir=tmp_path / "run",
        template="authors-1.0",
        mask_names=True,
        metric="authors",
    )
    bench = summary["benches"][str(TOOLALPACA)]
    assert round(summary["F1_param"], 4) == 1.0704 == round(bench["authors"]["F1_param"], 4)
    assert round(bench["masked"]["authors"]["F1_param"], 4) == 1.0704  # mapped back, then counted
    assert bench["args"]["f1"] == 1.0  # ours beside theirs
    assert "API F1 (authors)" in (tmp_path / "run" / "summary.md").read_text()


@pytest.mark.skipif(not TOOLALPACA.is_file(), reason="the authors' samples are not here")
def test_eval_run_sends_the_authors_prompt_to_llama_cpp(tmp_path: Path) -> None:
    """The real embedded model through llama.cpp: the 1.0 test prompt inside their qwen template."""
    from hammer_fc.eval.runner import run_eval
    from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
    from hammer_fc.model_spec import resolve

    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=4096, n_threads=1)
    try:
        example = read_examples(TOOLALPACA, "paper").examples[0]
        sent = engine.format(example, "authors-1.0")
        assert sent.endswith(
            get_template("authors-1.0").prompt(example) + "<|im_end|>\n<|im_start|>assistant\n"
        )
        summary = run_eval(
            "smollm2",
            str(TOOLALPACA),
            backend=engine,
            out_dir=tmp_path / "run",
            template="authors-1.0",
            limit=2,
            max_new_tokens=4,
            metric="authors",
        )
    finally:
        engine.close()
    assert summary["metric"] == "authors"
    assert summary["authors"]["counts"]["gold_api"] >= 2
