"""Our scores for the paper's benchmarks (API-Bank L1/L2, Seal-Tools, Tool-Alpaca, Nexus Raven).

Precision, recall and F1 of function names and of ``(name, argument=value)`` pairs, counted over
the whole set (micro-averaged):

- gold names: one per gold call; predicted names: one per predicted call;
- gold pairs: the gold arguments whose value is not ``""``; predicted pairs likewise;
- values are compared as strings (``str(value)``: ``5`` and ``"5"`` agree, ``5`` and ``5.0`` do not);
- an output that cannot be read as a list of calls counts as one predicted call, wrong;
  ``[]`` predicts nothing;
- a predicted call is matched to at most one gold call of its name, the pairing that agrees on
  the most arguments first, so no figure exceeds 1.

This is *not* the Hammer authors' script, and the figures differ even without duplicate calls:
theirs credits every predicted call of a right name (recall above 1 with duplicates), takes the
first same-name gold call with any right argument rather than the best one, scores a gold call
without arguments matched by ``{}`` as one right argument in neither total (so perfect
predictions give an argument F1 above 1: 1.0704 on Tool-Alpaca), and parses outputs more
strictly. Their counting is :mod:`hammer_fc.eval.authors_f1` (``--metric authors``).

Per case, :func:`score_case` also gives an exact-match verdict: right iff the predicted calls,
compared the same way, are exactly the gold calls (in any order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hammer_fc.schema import ToolCall


@dataclass(frozen=True)
class CaseScore:
    """One case's counts and exact-match verdict."""

    gold_names: int
    pred_names: int
    matched_names: int
    gold_args: int
    pred_args: int
    matched_args: int
    valid: bool
    error_type: str = ""
    error: str = ""


def _pairs(call: ToolCall) -> dict[str, str]:
    """The call's arguments that count: empty strings dropped, values as strings."""
    if not isinstance(call.arguments, dict):
        return {}
    return {str(k): str(v) for k, v in call.arguments.items() if v != ""}


def _matched_args(gold: dict[str, str], pred: dict[str, str]) -> int:
    return sum(1 for key, value in gold.items() if pred.get(key) == value)


def _pair_calls(gold: list[ToolCall], pred: list[ToolCall]) -> list[tuple[ToolCall, ToolCall]]:
    """Each predicted call matched to at most one gold call of the same name, most agreeing
    arguments first (greedy over all candidate pairs, ties in input order)."""
    candidates = [
        (-_matched_args(_pairs(g), _pairs(p)), gi, pi)
        for gi, g in enumerate(gold)
        for pi, p in enumerate(pred)
        if g.name == p.name
    ]
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    pairs = []
    for _, gi, pi in sorted(candidates):
        if gi not in used_gold and pi not in used_pred:
            used_gold.add(gi)
            used_pred.add(pi)
            pairs.append((gold[gi], pred[pi]))
    return pairs


def _canonical(call: ToolCall) -> tuple[str, tuple[tuple[str, str], ...]]:
    return call.name, tuple(sorted(_pairs(call).items()))


def score_case(gold: list[ToolCall], pred: list[ToolCall] | None, *, parse_error: str = "") -> CaseScore:
    """Score one case; ``pred is None`` means the output could not be read (``parse_error`` says why)."""
    gold_args = sum(len(_pairs(c)) for c in gold)
    if pred is None:
        return CaseScore(
            len(gold), 1, 0, gold_args, 0, 0, False, "f1:unparseable", parse_error or "not a list of calls"
        )
    pairs = _pair_calls(gold, pred)
    matched_args = sum(_matched_args(_pairs(g), _pairs(p)) for g, p in pairs)
    counts = dict(
        gold_names=len(gold),
        pred_names=len(pred),
        matched_names=len(pairs),
        gold_args=gold_args,
        pred_args=sum(len(_pairs(c)) for c in pred),
        matched_args=matched_args,
    )
    if Counter(map(_canonical, gold)) == Counter(map(_canonical, pred)):
        return CaseScore(**counts, valid=True)
    return CaseScore(**counts, valid=False, **_mismatch(gold, pred, pairs))


def _mismatch(
    gold: list[ToolCall], pred: list[ToolCall], pairs: list[tuple[ToolCall, ToolCall]]
) -> dict[str, str]:
    """The first reason the prediction is not exactly the gold answer."""
    if len(pred) != len(gold):
        return {"error_type": "f1:wrong_count", "error": f"{len(pred)} calls, expected {len(gold)}"}
    if len(pairs) < len(gold):
        names = sorted({c.name for c in pred} - {c.name for c in gold}) or [c.name for c in pred]
        return {"error_type": "f1:wrong_name", "error": f"unexpected call to {', '.join(names)}"}
    for g, p in pairs:
        want, got = _pairs(g), _pairs(p)
        for key, value in want.items():
            if key not in got:
                return {"error_type": "f1:missing_arg", "error": f"{g.name}: missing {key}"}
            if got[key] != value:
                return {
                    "error_type": "f1:wrong_value",
                    "error": f"{g.name}: {key}={got[key]!r}, expected {value!r}",
                }
        extra = sorted(set(got) - set(want))
        if extra:
            return {"error_type": "f1:extra_arg", "error": f"{g.name}: unexpected {', '.join(extra)}"}
    return {"error_type": "f1:mismatch", "error": "calls differ"}


def _prf(matched: int, predicted: int, gold: int) -> dict[str, float | None]:
    """Precision, recall, F1; ``None`` where the denominator is zero (nothing to measure)."""
    precision = matched / predicted if predicted else None
    recall = matched / gold if gold else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def f1_summary(scores: Iterable[CaseScore]) -> dict[str, Any]:
    """Set-level figures: ``name`` and ``args`` P/R/F1, exact-match ``accuracy`` and the counts."""
    scores = list(scores)
    total = Counter()
    for s in scores:
        total.update(
            gold_names=s.gold_names,
            pred_names=s.pred_names,
            matched_names=s.matched_names,
            gold_args=s.gold_args,
            pred_args=s.pred_args,
            matched_args=s.matched_args,
        )
    correct = sum(s.valid for s in scores)
    return {
        "cases": len(scores),
        "correct": correct,
        "accuracy": correct / len(scores) if scores else None,
        "name": _prf(total["matched_names"], total["pred_names"], total["gold_names"]),
        "args": _prf(total["matched_args"], total["pred_args"], total["gold_args"]),
        "unparseable": sum(s.error_type == "f1:unparseable" for s in scores),
        "counts": dict(total),
    }
