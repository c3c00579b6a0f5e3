"""Tool grammars: compiled by llama.cpp, accepting exactly the valid Hammer answers.

Acceptance is decided by llama.cpp itself (its grammar sampler stepped token by token), and
validity by an independent checker written here from the JSON-Schema rules, so the grammar
builder is judged against the schema, not against itself.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.inference.grammar import (
    CompiledGrammar,
    GrammarCache,
    build_grammar,
    grammar_for_tools,
    literal,
)
from hammer_fc.inference.llamacpp_cpu import open_llama
from hammer_fc.prompts import parse_calls, render_completion
from hammer_fc.schema import Example, Message, ToolCall
from hammer_fc.schema.params import tool_from_function

llama_cpp = pytest.importorskip("llama_cpp")

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name."},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city"],
    },
}
BOOKING = {
    "name": "restaurant.book",
    "description": "Reserve a table.",
    "parameters": {
        "type": "object",
        "properties": {
            "people": {"type": "integer"},
            "when": {
                "type": "object",
                "properties": {"date": {"type": "string"}, "hour": {"type": "number"}},
                "required": ["date", "hour"],
            },
            "guests": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "vegan": {"type": "boolean"}},
                    "required": ["name"],
                },
            },
            "note": {"type": ["string", "null"]},
            "extra": {},
        },
        "required": ["people", "when"],
    },
}
PING = {"name": "ping", "description": "No arguments.", "parameters": {"type": "object", "properties": {}}}
ODD = {
    "name": 'odd "name"\\x',
    "description": "A name that needs escaping.",
    "parameters": {
        "type": "object",
        "properties": {"mode": {"type": "integer", "enum": [1, 2, 3]}, "tags": {"type": "array"}},
        "required": ["mode"],
    },
}
TOOL_SETS = {"weather": [WEATHER], "booking": [BOOKING, WEATHER], "ping+odd": [PING, ODD]}


@pytest.fixture(scope="module")
def llm(embedded_gguf: Path) -> Any:
    return open_llama(embedded_gguf, n_ctx=2048, n_threads=2, verbose=False)


def accepts(llm: Any, grammar: str, text: str) -> bool:
    """Whether llama.cpp's grammar sampler lets the model write exactly ``text``."""
    with CompiledGrammar(grammar, llama_cpp.llama_model_get_vocab(llm.model)) as compiled:
        for token in llm.tokenize(text.encode(), add_bos=False, special=False):
            if not compiled.allows(token):
                return False
            compiled.accept(token)
        return compiled.allows(compiled.eos)


# --- an independent validator (JSON Schema, plus BFCL's type names) -------------------------

_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "float": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def valid_value(value: Any, spec: dict[str, Any]) -> bool:
    if "enum" in spec and value not in spec["enum"]:
        return False
    types = spec.get("type", "any")
    types = types if isinstance(types, list) else [types]
    return any(_valid_typed(value, t, spec) for t in types)


def _valid_typed(value: Any, type_: str, spec: dict[str, Any]) -> bool:
    if type_ == "any":
        return True
    if type_ in _SCALARS:
        if isinstance(value, bool) and type_ != "boolean":
            return False
        return isinstance(value, _SCALARS[type_])
    if type_ in ("array", "tuple"):
        items = spec.get("items")
        return (
            isinstance(value, list) and all(valid_value(v, items) for v in value)
            if items
            else isinstance(value, list)
        )
    if type_ in ("object", "dict"):
        return isinstance(value, dict) and ("properties" not in spec or valid_arguments(value, spec))
    raise AssertionError(f"type {type_!r} not covered by the test validator")


def valid_arguments(arguments: dict[str, Any], schema: dict[str, Any]) -> bool:
    properties = schema.get("properties", {})
    return (
        set(arguments) <= set(properties)
        and set(schema.get("required", [])) <= set(arguments)
        and all(valid_value(v, properties[k]) for k, v in arguments.items())
    )


def valid_calls(calls: list[ToolCall], functions: list[dict[str, Any]]) -> bool:
    by_name = {f["name"]: f for f in functions}
    return all(
        c.name in by_name and valid_arguments(c.arguments, by_name[c.name]["parameters"]) for c in calls
    )


