"""Our BFCL single-turn judge: the same verdict as the leaderboard's AST checker, on any output.

A model output reaches the judge *decoded*, as BFCL decodes it: a list with one
``{function_name: {argument: value}}`` dict per call, or ``None`` when the text could not be
decoded at all. :func:`to_bfcl_calls` turns our :class:`~hammer_fc.schema.ToolCall` list into
that form and :func:`decode_hammer` decodes raw text exactly as BFCL's Hammer handler does.

How each category is judged (the official runner plus ``ast_checker``):

- ``irrelevance``, ``live_irrelevance``: right iff the output holds no call: undecodable,
  ``[]``, or anything not in the call-list shape.
- ``live_relevance``: right iff it holds at least one call (arguments are not checked).
- every other category: an undecodable output or one not in the call-list shape is wrong;
  then ``parallel*`` categories need as many calls as the ground truth, matched in any order
  (greedily: each expected call takes the first unused output call that fits it), ``multiple``
  categories exactly one call, judged against the one expected function, and ``simple``
  categories exactly one call, judged against the first offered function.

One call is right when it names the function, has every required parameter, has only
parameters that are both declared and in the ground truth, every value passes
:mod:`.bfcl_values` (after :mod:`.bfcl_typed` for Java and JavaScript, whose values must be
strings), and every ground-truth parameter it leaves out is optional there (``""``).

Function names are compared exactly, dots included: BFCL rewrites ``.`` to ``_`` in the
expected name only for models registered with ``underscore_to_dot`` (OpenAI, Mistral and
Google FC models, whose APIs forbid dots); Hammer models are not. Pass
``underscore_to_dot=True`` when a backend had to rename tools that way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.eval import bfcl_values
from hammer_fc.formats import bfcl_typed
from hammer_fc.formats.bfcl import BFCL_CATEGORIES, language_of
from hammer_fc.formats.bfcl_typed import LIST_TYPES, Language
from hammer_fc.schema import ToolCall

RELEVANCE_CATEGORIES = ("irrelevance", "live_irrelevance", "live_relevance")
"""Categories judged only on whether the output makes a call."""

AST_CATEGORIES = tuple(c for c in BFCL_CATEGORIES if c not in RELEVANCE_CATEGORIES)
"""Categories judged call by call against a ground truth: every single-turn category the
readers know (``formats.bfcl``) but the relevance ones."""

_PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_JAVA_TYPES: dict[str, type] = {
    "byte": int,
    "short": int,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "boolean": bool,
    "char": str,
    "String": str,
    "any": str,
    "Array": list,
    "ArrayList": list,
    "Queue": list,
    "Stack": list,
    "Set": set,
    "HashMap": dict,
    "Hashtable": dict,
}
_JS_TYPES: dict[str, type] = {
    "String": str,
    "any": str,
    "integer": int,
    "Bigint": int,
    "float": float,
    "Boolean": bool,
    "dict": dict,
    "array": list,
}
_TYPES: dict[str, dict[str, type]] = {"python": _PYTHON_TYPES, "java": _JAVA_TYPES, "javascript": _JS_TYPES}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement on one output; ``error_type`` uses BFCL's names (``""`` when valid)."""

    valid: bool
    error_type: str = ""
    error: str = ""


_OK = Verdict(True)


def _fail(error_type: str, error: str) -> Verdict:
    return Verdict(False, error_type, error)


def to_bfcl_calls(calls: Sequence[ToolCall] | None) -> list[dict[str, Any]] | None:
    """Our calls in BFCL's decoded form ``[{name: arguments}, ...]``; ``None`` stays ``None``
    (an output our parser could not read, judged like one BFCL could not decode)."""
    if calls is None:
        return None
    return [{call.name: call.arguments} for call in calls]


