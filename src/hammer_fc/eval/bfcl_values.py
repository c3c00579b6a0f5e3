"""How BFCL judges one argument value against its list of acceptable values.

Each ground-truth parameter carries a list of acceptable values; ``""`` in the list means the
parameter may be left out. The rules below are the leaderboard's, including the places where
they are looser or stricter than one might guess, because our verdict must equal its verdict:

- Types are compared exactly (``type(x) is T``): ``True`` is not an integer, ``1`` is not a
  float (the caller widens a top-level int to float for Python before coming here, but not
  inside lists).
- When the acceptable values have another type than the declared one (``"x"`` for an integer
  parameter), the answer is a *variable*: any value of the acceptable values' type passes the
  type check and the value is then compared exactly.
- Strings (also inside lists and dicts) are compared after :func:`standardize`.
- Lists are checked one level deep for element types; dicts are compared key by key against
  per-key acceptable lists; lists of dicts element by element, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_IGNORED = str.maketrans("", "", " ,./-_*^")


def standardize(text: str) -> str:
    """BFCL's string normal form: drop spaces and ``,./-_*^``, lower-case, ``'`` -> ``"``.

    So ``"April 1, 2024"`` equals ``"april 1 2024"``; everything else (other punctuation,
    accents, word order) still counts.
    """
    return text.translate(_IGNORED).lower().replace("'", '"')


def _std(value: Any) -> Any:
    return standardize(value) if type(value) is str else value


def _answer_type(acceptable: Any) -> type | None:
    """The type of the first acceptable value that is not the omit marker ``""``."""
    for answer in acceptable:
        if answer != "":
            return type(answer)
    return None


def check_type(value: Any, acceptable: Any, expected: type, item: type | None) -> tuple[str | None, bool]:
    """Type-check ``value``; return ``(error_type or None, is_variable)``.

    ``item`` is the declared element type of a list parameter (one level only, as BFCL).
    """
    hint = _answer_type(acceptable)
    is_variable = hint is not None and hint is not expected
    nested_failed = False
    if type(value) is expected:
        if item is None or _items_fit(value, acceptable, item):
            return None, is_variable
        nested_failed = True
    if hint is not None and type(value) is hint:
        # A value of the acceptable values' own type passes as a variable, but a list whose
        # elements failed keeps its nested type error.
        return ("type_error:nested" if nested_failed else None), True
    return "type_error:simple", is_variable


def _items_fit(value: list, acceptable: Any, item: type) -> bool:
    """Do the elements fit the element type for at least one acceptable alternative?

    An alternative that is not a list (``""``, a variable name) imposes no element type.
    """
    for answer in acceptable:
        if type(answer) is not list:
            return True
        hint = _answer_type(answer)
        if all(type(element) is item or (hint is not None and type(element) is hint) for element in value):
            return True
    return False


def string_matches(value: str, acceptable: Sequence[Any]) -> bool:
    return standardize(value) in [standardize(answer) for answer in acceptable if type(answer) is str]


def list_matches(value: list, acceptable: Sequence[Any]) -> bool:
    """Equal, element by element and in order, to one acceptable list (strings standardized).

    The omit marker ``""`` reads as an empty list here, so ``[]`` passes where the parameter
    is optional.
    """
    got = [_std(element) for element in value]
    return any(
        got == [_std(element) for element in answer]
        for answer in acceptable
        if isinstance(answer, list | str)
    )


def dict_error(value: Any, acceptable: Sequence[Any]) -> str | None:
    """Match a dict against acceptable dicts (each mapping key -> acceptable values).

    Returns ``None`` on a match, else the error type of the last alternative tried.
    """
    error = "dict_checker:unclear"
    for answer in acceptable:
        if answer == "":
            continue
        error = _dict_mismatch(value, answer)
        if error is None:
            return None
    return error


def _dict_mismatch(value: Any, answer: Any) -> str | None:
    if type(value) is not dict or not isinstance(answer, dict):
        return "value_error:dict_key"  # BFCL itself cannot compare these (it would crash)
    error = None
    for key, element in value.items():
        if key not in answer:
            error = "value_error:dict_key"
            break
        if _std(element) not in [_std(option) for option in _options(answer[key])]:
            error = "value_error:dict_value"
            break
    # Missing required keys are looked for even after a wrong value, and win.
    for key, options in answer.items():
        if key not in value and "" not in _options(options):
            return "value_error:dict_key"
    return error


def _options(options: Any) -> Any:
    """An acceptable-values entry as something ``in`` works on (BFCL crashes on anything else)."""
    return options if isinstance(options, list | str) else ()


def list_of_dicts_error(value: list, acceptable: Sequence[Any]) -> str | None:
    """Match a list of dicts, position by position, against acceptable lists of dicts."""
    error = "list_dict_checker:unclear"
    for answer in acceptable:
        if not hasattr(answer, "__len__") or len(value) != len(answer):
            error = "value_error:list_dict_count"
            continue
        error = None
        for got, want in zip(value, answer, strict=True):
            error = dict_error(got, [want])
            if error is not None:
                break
        if error is None:
            return None
    return error
