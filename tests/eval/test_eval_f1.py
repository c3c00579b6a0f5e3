"""The paper's F1 scoring on hand-computed examples."""

from __future__ import annotations

import pytest

from hammer_fc.eval.f1 import f1_summary, score_case
from hammer_fc.schema import ToolCall as C


def test_set_level_precision_recall_f1_by_hand() -> None:
    scores = [
        # names 1/1/1; args: gold a,b; pred a,b; a agrees as a string ("1" == str(1)), b does not
        score_case([C("f", {"a": 1, "b": "x"})], [C("f", {"a": "1", "b": "y"})]),
        # names gold 1, pred 2, matched 1; args: gold d (c="" ignored), pred d and x, matched d
        score_case([C("g", {"c": "", "d": True})], [C("g", {"d": True}), C("h", {"x": 2})]),
        # no call, rightly: adds nothing
        score_case([], []),
        # unreadable output: one predicted name, wrong; no predicted argument
        score_case([C("k", {"z": 5})], None, parse_error="no JSON list"),
    ]
    summary = f1_summary(scores)
    assert summary["counts"] == {
        "gold_names": 3,
        "pred_names": 4,
        "matched_names": 2,
        "gold_args": 4,
        "pred_args": 4,
        "matched_args": 2,
    }
    assert summary["name"]["precision"] == pytest.approx(2 / 4)
    assert summary["name"]["recall"] == pytest.approx(2 / 3)
    assert summary["name"]["f1"] == pytest.approx(4 / 7)
    assert summary["args"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    assert summary["cases"] == 4 and summary["correct"] == 1 and summary["accuracy"] == 0.25
    assert summary["unparseable"] == 1
    assert [s.error_type for s in scores] == ["f1:wrong_value", "f1:wrong_count", "", "f1:unparseable"]


def test_a_duplicate_call_matches_one_gold_call_only() -> None:
    score = score_case([C("f", {"a": 1})], [C("f", {"a": 1}), C("f", {"a": 1})])
    assert (score.pred_names, score.matched_names, score.matched_args) == (2, 1, 1)
    assert not score.valid


def test_exact_match_ignores_order_and_empty_string_arguments() -> None:
    gold = [C("f", {"a": 1, "b": ""}), C("g", {"x": [1, 2]})]
    assert score_case(gold, [C("g", {"x": [1, 2]}), C("f", {"a": 1})]).valid
    assert score_case(gold, [C("g", {"x": [1, 2]}), C("f", {"a": 1, "b": ""})]).valid


def test_values_compare_as_strings() -> None:
    assert score_case([C("f", {"n": True})], [C("f", {"n": "True"})]).valid
    wrong = score_case([C("f", {"n": 5})], [C("f", {"n": 5.0})])
    assert not wrong.valid and wrong.matched_args == 0 and wrong.error_type == "f1:wrong_value"


def test_argument_pairs_follow_the_best_matching_gold_call() -> None:
    gold = [C("f", {"a": 1}), C("f", {"a": 2})]
    score = score_case(gold, [C("f", {"a": 2}), C("f", {"a": 1})])
    assert score.valid and score.matched_args == 2


@pytest.mark.parametrize(
    ("pred", "error_type"),
    [
        ([C("f", {"a": 1}), C("f", {"a": 1})], "f1:wrong_count"),
        ([C("g", {"a": 1})], "f1:wrong_name"),
        ([C("f", {})], "f1:missing_arg"),
        ([C("f", {"a": 1, "b": 2})], "f1:extra_arg"),
    ],
)
def test_mismatch_reasons(pred: list[C], error_type: str) -> None:
    score = score_case([C("f", {"a": 1})], pred)
    assert not score.valid and score.error_type == error_type and score.error


def test_nothing_to_measure_is_none_not_zero() -> None:
    summary = f1_summary([score_case([], [])])
    assert summary["name"] == {"precision": None, "recall": None, "f1": None}
    assert summary["accuracy"] == 1.0
