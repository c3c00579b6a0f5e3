"""The Hammer authors' F1 (``evaluation/evaluate.py`` of MadeAgents/Hammer), quirks included.

Our own counting (:mod:`hammer_fc.eval.f1`) matches calls one to one; theirs does not, and a
figure meant to stand next to the paper's must be counted their way (authors.md §3):

- a prediction is parsed by deleting every ```` ```json ```` then every ```` ``` ```` and
  ``json.loads``-ing the rest (prose around it fails); ``{"tool_calls": X}`` becomes ``X``
  (``null`` there: ``[]``); a top-level ``null`` is a format error;
- a prediction that fails to parse or is not a list counts as **one predicted call** and nothing
  else; ``[]`` adds nothing;
- names: every predicted call whose name is among the row's gold names is correct (duplicates
  all count, so recall can exceed 1);
- arguments: the same-name gold calls are tried in order and the **first** with at least one
  correct argument is used; a correct argument is a gold key (``""`` values dropped on both
  sides) whose ``str()`` equals the prediction's; a gold call without arguments matched by ``{}``
  scores one correct argument while adding nothing to either total;
- P, R, F1 are micro-averaged over the file, and a group's figures are left out when its
  correct x predicted x gold is 0.

A predicted call without an ``arguments`` object crashes their script; here it is counted as a
format error (one predicted call) and reported in ``crashes`` so that such a figure is never
taken for one their script printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hammer_fc.schema import ToolCall

KEYS = ("P_api", "R_api", "F1_api", "P_param", "R_param", "F1_param")


class _FormatError(ValueError):
    """What their ``try``/``except`` around parsing catches."""


class _Crash(Exception):
    """A predicted call their script would stop on (no ``arguments`` object)."""


def parse_prediction(text: str) -> Any:
    """Their parse: fences deleted, ``json.loads``, ``tool_calls`` unwrapped; raises on failure."""
    try:
        value = json.loads(text.replace("```json", "").replace("```", ""))
    except (json.JSONDecodeError, RecursionError) as err:
        raise _FormatError(str(err)) from None
    if isinstance(value, dict) and "tool_calls" in value:
        value = value["tool_calls"] if value["tool_calls"] is not None else []
    if value is None:
        raise _FormatError("null")
    return value


def _agreeing(gold: dict[str, Any], predicted: dict[str, Any]) -> int:
    """Gold keys whose ``str()`` value the prediction repeats (``3`` matches ``"3"``)."""
    return sum(1 for k, v in gold.items() if k in predicted and str(predicted[k]) == str(v))


def _kept(arguments: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if v != ""}


@dataclass
class AuthorsCounts:
    """The six counts their script sums over a file (and the predictions it would crash on)."""

    correct_api: int = 0
    pred_api: int = 0
    gold_api: int = 0
    correct_param: int = 0
    pred_param: int = 0
    gold_param: int = 0
    crashes: int = 0
    crashed_rows: list[str] = field(default_factory=list)

    def add(self, gold: list[ToolCall], predicted: str | list[Any] | None, row: str = "") -> None:
        """Count one row: ``gold`` calls and the prediction (raw model text, an already decoded
        JSON value, or ``None`` for an output that could not be read)."""
        golds = [{"name": c.name, "arguments": _kept(c.arguments)} for c in gold]
        self.gold_api += len(golds)
        self.gold_param += sum(len(g["arguments"]) for g in golds)
        try:
            if predicted is None:
                raise _FormatError("unreadable")
            value = parse_prediction(predicted) if isinstance(predicted, str) else predicted
            if not isinstance(value, list):
                raise _FormatError("not a list")
            calls = [self._call(c) for c in value]
        except _FormatError:
            self.pred_api += 1
            return
        except _Crash:
            self.crashes += 1
            self.crashed_rows.append(row)
            self.pred_api += 1
            return
        self.pred_api += len(calls)
        names = {g["name"] for g in golds}
        for name, arguments in calls:
            self.pred_param += len(arguments)
            if name in names:
                self.correct_api += 1
            for g in golds:
                if g["name"] != name:
                    continue
                if not g["arguments"] and not arguments:
                    self.correct_param += 1
                    break
                correct = sum(
                    1 for k, v in g["arguments"].items() if k in arguments and str(arguments[k]) == str(v)
                )
                if correct:
                    self.correct_param += correct
                    break

    @staticmethod
    def _call(call: Any) -> tuple[Any, dict[str, Any]]:
        if not isinstance(call, dict) or not isinstance(call.get("arguments"), dict):
            raise _Crash
        return call.get("name"), _kept(call["arguments"])

    def figures(self) -> dict[str, float]:
        """``P_api`` ... ``F1_param`` as their script prints them (a group left out where
        correct x predicted x gold is 0)."""
        out: dict[str, float] = {}
        for group, (c, p, g) in (
            ("api", (self.correct_api, self.pred_api, self.gold_api)),
            ("param", (self.correct_param, self.pred_param, self.gold_param)),
        ):
            if c * p * g == 0:
                continue
            precision, recall = c / p, c / g
            out[f"P_{group}"] = precision
            out[f"R_{group}"] = recall
            out[f"F1_{group}"] = 2 * precision * recall / (precision + recall)
        return out

    def summary(self) -> dict[str, Any]:
        """The figures, the counts behind them, and the rows their script would crash on."""
        counts = {k: v for k, v in self.__dict__.items() if k not in ("crashes", "crashed_rows")}
        out: dict[str, Any] = {**self.figures(), "counts": counts}
        if self.crashes:
            out["crashes"] = self.crashes
            out["crashed_rows"] = self.crashed_rows[:20]
        return out


def authors_f1(rows: Iterable[tuple[list[ToolCall], str | list[Any] | None]]) -> dict[str, Any]:
    """Their figures over ``(gold calls, prediction)`` rows (see :meth:`AuthorsCounts.add`)."""
    counts = AuthorsCounts()
    for index, (gold, predicted) in enumerate(rows):
        counts.add(gold, predicted, str(index))
    return counts.summary()
