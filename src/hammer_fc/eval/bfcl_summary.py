"""BFCL's summary rows, weighted as the leaderboard weights them (bfcl-eval 2026.3.23).

From ``bfcl_eval/eval_checker/eval_runner_helper.py::generate_leaderboard_csv``, with
``acc(c)`` a category's accuracy and ``n(c)`` its number of cases:

- ``non_live_simple`` = mean(acc(simple_python), acc(simple_java), acc(simple_javascript))
- ``non_live_ast`` = mean(non_live_simple, acc(multiple), acc(parallel), acc(parallel_multiple))
  (unweighted: Java's 100 cases weigh as much as Python's 400 inside "simple", and "simple"
  as much as each of the other three)
- ``live_ast`` = sum(acc(c) * n(c)) / sum(n(c)) over live_simple, live_multiple, live_parallel,
  live_parallel_multiple (weighted by case count: live_multiple's 1053 cases dominate)
- ``irrelevance`` = mean(acc(irrelevance), acc(live_irrelevance)) (unweighted)
- ``relevance`` = acc(live_relevance)
- ``overall``: the leaderboard's overall accuracy is
  ``0.1 non_live + 0.1 live + 0.1 irrelevance + 0.3 multi_turn + 0.4 agentic``. We judge the
  single-turn categories only, so ours is that formula restricted to its single-turn terms with
  the weights renormalised: ``(non_live_ast + live_ast + irrelevance) / 3``. Relevance is not
  part of it, as on the leaderboard. (Multiply by 0.3 for what these categories add to a
  leaderboard overall score.)

The leaderboard scores a category that was not run as 0 but shows the row as "N/A"; we return
``None`` for a row any of whose categories is missing, so a partial run never looks like a
full one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hammer_fc.errors import HammerError

NON_LIVE_SIMPLE = ("simple_python", "simple_java", "simple_javascript")
NON_LIVE_OTHER = ("multiple", "parallel", "parallel_multiple")
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
IRRELEVANCE = ("irrelevance", "live_irrelevance")
RELEVANCE = "live_relevance"

SUMMARY_ROWS = ("non_live_simple", "non_live_ast", "live_ast", "irrelevance", "relevance", "overall")


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if len(present) == len(values) else None


def _weighted(
    accuracy: Mapping[str, float], counts: Mapping[str, int], categories: Sequence[str]
) -> float | None:
    if any(category not in accuracy for category in categories):
        return None
    missing = [category for category in categories if category not in counts]
    if missing:
        raise HammerError(f"a case count is needed to weight {', '.join(missing)}", field="counts")
    total = sum(counts[category] for category in categories)
    if total == 0:
        return None
    return sum(accuracy[category] * counts[category] for category in categories) / total


def bfcl_summary(
    per_category_accuracy: Mapping[str, float], counts: Mapping[str, int]
) -> dict[str, float | None]:
    """The summary rows (keys :data:`SUMMARY_ROWS`) from per-category accuracies in [0, 1].

    ``counts`` (cases judged per category) is only needed for the live categories, whose row
    is count-weighted. A row is ``None`` when one of its categories was not evaluated.
    """
    acc = per_category_accuracy
    non_live_simple = _mean([acc.get(category) for category in NON_LIVE_SIMPLE])
    non_live_ast = _mean([non_live_simple, *(acc.get(category) for category in NON_LIVE_OTHER)])
    live_ast = _weighted(acc, counts, LIVE_AST)
    irrelevance = _mean([acc.get(category) for category in IRRELEVANCE])
    return {
        "non_live_simple": non_live_simple,
        "non_live_ast": non_live_ast,
        "live_ast": live_ast,
        "irrelevance": irrelevance,
        "relevance": acc.get(RELEVANCE),
        "overall": _mean([non_live_ast, live_ast, irrelevance]),
    }
