"""Function masking: answerable, consistent, reversible, seeded; on generated xLAM data."""

from __future__ import annotations

import copy
import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hammer_fc.augment.epochs import epoch_view, example_rng
from hammer_fc.augment.masking import (
    ALPHABET,
    FUNCTION_NAME_LENGTH,
    PARAM_NAME_LENGTH,
    dedup_tools,
    mask_example,
    replace_value_in_text,
    unmask_calls,
)
from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from helpers.xlam_strategies import to_examples, xlam_dataset

SETTINGS = settings(max_examples=60, deadline=None)


def _answerable(example: Example) -> None:
    """Every called name is an offered tool and every argument one of its parameters."""
    tools = {tool.name: tool for tool in example.tools}
    assert len(tools) == len(example.tools), "a tool name is offered twice"
    for call in example.calls or []:
        assert call.name in tools
        params = {p.name for p in tools[call.name].params}
        assert set(call.arguments) <= params


@SETTINGS
@given(xlam_dataset(), st.integers(0, 2**32))
def test_masked_examples_stay_answerable_and_unmask_back(records, seed):
    for example in to_examples(records):
        before = copy.deepcopy(example)
        masked = mask_example(example, random.Random(seed))
        assert example == before, "masking modified its input"
        _answerable(masked.example)
        assert masked.example.calls is None or unmask_calls(masked.example.calls, masked) == example.calls


@SETTINGS
@given(xlam_dataset(), st.integers(0, 2**32))
def test_masked_names_are_random_strings_and_the_rest_is_kept(records, seed):
    for example in to_examples(records):
        masked = mask_example(example, random.Random(seed))
        originals = dedup_tools(example.tools)
        assert len(masked.example.tools) == len(originals)
        by_masked = {masked.function_map[t.name]: t for t in originals}
        for tool in masked.example.tools:
            assert FUNCTION_NAME_LENGTH[0] <= len(tool.name) <= FUNCTION_NAME_LENGTH[1]
            assert set(tool.name) <= set(ALPHABET)
            original = by_masked[tool.name]
            assert tool.description == original.description
            assert len({p.name for p in tool.params}) == len(tool.params)
            for param, before in zip(tool.params, original.params, strict=True):
                assert PARAM_NAME_LENGTH[0] <= len(param.name) <= PARAM_NAME_LENGTH[1]
                assert set(param.name) <= set(ALPHABET)
                assert masked.param_map[original.name][before.name] == param.name
                assert (param.type, param.source_type, param.required) == (
                    before.type,
                    before.source_type,
                    before.required,
                )
                if param.default != before.default or type(param.default) is not type(before.default):
                    # only a default the answer passes is rewritten, to a value of the same kind
                    assert masked.default_map[original.name][before.name] == (before.default, param.default)
                    assert type(param.default) is type(before.default)
                    assert not isinstance(param.default, bool)
                    assert any(
                        c.name == original.name and c.arguments.get(before.name) == before.default
                        for c in example.calls or []
                    )


@SETTINGS
@given(xlam_dataset(), st.integers(0, 2**32))
def test_masking_is_deterministic_per_seed(records, seed):
    for example in to_examples(records):
        a = mask_example(example, random.Random(seed))
        b = mask_example(example, random.Random(seed))
        assert a == b


@SETTINGS
@given(xlam_dataset(), st.integers(0, 2**32))
def test_switching_name_masking_off_keeps_names(records, seed):
    for example in to_examples(records):
        masked = mask_example(example, random.Random(seed), functions=False, params=False, defaults=False)
        assert masked.function_map == {} and masked.param_map == {} and masked.default_map == {}
        assert sorted(t.name for t in masked.example.tools) == sorted(
            t.name for t in dedup_tools(example.tools)
        )
        assert masked.example.calls == example.calls
        assert masked.example.messages == example.messages


def test_a_plain_view_keeps_names_and_moves_the_gold_tool():
    tools = [Tool(name=f"t{i}") for i in range(5)]
    example = Example(messages=[Message("user", "q")], tools=[*tools, tools[0]], calls=[ToolCall("t0")])
    positions = set()
    for seed in range(40):
        view, masked = epoch_view(example, example_rng(seed, 0, 0), 0.0)
        assert not masked
        assert sorted(t.name for t in view.tools) == [f"t{i}" for i in range(5)]
        positions.add([t.name for t in view.tools].index("t0"))
    assert len(positions) > 1


def _weather() -> Example:
    unit = Param(
        "unit",
        "string",
        "celsius or fahrenheit. Defaults to 'fahrenheit'.",
        default="fahrenheit",
        source_type="str",
    )
    days = Param("days", "integer", "Days ahead, default 1.", default=1, source_type="int")
    metric = Param("metric", "boolean", "Metric units.", default=True, source_type="bool")
    city = Param("city", "string", "City name.", required=True, source_type="str")
    tool = Tool("weather_forecast", "Daily forecast for a city.", [city, unit, days, metric])
    call = ToolCall("weather_forecast", {"city": "Lyon", "unit": "fahrenheit", "days": 1, "metric": True})
    query = "Forecast for Lyon in Fahrenheit for 1 day, 10 days or 1.5 days? metric True"
    return Example(messages=[Message("user", query)], tools=[tool], calls=[call])