def tools_of(functions: list[dict[str, Any]]) -> list:
    return [tool_from_function(f) for f in functions]


# --- accepted / rejected answers ------------------------------------------------------------

VALID = [
    ("weather", []),
    ("weather", [ToolCall("get_weather", {"city": "Paris"})]),
    ("weather", [ToolCall("get_weather", {"city": "Lyon", "unit": "celsius", "days": 3})]),
    ("weather", [ToolCall("get_weather", {"city": "A"}), ToolCall("get_weather", {"city": "B", "days": -2})]),
    ("weather", [ToolCall("get_weather", {"city": 'quote " and \\ and \u00e9\u4e2d'})]),
    ("booking", [ToolCall("restaurant.book", {"people": 2, "when": {"date": "2024-05-01", "hour": 19.5}})]),
    (
        "booking",
        [
            ToolCall(
                "restaurant.book",
                {
                    "people": 4,
                    "when": {"date": "d", "hour": 7},
                    "guests": [{"name": "Ann", "vegan": True}, {"name": "Bo"}],
                    "note": None,
                    "extra": {"any": [1, "x", None, {"k": False}]},
                },
            ),
            ToolCall("get_weather", {"city": "Rome", "unit": "fahrenheit"}),
        ],
    ),
    ("ping+odd", [ToolCall("ping", {})]),
    ("ping+odd", [ToolCall('odd "name"\\x', {"mode": 2, "tags": [1, [2], "three"]})]),
]

INVALID = [
    ("weather", [ToolCall("get_wether", {"city": "Paris"})], "unknown function"),
    ("weather", [ToolCall("get_weather", {})], "required argument missing"),
    ("weather", [ToolCall("get_weather", {"city": "Paris", "unit": "kelvin"})], "enum violated"),
    ("weather", [ToolCall("get_weather", {"city": "Paris", "days": "3"})], "string for integer"),
    ("weather", [ToolCall("get_weather", {"city": "Paris", "days": 2.5})], "float for integer"),
    ("weather", [ToolCall("get_weather", {"city": "Paris", "country": "FR"})], "unknown argument"),
    ("weather", [ToolCall("get_weather", {"city": 7})], "integer for string"),
    (
        "booking",
        [ToolCall("restaurant.book", {"people": 2, "when": {"date": "d"}})],
        "nested required missing",
    ),
    (
        "booking",
        [
            ToolCall(
                "restaurant.book",
                {"people": 2, "when": {"date": "d", "hour": 1}, "guests": [{"vegan": True}]},
            )
        ],
        "array item misses required",
    ),
    (
        "booking",
        [
            ToolCall(
                "restaurant.book", {"people": 2, "when": {"date": "d", "hour": 1}, "guests": {"name": "x"}}
            )
        ],
        "object for array",
    ),
    (
        "booking",
        [ToolCall("restaurant.book", {"people": True, "when": {"date": "d", "hour": 1}})],
        "bool for int",
    ),
    ("ping+odd", [ToolCall("ping", {"x": 1})], "argument to a function without parameters"),
    ("ping+odd", [ToolCall('odd "name"\\x', {"mode": 4})], "integer enum violated"),
]


@pytest.mark.parametrize(("tools", "calls"), VALID)
def test_valid_answers_are_accepted(llm: Any, tools: str, calls: list[ToolCall]) -> None:
    functions = TOOL_SETS[tools]
    assert valid_calls(calls, functions)
    assert accepts(llm, build_grammar(tools_of(functions)), render_completion(calls))


@pytest.mark.parametrize(("tools", "calls", "why"), INVALID)
def test_invalid_answers_are_rejected(llm: Any, tools: str, calls: list[ToolCall], why: str) -> None:
    functions = TOOL_SETS[tools]
    assert not valid_calls(calls, functions), why
    assert not accepts(llm, build_grammar(tools_of(functions)), render_completion(calls)), why