def decode_hammer(text: str) -> list[dict[str, Any]] | None:
    """Decode raw model text exactly as BFCL's Hammer handler (``decode_ast``) does.

    Fences are removed and the rest must be JSON; text that is not JSON decodes to ``[]``
    (no call), so for Hammer models an unreadable answer is never a decode *failure*: it is
    right on irrelevance, wrong everywhere else. A JSON value whose items are not
    ``{"name", "arguments"}`` objects fails to decode (``None``).
    """
    try:
        data = json.loads(text.replace("```", ""))
    except (ValueError, RecursionError):
        return []
    if not isinstance(data, list | str | dict):
        return None
    calls = []
    for item in data:  # a string yields characters and a dict its keys: both fail below
        if not isinstance(item, dict) or "name" not in item or "arguments" not in item:
            return None
        name = item["name"]
        if isinstance(name, list | dict):
            return None
        calls.append({name: item["arguments"]})
    return calls


def _is_call_list(calls: Any) -> bool:
    """BFCL's shape test: a list of one-key dicts whose value is an argument dict."""
    return type(calls) is list and all(
        type(call) is dict and len(call) == 1 and type(next(iter(call.values()))) is dict for call in calls
    )


def check_bfcl(
    category: str,
    functions: Sequence[Mapping[str, Any]],
    ground_truth: Sequence[Mapping[str, Any]] | None,
    calls: Any,
    *,
    language: Language | None = None,
    underscore_to_dot: bool = False,
) -> Verdict:
    """Judge one decoded output for one BFCL case, as the official checker would.

    ``functions`` is the case's raw BFCL function docs, ``ground_truth`` its possible-answer
    list (unused for the relevance categories), ``calls`` the decoded output (``None`` =
    undecodable). ``language`` overrides the one read off the category name. Raises
    :class:`HammerError` for an unknown category or a case BFCL itself could not judge (a
    parameter type it has no rule for, a ground truth naming an absent function).
    """
    if category in RELEVANCE_CATEGORIES:
        made_call = _is_call_list(calls) and len(calls) > 0
        if "irrelevance" in category:
            if made_call:
                return _fail("irrelevance_error:decoder_success", "a call was made where none should be")
            return _OK
        if made_call:
            return _OK
        return _fail("relevance_error:decoder_failed", "no call was made where one should be")
    if category not in AST_CATEGORIES:
        raise HammerError(f"not a BFCL single-turn category: {category!r}")
    if calls is None:
        return _fail("ast_decoder:decoder_failed", "the output could not be decoded")
    if not _is_call_list(calls):
        return _fail("ast_decoder:decoder_wrong_output_format", "the output is not a list of calls")
    if ground_truth is None:
        raise HammerError(f"category {category!r} needs a ground truth")
    judge = _CallJudge(language or language_of(category), underscore_to_dot)
    if "parallel" in category:
        return judge.unordered(functions, ground_truth, calls)
    if "multiple" in category:
        if len(calls) != len(ground_truth):
            return _fail("multiple_function_checker:wrong_count", _count_error(calls, ground_truth))
        return judge.call(_function(functions, ground_truth[0]), calls[0], ground_truth[0])
    if len(calls) != 1:
        return _fail("simple_function_checker:wrong_count", _count_error(calls, [None]))
    return judge.call(functions[0], calls[0], ground_truth[0])


def _count_error(calls: Sequence[Any], expected: Sequence[Any]) -> str:
    return f"expected {len(expected)} call(s), got {len(calls)}"


def _function(functions: Sequence[Mapping[str, Any]], expected: Mapping[str, Any]) -> Mapping[str, Any]:
    name = next(iter(expected))
    for function in functions:
        if function["name"] == name:
            return function
    raise HammerError(f"the ground truth names {name!r}, which is not among the case's functions")


