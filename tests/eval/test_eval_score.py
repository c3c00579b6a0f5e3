"""``hammer eval score``: judging existing outputs (BFCL and paper benchmark files), no model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.runner import score_predictions
from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.prompts import render_completion

HAMMER = str(Path(sys.executable).with_name("hammer"))

PAPER = [
    {
        "query": "Move my dentist visit to Friday.",
        "tools": "[{'name': 'MoveAppointment', 'description': 'Change a date.', 'parameters': "
        "{'appointment_id': {'type': 'str', 'description': 'Id.'}, 'new_date': {'type': 'str', "
        "'description': 'YYYY-MM-DD'}}}]",
        "answers": [
            {"name": "MoveAppointment", "arguments": {"appointment_id": "5521", "new_date": "2024-05-10"}}
        ],
    },
    {
        "query": [{"role": "user", "content": "Hello there"}],
        "tools": "[{'name': 'Wave', 'description': 'Wave.', 'parameters': {}}]",
        "answers": [],
    },
]


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _verdicts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_bfcl_outputs_and_calls_are_judged_like_the_checker(tmp_path: Path) -> None:
    cases = load_bfcl("simple_python")[:3]
    gold = cases[0].calls
    predictions = _write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": cases[0].id, "output": "Sure!\n" + render_completion(gold)},
            {"id": cases[1].id, "calls": [{"name": "not_the_function", "arguments": {}}]},
            {"id": cases[2].id, "output": "I cannot help with that."},
        ],
    )
    summary = score_predictions("bfcl:simple_python", predictions, tmp_path / "v.jsonl")
    verdicts = _verdicts(tmp_path / "v.jsonl")
    assert [(v["id"], v["valid"]) for v in verdicts] == [(c.id, i == 0) for i, c in enumerate(cases)]
    assert verdicts[2]["error_type"] == "ast_decoder:decoder_failed"
    assert set(verdicts[1]) == {"bench", "id", "masked", "valid", "error_type", "error"}
    result = summary["benches"]["bfcl:simple_python"]
    assert result["cases"] == 3 and result["correct"] == 1 and result["missing"] == 397
    assert summary["accuracy"] == pytest.approx(1 / 3)
    assert summary["bfcl"]["non_live_simple"] is None  # java/javascript were not run


def test_paper_file_gets_f1_and_exact_match(tmp_path: Path) -> None:
    bench = tmp_path / "api_bank_l1.json"
    bench.write_text(json.dumps(PAPER))
    predictions = _write_jsonl(
        tmp_path / "p.jsonl",
        [
            {
                "id": 0,
                "calls": [
                    {"name": "MoveAppointment", "arguments": {"appointment_id": 5521, "new_date": "x"}}
                ],
            },
            {"id": "1", "output": "```\n[]\n```"},
        ],
    )
    summary = score_predictions(str(bench), predictions, tmp_path / "v.jsonl")
    result = summary["benches"][str(bench)]
    assert result["kind"] == "f1" and result["accuracy"] == 0.5
    assert result["name"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert result["args"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert [v["valid"] for v in _verdicts(tmp_path / "v.jsonl")] == [False, True]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "simple_python_2"}, "record 1: field 'output'"),
        ({"id": "nope", "output": "[]"}, "record 1: field 'id': no case 'nope'"),
        ({"id": "simple_python_1", "calls": [{"arguments": {}}]}, "record 1: field 'calls[0]'"),
        ({"id": "simple_python_0", "output": "[]"}, "record 1: field 'id': a second prediction"),
    ],
)
def test_bad_prediction_lines_name_file_record_and_field(tmp_path: Path, line: dict, message: str) -> None:
    predictions = _write_jsonl(tmp_path / "p.jsonl", [{"id": "simple_python_0", "output": "[]"}, line])
    with pytest.raises(HammerError) as err:
        score_predictions("bfcl:simple_python", predictions, tmp_path / "v.jsonl")
    assert f"p.jsonl: {message}" in str(err.value)


def test_cli_scores_and_reports_errors_cleanly(tmp_path: Path) -> None:
    case = load_bfcl("irrelevance")[0]
    predictions = _write_jsonl(tmp_path / "p.jsonl", [{"id": case.id, "output": "```\n[]\n```"}])
    out = tmp_path / "v.jsonl"
    args = [HAMMER, "eval", "score", "--bench", "bfcl:irrelevance", "--predictions", str(predictions)]
    run = subprocess.run([*args, "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "bfcl:irrelevance" in run.stdout and "100.00" in run.stdout
    assert _verdicts(out)[0]["valid"] is True
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    bad = [
        HAMMER,
        "eval",
        "score",
        "--bench",
        "bfcl:irrelevance",
        "--predictions",
        str(tmp_path / "bad.jsonl"),
    ]
    run = subprocess.run([*bad, "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "bad.jsonl: record 0: not valid JSON" in run.stderr
