"""Java and JavaScript argument strings: what BFCL reads from them, and writing a value so that
BFCL reads it back (how the gold answers of those categories are written). What we write is
checked against bfcl-eval's own type converters, called as its AST checker calls them, not only
against our reader."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from bfcl_eval.eval_checker.ast_eval.type_convertor.java_type_converter import java_type_converter
from bfcl_eval.eval_checker.ast_eval.type_convertor.js_type_converter import js_type_converter
from hypothesis import given
from hypothesis import strategies as st

from hammer_fc.formats.bfcl_typed import java_source, java_value, js_source, js_value

WORDS = st.text("abcdefghijklmnopqrstuvwxyz_ABC0123456789", min_size=1, max_size=8)
NUMBERS = st.one_of(st.integers(-(10**9), 10**9), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


def _checker_constant(name: str) -> object:
    """A constant of bfcl-eval's ``ast_checker``, read from its source: importing the module pulls
    in every model handler (anthropic, ...), which the checker's type conversion does not need."""
    spec = importlib.util.find_spec("bfcl_eval.eval_checker.ast_eval.ast_checker")
    assert spec is not None and spec.origin
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is gone from bfcl-eval's ast_checker")


NESTED_CONVERSION_TYPE_LIST = _checker_constant("NESTED_CONVERSION_TYPE_LIST")


def bfcl_java(text: str, declared: str, item: str | None) -> object:
    """What BFCL's checker makes of a Java argument string (ast_checker's own call: the item type
    is passed for the nested types only)."""
    if declared in NESTED_CONVERSION_TYPE_LIST:
        return java_type_converter(text, declared, item)
    return java_type_converter(text, declared)


def bfcl_js(text: str, declared: str, item: str | None) -> object:
    """What BFCL's checker makes of a JavaScript argument string."""
    if declared in NESTED_CONVERSION_TYPE_LIST:
        return js_type_converter(text, declared, item)
    return js_type_converter(text, declared)


def same(read: object, value: object) -> bool:
    """Equal and of the same kind (BFCL's checker also compares types: ``True == 1`` is no match),
    an int standing for a float aside."""
    if isinstance(value, bool) or isinstance(read, bool):
        return type(read) is type(value) and read == value
    if isinstance(value, list):
        return isinstance(read, list) and len(read) == len(value) and all(map(same, read, value))
    if isinstance(value, dict):
        return (
            isinstance(read, dict)
            and read.keys() == value.keys()
            and all(same(read[k], value[k]) for k in value)
        )
    if isinstance(value, int | float) and isinstance(read, int | float):
        return read == value
    return type(read) is type(value) and read == value


@pytest.mark.parametrize(
    ("value", "declared", "item", "expected"),
    [
        (True, "boolean", None, "true"),
        (50, "integer", None, "50"),
        (50, "long", None, "50L"),
        (1.5, "float", None, "1.5f"),
        (1.5, "double", None, "1.5"),
        ("Customers", "String", None, "Customers"),
        ([101, 202], "ArrayList", "long", "new ArrayList<>(Arrays.asList(101L, 202L))"),
        (["a", "b"], "ArrayList", "String", 'new ArrayList<>(Arrays.asList("a", "b"))'),
        ([1, 2], "Array", "integer", "new int[]{1, 2}"),
        ({"limit": 50}, "HashMap", None, 'new HashMap<String, Object>() {{ put("limit", 50); }}'),
        ({}, "HashMap", None, "new HashMap<>()"),
    ],
)
def test_java_values_are_written_the_way_bfcl_reads_them(value, declared, item, expected) -> None:
    assert java_source(value, declared, item) == expected
    assert java_value(expected, declared, item) == value
    assert same(bfcl_java(expected, declared, item), value)


@pytest.mark.parametrize(
    ("value", "declared", "item", "expected"),
    [
        (True, "Boolean", None, "true"),
        (7, "Bigint", None, "7n"),
        (["completed", "failed"], "array", "String", '["completed", "failed"]'),
        ([60, 30], "array", "float", "[60, 30]"),
        ({"key": "v", "n": 2}, "dict", None, '{key: "v", n: 2}'),
    ],
)
def test_javascript_values_are_written_the_way_bfcl_reads_them(value, declared, item, expected) -> None:
    assert js_source(value, declared, item) == expected
    assert js_value(expected, declared, item) == value
    assert same(bfcl_js(expected, declared, item), value)


@given(
    st.one_of(
        st.booleans(),
        NUMBERS,
        WORDS,
        st.lists(WORDS, max_size=4),
        st.dictionaries(WORDS, NUMBERS, max_size=3),
    )
)
def test_a_written_value_reads_back_or_nothing_is_written(value) -> None:
    for declared, item in [
        ("boolean", None),
        ("double", None),
        ("String", None),
        ("ArrayList", "String"),
        ("HashMap", None),
    ]:
        text = java_source(value, declared, item)
        assert text is None or java_value(text, declared, item) == value
        assert text is None or same(bfcl_java(text, declared, item), value)
    for declared, item in [("Boolean", None), ("float", None), ("array", "String"), ("dict", None)]:
        text = js_source(value, declared, item)
        assert text is None or js_value(text, declared, item) == value
        assert text is None or same(bfcl_js(text, declared, item), value)


def test_a_value_bfcl_cannot_read_back_is_not_written() -> None:
    assert java_source(["userID", 42], "ArrayList", "any") is None  # "any" elements stay strings
    assert js_source(1e-7, "float", None) is None  # BFCL's float pattern has no exponent