def test_only_the_fenced_list_is_accepted(llm: Any) -> None:
    grammar = build_grammar(tools_of([WEATHER]))
    call = '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
    assert accepts(llm, grammar, f"```\n{call}\n```")
    # Only the trained layout (json.dumps's separators, nothing inside brackets): every
    # structural byte is forced, which is what jump-forward feeds in one batch.
    for other in (
        '[\n    {"name": "get_weather", "arguments": {"city": "Paris"}}\n]',
        '[{"name":"get_weather","arguments":{"city":"Paris"}}]',
        '[ {"name": "get_weather", "arguments": {"city": "Paris"}} ]',
        '[{"name": "get_weather", "arguments": { "city": "Paris" }}]',
    ):
        assert not accepts(llm, grammar, f"```\n{other}\n```"), other
    paris, oslo = (f'{{"name": "get_weather", "arguments": {{"city": "{c}"}}}}' for c in ("Paris", "Oslo"))
    two = f"[{paris}, {oslo}]"
    assert accepts(llm, grammar, f"```\n{two}\n```")
    assert not accepts(llm, grammar, call)  # the prompt asks for the fenced block
    assert not accepts(llm, grammar, f"```\n{call}\n``` and some chatter")
    assert not accepts(llm, grammar, f"```\n{call}")  # unfinished
    assert not accepts(llm, grammar, '```\n[{"arguments": {"city": "Paris"}, "name": "get_weather"}]\n```')


def test_tool_choice(llm: Any) -> None:
    tools = tools_of([WEATHER, PING])
    empty = render_completion([])
    weather = render_completion([ToolCall("get_weather", {"city": "Oslo"})])
    ping = render_completion([ToolCall("ping", {})])
    named = {"type": "function", "function": {"name": "ping"}}
    for choice, accepted, rejected in [
        ("auto", [empty, weather, ping], []),
        (None, [empty, weather, ping], []),
        ("required", [weather, ping], [empty]),
        (named, [ping, render_completion([ToolCall("ping", {})] * 2)], [empty, weather]),
        ("none", [empty], [weather, ping]),
    ]:
        grammar = build_grammar(tools, choice)
        assert all(accepts(llm, grammar, text) for text in accepted), choice
        assert not any(accepts(llm, grammar, text) for text in rejected), choice
    single = build_grammar(tools, "auto", parallel=False)
    assert accepts(llm, single, weather) and accepts(llm, single, empty)
    assert not accepts(llm, single, render_completion([ToolCall("ping", {})] * 2))


@pytest.mark.parametrize(
    ("choice", "field"),
    [
        ("sometimes", "tool_choice"),
        ({"type": "function", "function": {"name": "nope"}}, "tool_choice"),
        ({"type": "function"}, "tool_choice"),
        (3, "tool_choice"),
    ],
)
def test_bad_tool_choice_is_a_located_error(choice: Any, field: str) -> None:
    with pytest.raises(HammerError) as err:
        build_grammar(tools_of([WEATHER]), choice)
    assert err.value.field == field


def test_literal_escapes_what_gbnf_needs() -> None:
    assert literal('a"b\\c\nd\te\x01') == '"a\\"b\\\\c\\nd\\te\\x01"'


def test_grammars_are_cached_per_tool_set() -> None:
    cache = GrammarCache(size=2)
    first = cache.get(tools_of([WEATHER]), "auto")
    assert cache.get(tools_of([copy.deepcopy(WEATHER)]), "auto") is first
    assert cache.get(tools_of([WEATHER]), "required") is not first
    assert (cache.hits, cache.misses) == (1, 2)
    cache.get(tools_of([PING]), "auto")  # evicts the least recently used entry
    cache.get(tools_of([WEATHER]), "auto")
    assert cache.misses == 4
    assert grammar_for_tools(tools_of([WEATHER])) is grammar_for_tools(tools_of([WEATHER]))


def test_an_unparseable_grammar_is_an_error_not_a_crash(llm: Any) -> None:
    with pytest.raises(HammerError):
        CompiledGrammar("root ::= undefined-rule", llama_cpp.llama_model_get_vocab(llm.model))


# --- every BFCL python function set: compiles, accepts the valid gold answer, rejects breakage --