@dataclass(frozen=True, slots=True)
class _CallJudge:
    language: Language
    underscore_to_dot: bool

    def unordered(
        self,
        functions: Sequence[Mapping[str, Any]],
        ground_truth: Sequence[Mapping[str, Any]],
        calls: list[dict[str, Any]],
    ) -> Verdict:
        """Parallel categories: every expected call must take a distinct output call."""
        if len(calls) != len(ground_truth):
            return _fail("parallel_function_checker_no_order:wrong_count", _count_error(calls, ground_truth))
        unused = list(range(len(calls)))
        for position, expected in enumerate(ground_truth):
            function = _function(functions, expected)
            match = next((i for i in unused if self.call(function, calls[i], expected).valid), None)
            if match is None:
                return _fail(
                    "parallel_function_checker_no_order:cannot_find_match",
                    f"no output call matches expected call {position} ({function['name']!r})",
                )
            unused.remove(match)
        return _OK

    def call(self, function: Mapping[str, Any], call: dict[str, Any], expected: Mapping[str, Any]) -> Verdict:
        """One output call against one function doc and its acceptable values."""
        acceptable: Mapping[str, Any] = next(iter(expected.values()))
        name = function["name"]
        if self.underscore_to_dot:
            name = name.replace(".", "_")
        if name not in call:
            return _fail("simple_function_checker:wrong_func_name", f"expected a call to {name!r}")
        arguments = call[name]
        declared = function["parameters"]["properties"]
        for param in function["parameters"]["required"]:
            if param not in arguments:
                return _fail("simple_function_checker:missing_required", f"missing required {param!r}")
        for param, value in arguments.items():
            if param not in declared or param not in acceptable:
                return _fail("simple_function_checker:unexpected_param", f"unexpected parameter {param!r}")
            verdict = self.value(param, value, declared[param], acceptable[param])
            if not verdict.valid:
                return verdict
        for param, options in acceptable.items():
            if param not in arguments and "" not in options:
                return _fail("simple_function_checker:missing_optional", f"missing {param!r}")
        return _OK

    def value(self, param: str, value: Any, spec: Mapping[str, Any], acceptable: Any) -> Verdict:
        """One argument value: typed reading (Java/JS), type check, then value comparison."""
        declared = spec["type"]
        types = _TYPES[self.language]
        expected = _known(types, declared, param, self.language)
        item_declared = spec["items"]["type"] if declared in LIST_TYPES[self.language] else None
        item = _known(types, item_declared, param, self.language) if item_declared is not None else None
        if self.language != "python":
            if type(value) is not str:
                error_type = "type_error:java" if self.language == "java" else "type_error:js"
                return _fail(error_type, f"{param!r} must be a {self.language} source string")
            if self.language == "java":
                value = bfcl_typed.java_value(value, declared, item_declared)
            else:
                value = bfcl_typed.js_value(value, declared, item_declared)
        if declared == "tuple" and type(value) is tuple:
            value = list(value)
        if self.language == "python" and declared == "float" and type(value) is int:
            value = float(value)

        error_type, is_variable = bfcl_values.check_type(value, acceptable, expected, item)
        if error_type is not None:
            return _fail(error_type, f"{param!r}: wrong type for {declared}: {value!r}")
        if is_variable:
            error_type = None if value in acceptable else "value_error:others"
        elif expected is dict:
            error_type = bfcl_values.dict_error(value, acceptable)
        elif expected is list and item is dict:
            error_type = bfcl_values.list_of_dicts_error(value, acceptable)
        elif expected is str:
            error_type = None if bfcl_values.string_matches(value, acceptable) else "value_error:string"
        elif expected is list:
            error_type = None if bfcl_values.list_matches(value, acceptable) else "value_error:list/tuple"
        else:
            error_type = None if value in acceptable else "value_error:others"
        if error_type is not None:
            return _fail(error_type, f"{param!r}: {value!r} is not one of {acceptable!r}")
        return _OK


def _known(types: Mapping[str, type], declared: str, param: str, language: str) -> type:
    if declared not in types:
        raise HammerError(f"BFCL has no {language} rule for type {declared!r}", field=param)
    return types[declared]
