"""The parser: every answer shape small models produce, typed errors, never an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hammer_fc.prompts import ParseError, parse_calls, render_completion
from hammer_fc.schema import ToolCall

F = ToolCall("get_weather", {"city": "Lyon", "days": 3})
G = ToolCall("convert", {"amount": 1.5, "strict": True, "note": None})

ACCEPTED = {
    "hammer answer": ('```\n[{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}]\n```', [F]),
    "json fence": ('```json\n[{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}]\n```', [F]),
    "bare list": ('[{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}]', [F]),
    "single object": ('{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}', [F]),
    "empty list": ("[]", []),
    "fenced empty list": ("```\n[]\n```", []),
    "tool_calls wrapper": (
        '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}]}',
        [F],
    ),
    "openai function objects": (
        '[{"id": "call_1", "type": "function", "function": {"name": "get_weather", '
        '"arguments": "{\\"city\\": \\"Lyon\\", \\"days\\": 3}"}}]',
        [F],
    ),
    "arguments as a json string": (
        '[{"name": "get_weather", "arguments": "{\\"city\\": \\"Lyon\\", \\"days\\": 3}"}]',
        [F],
    ),
    "parameters key": ('[{"name": "get_weather", "parameters": {"city": "Lyon", "days": 3}}]', [F]),
    "bfcl decoded shape": ('[{"get_weather": {"city": "Lyon", "days": 3}}]', [F]),
    "no arguments": ('[{"name": "ping"}]', [ToolCall("ping", {})]),
    "leading and trailing text": (
        'Sure! Here you go: [{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}] '
        "Hope it helps.",
        [F],
    ),
    "prose with braces before a fenced answer": (
        "I will use {the weather tool}.\n"
        '```json\n{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}\n```',
        [F],
    ),
    "unclosed fence": ('```json\n[{"name": "get_weather", "arguments": {"city": "Lyon", "days": 3}}]', [F]),
    "python literal": (
        "[{'name': 'convert', 'arguments': {'amount': 1.5, 'strict': True, 'note': None}}]",
        [G],
    ),
    "json constants in single quotes": (
        "[{'name': 'convert', 'arguments': {'amount': 1.5, 'strict': true, 'note': null}}]",
        [G],
    ),
    "python tuple value": ("[{'name': 'f', 'arguments': {'xy': (1, 2)}}]", [ToolCall("f", {"xy": [1, 2]})]),
    "parallel calls": (
        "```\n"
        + json.dumps([F.to_dict(), G.to_dict()])
        + "\n```\nThe first gets the weather, the second converts.",
        [F, G],
    ),
    "refusal then empty list": ("None of the tools can help with that. []", []),
}

REJECTED = {
    "empty": ("", "empty output"),
    "whitespace": ("  \n ", "empty output"),
    "plain refusal": ("I cannot help with that.", "no JSON list of calls found"),
    "list of numbers": ("[1, 2]", "call 0: expected an object, got int"),
    "no name": ('{"arguments": {"x": 1}}', "'name' must be a non-empty string"),
    "name not a string": ('[{"name": 3, "arguments": {}}]', "'name' must be a non-empty string"),
    "arguments not an object": ('[{"name": "f", "arguments": [1]}]', "'arguments' must be an object"),
    "arguments string not json": ('[{"name": "f", "arguments": "x=1"}]', "not a JSON object"),
    "python set value": ("[{'name': 'f', 'arguments': {'s': {1, 2}}}]", "type set is not JSON"),
    "truncated": ('[{"name": "get_weather", "arguments": {"city": "Ly', "cut short"),
    # the token limit hit after whole calls: the first call inside the open list is not the answer
    "cut after whole calls": (
        "```\n[" + json.dumps(F.to_dict()) + ", " + json.dumps(F.to_dict()) + ', {"name": "get_w',
        "cut short",
    ),
    "a string": ('"get_weather"', "no JSON list of calls found"),
}


@pytest.mark.parametrize("text, calls", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_shapes(text: str, calls: list[ToolCall]) -> None:
    assert parse_calls(text) == calls


@pytest.mark.parametrize("text, message", REJECTED.values(), ids=REJECTED.keys())
def test_rejected_outputs_give_a_typed_error(text: str, message: str) -> None:
    result = parse_calls(text)
    assert isinstance(result, ParseError)
    assert message in result.message


def test_pathological_input_is_an_error_not_an_exception() -> None:
    for text in [
        "[" * 20000,
        '{"a": ' * 5000,
        "{'a': " * 5000 + "1" + "}" * 5000,
        "```" * 1000,
        "'" + "[" * 1000,
    ]:
        assert isinstance(parse_calls(text), ParseError)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
CALLS = st.lists(
    st.builds(
        ToolCall,
        name=st.text(min_size=1, max_size=20),
        arguments=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4),
    ),
    max_size=3,
)
NOISY_TEXT = st.text(alphabet=st.sampled_from(list("[]{}\"'`:,\\ \nTrueflsnNo01.x-")), max_size=80)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text(max_size=200) | NOISY_TEXT)
def test_never_raises_on_any_string(text: str) -> None:
    result = parse_calls(text)
    assert isinstance(result, ParseError) or all(isinstance(c, ToolCall) for c in result)


@SETTINGS
@given(CALLS)
def test_round_trip_through_the_rendered_answer(calls: list[ToolCall]) -> None:
    assert parse_calls(render_completion(calls)) == calls


@SETTINGS
@given(
    CALLS.filter(bool), st.sampled_from(["", "Sure.\n", "Calling now: "]), st.sampled_from(["", "\nDone."])
)
def test_round_trip_with_prose_and_json_fence(calls: list[ToolCall], before: str, after: str) -> None:
    body = json.dumps([c.to_dict() for c in calls], indent=2)
    assert parse_calls(f"{before}```json\n{body}\n```{after}") == calls


@SETTINGS
@given(CALLS.filter(bool))
def test_round_trip_from_python_literal(calls: list[ToolCall]) -> None:
    """``repr`` of the call dicts (single quotes, True/None) reads back to the same calls."""
    finite = [c for c in calls if "inf" not in repr(c.arguments)]
    if finite:
        assert parse_calls(repr([c.to_dict() for c in finite])) == finite
