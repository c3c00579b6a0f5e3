"""Why cases fail: the checker's error types grouped into the few reasons a user can act on.

BFCL's checker names about 25 error types (``simple_function_checker:wrong_count``,
``value_error:string``, ``irrelevance_error:decoder_success``...). What decides the next step
(more multi-call data, a calibrated no-call threshold, better argument values) is coarser: did
the model not call at all, call too few or too many functions, pick the wrong one, get an
argument's presence, type or value wrong, or call where nothing fits. ``hammer eval report
--failures`` and ``hammer recipe evidence`` count these per category, from the same verdicts
as the accuracy table.
"""

from __future__ import annotations

from collections.abc import Mapping

NO_CALL = "no call"
TOO_FEW = "too few calls"
TOO_MANY = "too many calls"
WRONG_FUNCTION = "wrong function"
NO_MATCH = "unmatched call"
ARGUMENT = "missing/extra arg"
TYPE = "wrong type"
VALUE = "wrong value"
CALLED = "called, none fits"
UNREADABLE = "unreadable"
OTHER = "other"
REASONS = (
    NO_CALL,
    TOO_FEW,
    TOO_MANY,
    WRONG_FUNCTION,
    NO_MATCH,
    ARGUMENT,
    TYPE,
    VALUE,
    CALLED,
    UNREADABLE,
    OTHER,
)
"""Row order: the call-count decisions first, then the choice of function, then arguments."""

_BY_KIND = {
    "wrong_func_name": WRONG_FUNCTION,
    "cannot_find_match": NO_MATCH,
    "missing_required": ARGUMENT,
    "missing_optional": ARGUMENT,
    "unexpected_param": ARGUMENT,
    # the paper's F1 benches (eval/f1.py)
    "wrong_name": WRONG_FUNCTION,
    "missing_arg": ARGUMENT,
    "extra_arg": ARGUMENT,
    "wrong_value": VALUE,
    "unparseable": UNREADABLE,
}
_BY_CHECKER = {
    "type_error": TYPE,
    "value_error": VALUE,
    "dict_checker": VALUE,
    "list_dict_checker": VALUE,
    "irrelevance_error": CALLED,
    "ast_decoder": UNREADABLE,
    "relevance_error": NO_CALL,  # live_relevance: nothing decodable as a call where one is due
}


def reason(error_type: str, calls: int, expected: int) -> str:
    """The reason of one failed case: its checker ``error_type`` (``checker:kind``), the number
    of calls read from the answer and the number the gold answer has."""
    checker, _, kind = error_type.partition(":")
    if kind == "wrong_count":
        if calls == 0:
            return NO_CALL
        return TOO_FEW if calls < expected else TOO_MANY
    return _BY_KIND.get(kind) or _BY_CHECKER.get(checker, OTHER)


def present(counts: Mapping[str, Mapping[str, int]]) -> list[str]:
    """The reasons that occur in ``counts`` (by bench), in :data:`REASONS` order."""
    seen = {r for by_reason in counts.values() for r, n in by_reason.items() if n}
    return [r for r in REASONS if r in seen]


def table_cells(
    counts: Mapping[str, Mapping[str, int]], cases: Mapping[str, int]
) -> tuple[list[str], list[list[str]]]:
    """Header and rows as text: one column per bench (as in the accuracy table) and one for all,
    a row of cases, one of failures, then one per reason that occurs (blank: none)."""
    benches = list(cases)
    header = ["", *(b.removeprefix("bfcl:") for b in benches), "all"]

    def line(name: str, values: list[int], blank_zero: bool) -> list[str]:
        return [name, *(str(v) if v or not blank_zero else "" for v in [*values, sum(values)])]

    lines = [
        line("cases", [cases[b] for b in benches], False),
        line("failed", [sum(counts.get(b, {}).values()) for b in benches], False),
    ]
    lines += [line(r, [counts.get(b, {}).get(r, 0) for b in benches], True) for r in present(counts)]
    return header, lines


def markdown(counts: Mapping[str, Mapping[str, int]], cases: Mapping[str, int]) -> str:
    header, lines = table_cells(counts, cases)
    out = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out) + "\n"


def rich_table(
    counts: Mapping[str, Mapping[str, int]],
    cases: Mapping[str, int],
    *,
    title: str,
    short: Mapping[str, str] | None = None,
) -> object:
    """The same cells for a terminal, columns renamed by ``short`` (to fit ~100 columns)."""
    from rich.table import Table

    header, lines = table_cells(counts, cases)
    table = Table(title=title, title_justify="left")
    table.add_column(header[0], no_wrap=True)
    for name in header[1:]:
        table.add_column((short or {}).get(name, name), justify="right", no_wrap=True)
    for i, line in enumerate(lines):
        table.add_row(*line, end_section=i == 1)
    return table