BFCL_CATEGORIES = [
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
]
PER_CATEGORY = 60


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _gold_calls(ground_truth: list[dict[str, Any]], functions: list[dict[str, Any]]) -> list[ToolCall]:
    """The first acceptable value of each argument ("" = omitted), in the schema's order."""
    by_name = {f["name"]: f for f in functions}
    calls = []
    for entry in ground_truth:
        ((name, params),) = entry.items()
        order = list(by_name[name]["parameters"].get("properties", {}))
        chosen = {k: v[0] for k, v in params.items() if v and v[0] != ""}
        calls.append(
            ToolCall(
                name,
                {
                    k: chosen[k]
                    for k in sorted(chosen, key=lambda k: order.index(k) if k in order else len(order))
                },
            )
        )
    return calls


def _broken(call: ToolCall, function: dict[str, Any]) -> list[ToolCall]:
    """Answers that must be rejected: renamed function, unknown argument, missing required
    argument, a value of the wrong type."""
    schema = function["parameters"]
    out = [
        ToolCall(call.name + "_x", call.arguments),
        ToolCall(call.name, {**call.arguments, "zz_unknown": 1}),
    ]
    required = [k for k in schema.get("required", []) if k in call.arguments]
    if required:
        out.append(ToolCall(call.name, {k: v for k, v in call.arguments.items() if k != required[0]}))
    for key in call.arguments:
        spec = schema["properties"][key]
        if spec.get("type") in ("string", "integer", "boolean") and "enum" not in spec:
            wrong = [] if spec["type"] == "string" else "wrong"
            out.append(ToolCall(call.name, {**call.arguments, key: wrong}))
            break
    return out


def test_bfcl_function_sets(llm: Any, bfcl_data_dir: Path) -> None:
    checked = 0
    for category in BFCL_CATEGORIES:
        cases = _jsonl(bfcl_data_dir / f"BFCL_v4_{category}.json")[:PER_CATEGORY]
        answers = {
            a["id"]: a["ground_truth"]
            for a in _jsonl(bfcl_data_dir / "possible_answer" / f"BFCL_v4_{category}.json")
        }
        for case in cases:
            functions = case["function"]
            grammar = build_grammar(tools_of(functions))
            calls = _gold_calls(answers[case["id"]], functions)
            if not valid_calls(calls, functions):
                continue  # the gold value disagrees with its own schema (BFCL has a few)
            assert accepts(llm, grammar, render_completion(calls)), case["id"]
            by_name = {f["name"]: f for f in functions}
            for broken in _broken(calls[0], by_name[calls[0].name]):
                assert not valid_calls([broken], functions)
                assert not accepts(llm, grammar, render_completion([broken])), (case["id"], broken)
            checked += 1
    assert checked >= 350  # of 400 cases (live_parallel* are small): most gold answers fit their schema


# --- what the embedded model writes under the grammar ---------------------------------------

QUERIES = [
    ("weather", "What's the weather in Paris in celsius for the next 3 days?", "auto", False),
    ("booking", "Book a table for 2 people tomorrow at 19:30, my friend Ann is vegan.", "auto", False),
    ("booking", "Tell me a joke.", "required", False),
    ("ping+odd", "Run odd in mode 2.", {"type": "function", "function": {"name": 'odd "name"\\x'}}, False),
]


@pytest.fixture(scope="module")
def backend(llm: Any) -> Any:
    """The server's llama.cpp backend around the module's model (closed with it, not here)."""
    from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
    from hammer_fc.model_spec import resolve

    return LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), llama=llm)


@pytest.mark.slow
@pytest.mark.parametrize(("tools", "query", "choice", "parallel"), QUERIES)
def test_generated_answers_parse_and_validate(
    backend: Any, tools: str, query: str, choice: Any, parallel: bool
) -> None:
    """What the embedded model writes under the grammar, through the backend the server uses
    (an answer cut off by the token limit would fail to parse)."""
    functions = TOOL_SETS[tools]
    example = Example(messages=[Message(role="user", content=query)], tools=tools_of(functions))
    grammar = build_grammar(example.tools, choice, parallel=parallel)
    (text,) = backend.generate([backend.format(example, "hammer")], max_new_tokens=160, grammar=grammar)
    calls = parse_calls(text)
    assert isinstance(calls, list), (text, calls)
    assert valid_calls(calls, functions), text
    if choice != "auto":
        assert calls, text
    if isinstance(choice, dict):
        assert {c.name for c in calls} == {choice["function"]["name"]}
