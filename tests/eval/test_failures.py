"""Why cases fail: answers built from real BFCL cases, judged by the checker, grouped by reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hammer_fc.eval import failures
from hammer_fc.eval.benches import load_bench
from hammer_fc.eval.compare import AS_GIVEN, collect
from helpers.hammer_cli import hammer


def _gold(bench: str, index: int) -> tuple[str, list[dict[str, Any]]]:
    example = load_bench(bench).examples[index]
    return example.id, [c.to_dict() for c in example.calls or []]


def _off(value: Any) -> Any:
    """A value of the same type that no gold answer accepts."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 12345
    if isinstance(value, list):
        return [*value, "not-an-item"]
    return "certainly-not-the-value"


VALUE_OR_TYPE = "value or type"
"""A changed argument: the checker may call it a wrong value or a wrong type."""


def _answers() -> list[tuple[dict[str, Any], str | None]]:
    """(prediction line, the reason expected; None: right)."""
    out: list[tuple[dict[str, Any], str | None]] = []

    def add(
        bench: str, index: int, calls: list[dict[str, Any]] | None, why: str | None, **extra: Any
    ) -> None:
        case_id, _ = _gold(bench, index)
        out.append(({"bench": bench, "id": case_id, "masked": False, "calls": calls, **extra}, why))

    simple = "bfcl:simple_python"
    add(simple, 0, _gold(simple, 0)[1], None)
    add(simple, 1, [], failures.NO_CALL)
    renamed = [{**_gold(simple, 2)[1][0], "name": "no_such_function"}]
    add(simple, 2, renamed, failures.WRONG_FUNCTION)
    add(simple, 3, _gold(simple, 3)[1] * 2, failures.TOO_MANY)
    call = _gold(simple, 4)[1][0]
    first = next(iter(call["arguments"]))
    wrong = {**call["arguments"], first: _off(call["arguments"][first])}
    add(simple, 4, [{**call, "arguments": wrong}], VALUE_OR_TYPE)
    add(simple, 5, None, failures.UNREADABLE, parse_error="the output could not be decoded")
    parallel = _gold("bfcl:parallel", 0)[1]
    assert len(parallel) > 1
    add("bfcl:parallel", 0, parallel[:1], failures.TOO_FEW)
    add("bfcl:irrelevance", 0, _gold(simple, 0)[1], failures.CALLED)
    add("bfcl:irrelevance", 1, [], None)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("failures") / "model-Q4_K_M-constrained"
    path.mkdir()
    (path / "run.json").write_text(json.dumps({"model": "model-Q4_K_M.gguf", "constrained": True}))
    lines = [json.dumps(line) for line, _ in _answers()]
    (path / "predictions.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_each_answer_is_given_its_reason(run: Path) -> None:
    (row,) = collect([run])
    assert row.names == AS_GIVEN
    expected: dict[str, dict[str, int]] = {}
    for line, why in _answers():
        if why is not None:
            by_reason = expected.setdefault(line["bench"], {})
            by_reason[why] = by_reason.get(why, 0) + 1
    found = {bench: dict(by_reason) for bench, by_reason in row.failures.items()}
    simple = found["bfcl:simple_python"]
    simple[VALUE_OR_TYPE] = simple.pop(failures.VALUE, 0) + simple.pop(failures.TYPE, 0)
    assert found == expected


def test_failures_add_up_to_the_accuracy_table(run: Path) -> None:
    (row,) = collect([run])
    for bench, cell in row.cells.items():
        assert sum(row.failures.get(bench, {}).values()) == cell.cases - cell.correct
    header, lines = failures.table_cells(row.failures, row.case_counts)
    assert header == ["", "simple_python", "parallel", "irrelevance", "all"]
    assert lines[0] == ["cases", "6", "1", "2", "9"]
    assert lines[1] == ["failed", "5", "1", "1", "7"]
    assert [line[0] for line in lines[2:]] == failures.present(row.failures)
    assert failures.present(row.failures)[:3] == [failures.NO_CALL, failures.TOO_FEW, failures.TOO_MANY]


def test_cli_prints_the_failures_per_row(run: Path) -> None:
    result = hammer("eval", "report", run, "--markdown", "--failures")
    assert result.returncode == 0, result.stderr
    assert "Why model Q4_K_M constrained fails:" in result.stdout
    assert "| too few calls |  | 1 |  | 1 |" in result.stdout
    assert "| called, none fits |  |  | 1 | 1 |" in result.stdout
    terminal = hammer("eval", "report", run, "--failures")
    assert terminal.returncode == 0 and "no call" in terminal.stdout
    plain = hammer("eval", "report", run, "--markdown")
    assert "Why" not in plain.stdout


@pytest.mark.parametrize(
    ("error_type", "calls", "expected", "why"),
    [
        ("simple_function_checker:wrong_count", 0, 1, failures.NO_CALL),
        ("parallel_function_checker_no_order:wrong_count", 2, 3, failures.TOO_FEW),
        ("multiple_function_checker:wrong_count", 2, 1, failures.TOO_MANY),
        ("simple_function_checker:missing_required", 1, 1, failures.ARGUMENT),
        ("type_error:js", 1, 1, failures.TYPE),
        ("value_error:dict_key", 1, 1, failures.VALUE),
        ("relevance_error:decoder_failed", 0, 0, failures.NO_CALL),
        ("f1:wrong_count", 0, 2, failures.NO_CALL),
        ("f1:missing_arg", 1, 1, failures.ARGUMENT),
        ("f1:unparseable", 0, 1, failures.UNREADABLE),
        ("f1:mismatch", 1, 1, failures.OTHER),
        ("checker_error", 1, 1, failures.OTHER),
    ],
)
def test_error_types_map_to_reasons(error_type: str, calls: int, expected: int, why: str) -> None:
    assert failures.reason(error_type, calls, expected) == why
