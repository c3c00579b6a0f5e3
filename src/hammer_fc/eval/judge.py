"""Judging outputs: one case's verdict, one bench's result, a run's summary.

A BFCL case is judged by :func:`~hammer_fc.eval.bfcl_ast.check_bfcl` against the category's
acceptable-value lists; a paper benchmark case by :func:`~hammer_fc.eval.f1.score_case`.
Both give the same verdict record ``{"valid", "error_type", "error"}``; a BFCL bench reports its
accuracy, an F1 bench its name/argument P/R/F1 as well.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.eval.benches import Bench
from hammer_fc.eval.bfcl_ast import check_bfcl, to_bfcl_calls
from hammer_fc.eval.bfcl_summary import bfcl_summary
from hammer_fc.eval.f1 import CaseScore, f1_summary, score_case
from hammer_fc.prompts import ParseError, parse_calls
from hammer_fc.schema import Example, ToolCall


@dataclass(frozen=True)
class Judged:
    """A verdict, with the F1 counts for a paper benchmark case."""

    valid: bool
    error_type: str = ""
    error: str = ""
    score: CaseScore | None = None

    def record(self) -> dict[str, Any]:
        return {"valid": self.valid, "error_type": self.error_type, "error": self.error}


def read_output(text: str) -> tuple[list[ToolCall] | None, str]:
    """Model text -> (calls, "") or (None, why it could not be read)."""
    parsed = parse_calls(text)
    if isinstance(parsed, ParseError):
        return None, parsed.message
    return parsed, ""


def judge(bench: Bench, example: Example, calls: list[ToolCall] | None, parse_error: str = "") -> Judged:
    """The verdict on ``calls`` (``None``: the output could not be read) for one case."""
    if bench.kind == "bfcl":
        try:
            verdict = check_bfcl(
                bench.category,
                example.meta["functions"],
                example.meta.get("ground_truth"),
                to_bfcl_calls(calls),
                language=example.meta.get("language"),
            )
        except HammerError as err:  # a case BFCL itself cannot judge: counted wrong, and said why
            return Judged(False, "checker_error", str(err))
        return Judged(verdict.valid, verdict.error_type, verdict.error)
    score = score_case(example.calls or [], calls, parse_error=parse_error)
    return Judged(score.valid, score.error_type, score.error, score)


def bench_result(bench: Bench, judged: Sequence[Judged]) -> dict[str, Any]:
    """One bench's figures from its cases' verdicts."""
    if bench.kind == "f1":
        result = {"kind": "f1", **f1_summary(j.score for j in judged if j.score is not None)}
    else:
        correct = sum(j.valid for j in judged)
        result = {
            "kind": "bfcl",
            "cases": len(judged),
            "correct": correct,
            "accuracy": correct / len(judged) if judged else None,
        }
    result["errors"] = dict(Counter(j.error_type for j in judged if not j.valid).most_common())
    return result


def bfcl_rows(results: dict[str, dict[str, Any]]) -> dict[str, float | None] | None:
    """BFCL's summary rows over the BFCL benches in ``results`` (``None`` if there are none)."""
    accuracy = {
        name.removeprefix("bfcl:"): r["accuracy"]
        for name, r in results.items()
        if r["kind"] == "bfcl" and r["accuracy"] is not None
    }
    if not accuracy:
        return None
    counts = {name.removeprefix("bfcl:"): r["cases"] for name, r in results.items() if r["kind"] == "bfcl"}
    return bfcl_summary(accuracy, counts)


def drop(plain: dict[str, Any], masked: dict[str, Any]) -> dict[str, float | None]:
    """How much masking the names costs: plain minus masked, per headline figure."""

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    out = {"accuracy": minus(plain.get("accuracy"), masked.get("accuracy"))}
    if plain["kind"] == "f1":
        out["name_f1"] = minus(plain["name"]["f1"], masked["name"]["f1"])
        out["args_f1"] = minus(plain["args"]["f1"], masked["args"]["f1"])
    return out
