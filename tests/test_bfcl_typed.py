"""Java and JavaScript argument strings: what BFCL reads from them, and writing a value so that
BFCL reads it back (how the gold answers of those categories are written)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hammer_fc.formats.bfcl_typed import java_source, java_value, js_source, js_value

WORDS = st.text("abcdefghijklmnopqrstuvwxyz_ABC0123456789", min_size=1, max_size=8)
NUMBERS = st.one_of(st.integers(-(10**9), 10**9), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


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
    for declared, item in [("Boolean", None), ("float", None), ("array", "String"), ("dict", None)]:
        text = js_source(value, declared, item)
        assert text is None or js_value(text, declared, item) == value


def test_a_value_bfcl_cannot_read_back_is_not_written() -> None:
    assert java_source(["userID", 42], "ArrayList", "any") is None  # "any" elements stay strings
    assert js_source(1e-7, "float", None) is None  # BFCL's float pattern has no exponent
