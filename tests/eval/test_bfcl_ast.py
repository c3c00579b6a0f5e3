"""BFCL judging rules, one small case each (test_bfcl_compat.py checks them against the official
checker at scale; these pin the rules that matter most and the quirks that are easy to lose)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hammer_fc.errors import HammerError
from hammer_fc.eval.bfcl_ast import check_bfcl, decode_hammer, language_of, to_bfcl_calls
from hammer_fc.eval.bfcl_summary import bfcl_summary
from hammer_fc.eval.bfcl_values import standardize
from hammer_fc.schema import ToolCall


def _function(name: str, properties: dict, required: list[str] | None = None) -> dict:
    return {
        "name": name,
        "description": "",
        "parameters": {"type": "dict", "properties": properties, "required": required or []},
    }


AREA = _function(
    "geometry.area",
    {
        "radius": {"type": "float"},
        "unit": {"type": "string"},
        "sides": {"type": "array", "items": {"type": "integer"}},
        "exact": {"type": "boolean"},
    },
    ["radius"],
)
AREA_ANSWER = [
    {"geometry.area": {"radius": [2.0], "unit": ["square meters", ""], "sides": [[1, 2], ""], "exact": [""]}}
]


def _simple(arguments: dict, **kwargs) -> tuple[bool, str]:
    verdict = check_bfcl("simple_python", [AREA], AREA_ANSWER, [{"geometry.area": arguments}], **kwargs)
    return verdict.valid, verdict.error_type


def test_right_call_and_optional_parameters() -> None:
    assert _simple({"radius": 2.0}) == (True, "")
    assert _simple({"radius": 2.0, "unit": "square meters", "sides": [1, 2]}) == (True, "")


def test_int_is_accepted_for_float_but_not_inside_lists_and_bool_is_not_int() -> None:
    assert _simple({"radius": 2}) == (True, "")
    assert _simple({"radius": True}) == (False, "type_error:simple")
    # Inside a list the element types are checked; 1.0 is no int (where "" is not acceptable).
    scale = _function("scale", {"factors": {"type": "array", "items": {"type": "float"}}}, ["factors"])
    answer = [{"scale": {"factors": [[1.0, 2.5]]}}]
    nested = check_bfcl("simple_python", [scale], answer, [{"scale": {"factors": [1, 2.5]}}])
    assert (nested.valid, nested.error_type) == (False, "type_error:nested")
    assert check_bfcl("simple_python", [scale], answer, [{"scale": {"factors": [1.0, 2.5]}}]).valid


def test_strings_are_standardized() -> None:
    assert _simple({"radius": 2.0, "unit": "Square-Meters"}) == (True, "")
    assert _simple({"radius": 2.0, "unit": "square_meters."}) == (True, "")
    assert _simple({"radius": 2.0, "unit": "square meters!"}) == (False, "value_error:string")


def test_missing_extra_and_wrong_parameters() -> None:
    assert _simple({}) == (False, "simple_function_checker:missing_required")
    assert _simple({"radius": 2.0, "color": "red"}) == (False, "simple_function_checker:unexpected_param")
    assert _simple({"radius": 3.0}) == (False, "value_error:others")
    assert _simple({"radius": 2.0, "sides": [2, 1]}) == (False, "value_error:list/tuple")
    # "" among a list parameter's acceptable values also accepts an empty list.
    assert _simple({"radius": 2.0, "sides": []}) == (True, "")


def test_exact_is_declared_but_only_omission_is_acceptable() -> None:
    # Its only acceptable value is "", so BFCL has no type to compare against: any bool fails.
    assert _simple({"radius": 2.0, "exact": True}) == (False, "value_error:others")


def test_function_names_keep_their_dots_unless_the_model_needed_underscores() -> None:
    renamed = [{"geometry_area": {"radius": 2.0}}]
    assert not check_bfcl("simple_python", [AREA], AREA_ANSWER, renamed).valid
    assert check_bfcl("simple_python", [AREA], AREA_ANSWER, renamed, underscore_to_dot=True).valid


def test_variables_in_the_ground_truth() -> None:
    # A string answer for an integer parameter is a variable name: compared exactly, no standardising.
    count = _function("repeat", {"times": {"type": "integer"}}, ["times"])
    answer = [{"repeat": {"times": ["n_times"]}}]
    assert check_bfcl("simple_python", [count], answer, [{"repeat": {"times": "n_times"}}]).valid
    assert not check_bfcl("simple_python", [count], answer, [{"repeat": {"times": "N_times"}}]).valid
    assert not check_bfcl("simple_python", [count], answer, [{"repeat": {"times": 3}}]).valid


def test_dicts_and_lists_of_dicts() -> None:
    book = _function(
        "book",
        {
            "guest": {"type": "dict", "properties": {}},
            "rooms": {"type": "array", "items": {"type": "dict"}},
        },
        ["guest"],
    )
    answer = [{"book": {"guest": [{"name": ["Ann Lee"], "age": [30, ""]}], "rooms": [[{"beds": [2]}], ""]}}]

    def judge(arguments: dict) -> tuple[bool, str]:
        verdict = check_bfcl("simple_python", [book], answer, [{"book": arguments}])
        return verdict.valid, verdict.error_type

    assert judge({"guest": {"name": "ann lee"}}) == (True, "")
    assert judge({"guest": {"name": "Ann Lee", "age": 30}, "rooms": [{"beds": 2}]}) == (True, "")
    assert judge({"guest": {"name": "Ann Lee", "pet": "cat"}}) == (False, "value_error:dict_key")
    assert judge({"guest": {"name": "Bob"}}) == (False, "value_error:dict_value")
    # A wrong value and a missing key: the missing key is what BFCL reports.
    assert judge({"guest": {"age": 31}}) == (False, "value_error:dict_key")
    assert judge({"guest": {"name": "Ann Lee"}, "rooms": []}) == (True, "")
    assert judge({"guest": {"name": "Ann Lee"}, "rooms": [{"beds": 2}, {"beds": 2}]}) == (
        False,
        "value_error:list_dict_count",
    )


PAIR = _function("pick", {"x": {"type": "integer"}}, ["x"])


def test_parallel_calls_match_in_any_order() -> None:
    answer = [{"pick": {"x": [1]}}, {"pick": {"x": [2]}}]
    assert check_bfcl("parallel", [PAIR], answer, [{"pick": {"x": 2}}, {"pick": {"x": 1}}]).valid
    dropped = check_bfcl("parallel", [PAIR], answer, [{"pick": {"x": 2}}])
    assert (dropped.valid, dropped.error_type) == (False, "parallel_function_checker_no_order:wrong_count")
    twice = check_bfcl("parallel", [PAIR], answer, [{"pick": {"x": 2}}, {"pick": {"x": 2}}])
    assert twice.error_type == "parallel_function_checker_no_order:cannot_find_match"


def test_parallel_matching_is_greedy_like_bfcl() -> None:
    # The first expected call takes the first output call that fits it, even when that leaves
    # nothing for the second: a perfect matching exists, yet BFCL (and so we) say no.
    answer = [{"pick": {"x": [1, 2]}}, {"pick": {"x": [1]}}]
    assert not check_bfcl("parallel", [PAIR], answer, [{"pick": {"x": 1}}, {"pick": {"x": 2}}]).valid
    assert check_bfcl("parallel", [PAIR], answer, [{"pick": {"x": 2}}, {"pick": {"x": 1}}]).valid


def test_multiple_judges_against_the_expected_function() -> None:
    other = _function("other", {})
    answer = [{"pick": {"x": [1]}}]
    assert check_bfcl("multiple", [other, PAIR], answer, [{"pick": {"x": 1}}]).valid
    wrong = check_bfcl("multiple", [other, PAIR], answer, [{"other": {}}])
    assert wrong.error_type == "simple_function_checker:wrong_func_name"
    assert (
        check_bfcl("multiple", [other, PAIR], answer, []).error_type
        == "multiple_function_checker:wrong_count"
    )


def test_undecodable_and_malformed_outputs() -> None:
    answer = [{"pick": {"x": [1]}}]
    assert check_bfcl("live_simple", [PAIR], answer, None).error_type == "ast_decoder:decoder_failed"
    malformed = check_bfcl("live_simple", [PAIR], answer, [{"pick": "x=1"}])
    assert malformed.error_type == "ast_decoder:decoder_wrong_output_format"
    assert check_bfcl("live_simple", [PAIR], answer, []).error_type == "simple_function_checker:wrong_count"


@pytest.mark.parametrize(
    ("calls", "made_a_call"),
    [(None, False), ([], False), ([{"pick": "x=1"}], False), ({"pick": {}}, False), ([{"pick": {}}], True)],
)
def test_relevance_and_irrelevance(calls, made_a_call: bool) -> None:
    assert check_bfcl("irrelevance", [PAIR], None, calls).valid is not made_a_call
    assert check_bfcl("live_irrelevance", [PAIR], None, calls).valid is not made_a_call
    assert check_bfcl("live_relevance", [PAIR], None, calls).valid is made_a_call


def test_java_values_are_source_strings() -> None:
    function = _function(
        "Store.put",
        {
            "count": {"type": "long"},
            "names": {"type": "ArrayList", "items": {"type": "String"}},
            "tags": {"type": "Array", "items": {"type": "String"}},
            "options": {"type": "HashMap"},
        },
    )
    answer = [
        {
            "Store.put": {
                "count": [5],
                "names": [["a", "b"], ""],
                "tags": [["x"], ""],
                "options": [{"n": [7]}, ""],
            }
        }
    ]

    def judge(arguments: dict) -> tuple[bool, str]:
        verdict = check_bfcl("simple_java", [function], answer, [{"Store.put": arguments}])
        return verdict.valid, verdict.error_type

    assert judge({"count": "5L"}) == (True, "")
    assert judge({"count": "5"}) == (False, "type_error:simple")
    assert judge({"count": 5}) == (False, "type_error:java")
    assert judge({"count": "5L", "names": 'new ArrayList<>(Arrays.asList("a", "b"))'}) == (True, "")
    # Array elements keep their quotes when read, ArrayList elements lose them.
    assert judge({"count": "5L", "tags": "new String[]{x}"}) == (True, "")
    assert judge({"count": "5L", "tags": 'new String[]{"x"}'}) == (False, "value_error:list/tuple")
    assert judge({"count": "5L", "options": 'new HashMap<String, Long>() {{ put("n", 7L); }}'}) == (True, "")


def test_javascript_values_are_source_strings() -> None:
    function = _function(
        "render",
        {
            "title": {"type": "String"},
            "sizes": {"type": "array", "items": {"type": "integer"}},
            "flags": {"type": "dict"},
        },
    )
    answer = [{"render": {"title": ["Home"], "sizes": [[1, 2], ""], "flags": [{"dark": [True]}, ""]}}]

    def judge(arguments: dict) -> tuple[bool, str]:
        verdict = check_bfcl("simple_javascript", [function], answer, [{"render": arguments}])
        return verdict.valid, verdict.error_type

    assert judge({"title": "'home'"}) == (True, "")
    assert judge({"title": "Home", "sizes": "[1, 2]", "flags": "{dark: true}"}) == (True, "")
    # Dict values lose their quotes before being read, so a quoted boolean is a boolean.
    assert judge({"title": "Home", "flags": '{"dark": "true"}'}) == (True, "")
    assert judge({"title": "Home", "sizes": "new Array(1, 2)"}) == (True, "")
    assert judge({"title": "Home", "sizes": "[[1, 2]]"}) == (False, "value_error:list/tuple")


def test_language_of() -> None:
    assert [language_of(c) for c in ("simple_java", "simple_javascript", "live_simple")] == [
        "java",
        "javascript",
        "python",
    ]


def test_unknown_category_and_type_are_clear_errors() -> None:
    with pytest.raises(HammerError, match="category"):
        check_bfcl("multi_turn_base", [PAIR], [], [])
    odd = _function("odd", {"v": {"type": "number"}})
    with pytest.raises(HammerError, match="number"):
        check_bfcl("simple_python", [odd], [{"odd": {"v": [1]}}], [{"odd": {"v": 1}}])


def test_decode_hammer_is_bfcls_hammer_decoder() -> None:
    assert decode_hammer('```\n[{"name": "f", "arguments": {"x": 1}}]\n```') == [{"f": {"x": 1}}]
    assert decode_hammer("I can't do that.") == []  # not JSON: no call, not a failure
    assert decode_hammer('{"name": "f", "arguments": {}}') is None  # one object, not a list
    assert decode_hammer('[{"name": "f"}]') is None
    assert decode_hammer('[{"name": "f", "arguments": "x"}]') == [{"f": "x"}]  # shape is judged later


def test_to_bfcl_calls() -> None:
    calls = [ToolCall("f", {"x": 1}), ToolCall("g")]
    assert to_bfcl_calls(calls) == [{"f": {"x": 1}}, {"g": {}}]
    assert to_bfcl_calls(None) is None
    assert to_bfcl_calls([]) == []


def test_standardize() -> None:
    assert standardize("April 1, 2024") == standardize("april 1 2024") == "april12024"
    assert standardize("it's") == 'it"s'


def test_summary_rows() -> None:
    accuracy = {
        "simple_python": 0.9,
        "simple_java": 0.6,
        "simple_javascript": 0.3,
        "multiple": 0.8,
        "parallel": 0.7,
        "parallel_multiple": 0.5,
        "live_simple": 0.5,
        "live_multiple": 1.0,
        "live_parallel": 0.0,
        "live_parallel_multiple": 0.0,
        "irrelevance": 0.8,
        "live_irrelevance": 0.6,
        "live_relevance": 0.9,
    }
    counts = {"live_simple": 100, "live_multiple": 300, "live_parallel": 50, "live_parallel_multiple": 50}
    rows = bfcl_summary(accuracy, counts)
    assert rows["non_live_simple"] == pytest.approx(0.6)
    assert rows["non_live_ast"] == pytest.approx((0.6 + 0.8 + 0.7 + 0.5) / 4)
    assert rows["live_ast"] == pytest.approx((50 + 300) / 500)
    assert rows["irrelevance"] == pytest.approx(0.7)
    assert rows["relevance"] == pytest.approx(0.9)
    assert rows["overall"] == pytest.approx((0.65 + 0.7 + 0.7) / 3)


def test_summary_rows_of_a_partial_run_are_none() -> None:
    rows = bfcl_summary({"simple_python": 1.0, "irrelevance": 0.5, "live_irrelevance": 0.5}, {})
    assert rows["irrelevance"] == 0.5
    assert rows["non_live_ast"] is None and rows["live_ast"] is None and rows["overall"] is None
    with pytest.raises(HammerError, match="live_simple"):
        bfcl_summary(
            {c: 1.0 for c in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")}, {}
        )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
ODD_FUNCTION = _function(
    "f",
    {
        "rooms": {"type": "array", "items": {"type": "dict"}},
        "meta": {"type": "dict"},
        "pair": {"type": "tuple", "items": {"type": "float"}},
        "name": {"type": "string"},
    },
)
ODD_ANSWER = [
    {"f": {"rooms": [[{"beds": [2]}], ""], "meta": [{"k": "v"}, ""], "pair": [[1.0, 2.0], ""], "name": [""]}}
]


@settings(max_examples=300, deadline=None)
@given(
    category=st.sampled_from(
        ["simple_python", "parallel", "simple_java", "simple_javascript", "irrelevance"]
    ),
    arguments=st.dictionaries(
        st.sampled_from(["rooms", "meta", "pair", "name", "x"]), JSON_VALUES, max_size=4
    ),
    shape=JSON_VALUES,
)
def test_any_output_gets_a_verdict(category: str, arguments: dict, shape) -> None:
    """Outputs on which the official checker itself crashes (a list of non-dicts for a list of
    dicts, say) still get a verdict here, never an exception."""
    for calls in ([{"f": arguments}], shape):
        verdict = check_bfcl(category, [ODD_FUNCTION], ODD_ANSWER, calls, language="python")
        assert isinstance(verdict.valid, bool)


TYPED_FUNCTIONS = {
    "java": _function(
        "g",
        {
            "a": {"type": "Array", "items": {"type": "long"}},
            "b": {"type": "ArrayList", "items": {"type": "String"}},
            "c": {"type": "HashMap"},
            "d": {"type": "float"},
        },
    ),
    "javascript": _function(
        "g",
        {
            "a": {"type": "array", "items": {"type": "float"}},
            "b": {"type": "dict"},
            "c": {"type": "Bigint"},
            "d": {"type": "String"},
        },
    ),
}
TYPED_ANSWER = [
    {"g": {"a": [[1, 2], ""], "b": [["x"], {"k": ["v"]}, ""], "c": [{"n": [1]}, 3, ""], "d": [1.5, "z", ""]}}
]
SOURCE_TEXT = st.text(
    alphabet=st.sampled_from(list("new HashMap<>(){}[]put\"'add,:;1.5Lfn-x\n ")), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(
    language=st.sampled_from(["java", "javascript"]),
    arguments=st.dictionaries(st.sampled_from("abcd"), SOURCE_TEXT),
)
def test_any_java_or_javascript_source_gets_a_verdict(language: str, arguments: dict) -> None:
    category = f"simple_{language}"
    verdict = check_bfcl(category, [TYPED_FUNCTIONS[language]], TYPED_ANSWER, [{"g": arguments}])
    assert isinstance(verdict.valid, bool)