def test_used_defaults_are_rewritten_in_spec_description_answer_and_query():
    example = _weather()
    masked = mask_example(example, random.Random(3))
    tool = masked.example.tools[0]
    unit, days, metric = tool.params[1], tool.params[2], tool.params[3]
    (call,) = masked.example.calls
    assert isinstance(unit.default, str) and unit.default != "fahrenheit" and len(unit.default) == 5
    assert unit.description == f"celsius or {unit.default}. Defaults to '{unit.default}'."
    assert call.arguments[unit.name] == unit.default
    assert isinstance(days.default, int) and 2 <= days.default <= 5
    assert call.arguments[days.name] == days.default
    assert metric.default is True and call.arguments[metric.name] is True  # booleans are kept
    query = masked.example.query
    assert unit.default.capitalize() in query and "Fahrenheit" not in query
    assert f"for {days.default} day," in query and "10 days" in query and "1.5 days" in query
    assert unmask_calls(masked.example.calls, masked) == example.calls


def test_an_unused_default_is_left_alone():
    example = _weather()
    example.calls = [ToolCall("weather_forecast", {"city": "Lyon", "unit": "celsius"})]
    masked = mask_example(example, random.Random(0))
    assert masked.default_map == {}
    assert [p.default for p in masked.example.tools[0].params] == [p.default for p in example.tools[0].params]
    assert masked.example.messages == example.messages


def test_earlier_tool_calls_in_the_conversation_are_renamed():
    tool = Tool("lookup", params=[Param("key", "string")])
    history = [
        Message("user", "find a"),
        Message("assistant", "", tool_calls=[ToolCall("lookup", {"key": "a"})]),
        Message("tool", "found", name="lookup"),
        Message("user", "and b"),
    ]
    example = Example(messages=history, tools=[tool], calls=[ToolCall("lookup", {"key": "b"})])
    masked = mask_example(example, random.Random(1))
    new_name = masked.function_map["lookup"]
    new_key = masked.param_map["lookup"]["key"]
    assert masked.example.messages[1].tool_calls == [ToolCall(new_name, {new_key: "a"})]
    assert masked.example.messages[2].name == new_name


def test_unmask_leaves_unknown_names_for_the_checker_to_see():
    masked = mask_example(_weather(), random.Random(5))
    calls = [ToolCall("made_up", {"x": 1}), ToolCall(masked.function_map["weather_forecast"], {"nope": 2})]
    assert unmask_calls(calls, masked) == [
        ToolCall("made_up", {"x": 1}),
        ToolCall("weather_forecast", {"nope": 2}),
    ]


def test_replace_value_in_text_replaces_whole_tokens_in_every_case():
    assert (
        replace_value_in_text("Celsius, celsius, CELSIUS, celsiusx", "celsius", "abc")
        == "Abc, abc, ABC, celsiusx"
    )
    assert (
        replace_value_in_text("page 1 of 10, 1.5, 2.1; default 1.", 1, 4)
        == "page 4 of 10, 1.5, 2.1; default 4."
    )
    assert replace_value_in_text("nothing here", "zz", "yy") == "nothing here"


def _regex_replace(text: str, old: str, new: str) -> str:
    """The rule as a regular expression: the reference the scanner must agree with."""
    cases = (str, str.capitalize, str.lower, str.upper)
    variants: dict[str, int] = {}
    for k, transform in enumerate(cases):
        variants.setdefault(transform(old), k)
    alternation = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w])(?<![0-9]\.)(?:{alternation})(?![\w])(?!\.[0-9])")
    if old.lower() not in text.lower():
        return text
    return pattern.sub(lambda m: cases[variants[m.group(0)]](new), text)


@st.composite
def _text_and_value(draw: st.DrawFn) -> tuple[str, str]:
    old = draw(st.text(alphabet="aAbB1 .,_-é2ß", min_size=1, max_size=4))
    pieces = [old, old.upper(), old.lower(), old.capitalize(), " ", ".", "1", "a", "_", "é", ",", "2."]
    return "".join(draw(st.lists(st.sampled_from(pieces), max_size=12))), old


@settings(max_examples=400, deadline=None)
@given(_text_and_value(), st.sampled_from(["x", "Q9", "7.5"]))
def test_replace_value_in_text_matches_the_whole_token_regex(text_and_value, new):
    text, old = text_and_value
    assert replace_value_in_text(text, old, new) == _regex_replace(text, old, new)
