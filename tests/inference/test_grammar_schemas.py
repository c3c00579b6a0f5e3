"""JSON Schemas as real tools write them, enforced by the grammar (issue 14, item 6).

Answers are produced from the grammar text itself: a random walk through the GBNF written here
(independent of the builder and of llama.cpp; below), and, where llama.cpp runs, a random walk
through llama.cpp's own grammar sampler over the embedded model's vocabulary, and the embedded
model answering through the server. Every answer must validate against its schema with the
``jsonschema`` package. The corpus: every function doc BFCL ships, converted to JSON Schema by
the project's codec, plus hand-written ``$ref``/``anyOf``/``const``/``nullable`` cases.
"""

from __future__ import annotations

import glob
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hammer_fc.errors import HammerError
from hammer_fc.inference.grammar import build_grammar, json_schema_grammar
from hammer_fc.prompts import parse_calls, render_completion
from hammer_fc.schema import ToolCall
from hammer_fc.schema.params import tool_from_function, tool_from_xlam, tool_to_function
from hammer_fc.serve.request import read_request

# --- GBNF, read independently of the builder: a random walk and an exact matcher --------------

_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:\\.|[^"\\])*")|(?P<cls>\[(?:\\.|[^\]\\])*\])|(?P<rep>\{\d+(?:,\d*)?\})'
    r"|(?P<op>::=|[()|?*+])|(?P<name>[A-Za-z0-9-]+))"
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-", "^": "^"}


def _unescape(text: str) -> list[str]:
    """Characters of a literal's or class's body (``\\xHH``, ``\\uHHHH`` and the usual escapes)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            kind = text[i + 1]
            if kind in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[kind]
                out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
            out.append(_ESCAPES[kind])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return out


def _char_class(body: str) -> tuple[bool, list[tuple[str, str]]]:
    negated = body.startswith("^")
    chars = _unescape(body[1:] if negated else body)
    ranges, i = [], 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            ranges.append((chars[i], chars[i + 2]))
            i += 3
        else:
            ranges.append((chars[i], chars[i]))
            i += 1
    return negated, ranges


def parse(grammar: str) -> dict[str, Any]:
    """Rule name -> expression tree (``alt``/``seq``/``lit``/``cls``/``ref``/``rep``)."""
    rules: dict[str, Any] = {}
    for line in grammar.splitlines():
        if not line.strip():
            continue
        tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(line)]
        assert "".join(t for _, t in tokens).replace(" ", "") == line.replace(" ", ""), line
        name, arrow = tokens[0][1], tokens[1][1]
        assert arrow == "::=", line
        expr, rest = _alt(tokens[2:])
        assert not rest, line
        rules[name] = expr
    return rules


def _alt(tokens: list) -> tuple[Any, list]:
    seqs = []
    seq, tokens = _seq(tokens)
    seqs.append(seq)
    while tokens and tokens[0] == ("op", "|"):
        seq, tokens = _seq(tokens[1:])
        seqs.append(seq)
    return ("alt", seqs), tokens


def _seq(tokens: list) -> tuple[Any, list]:
    items = []
    while tokens and tokens[0] not in (("op", "|"), ("op", ")")):
        kind, text = tokens[0]
        tokens = tokens[1:]
        if kind == "lit":
            item: Any = ("lit", "".join(_unescape(text[1:-1])))
        elif kind == "cls":
            item = ("cls", *_char_class(text[1:-1]))
        elif kind == "name":
            item = ("ref", text)
        elif text == "(":
            item, tokens = _alt(tokens)
            assert tokens[0] == ("op", ")")
            tokens = tokens[1:]
        else:
            raise AssertionError(f"unexpected {text!r}")
        while tokens and (tokens[0][0] == "rep" or tokens[0][1] in ("?", "*", "+")):
            text = tokens[0][1]
            tokens = tokens[1:]
            if text == "?":
                item = ("rep", item, 0, 1)
            elif text == "*":
                item = ("rep", item, 0, None)
            elif text == "+":
                item = ("rep", item, 1, None)
            else:
                low, comma, high = text[1:-1].partition(",")
                item = ("rep", item, int(low), (int(high) if high else None) if comma else int(low))
        items.append(item)
    return ("seq", items), tokens


# Candidates for a negated class: ASCII, escapes' first characters and some multi-byte text.
_POOL = [chr(c) for c in range(0x20, 0x7F)] + list("\té中😀ß\u2028")


class Sampler:
    """Random strings of a grammar; past ``depth`` levels it takes the shortest ways out."""

    def __init__(self, grammar: str, rng: random.Random, depth: int = 12) -> None:
        self.rules = parse(grammar)
        self.rng = rng
        self.depth = depth
        self.cost = {name: float("inf") for name in self.rules}
        changed = True
        while changed:
            changed = False
            for name, expr in self.rules.items():
                cost = self._cost(expr)
                if cost < self.cost[name]:
                    self.cost[name], changed = cost, True
        missing = [n for n, c in self.cost.items() if c == float("inf")]
        assert not missing, f"rules with no finite expansion: {missing}"

    def _cost(self, expr: Any) -> float:
        kind = expr[0]
        if kind == "lit":
            return len(expr[1])
        if kind == "cls":
            return 1
        if kind == "ref":
            return self.cost[expr[1]]
        if kind == "seq":
            return sum(self._cost(e) for e in expr[1])
        if kind == "alt":
            return min(self._cost(e) for e in expr[1])
        return expr[2] * self._cost(expr[1]) if expr[2] else 0

    def sample(self, rule: str = "root") -> str:
        out: list[str] = []
        self._walk(("ref", rule), 0, out)
        return "".join(out)

    def _walk(self, expr: Any, depth: int, out: list[str]) -> None:
        kind = expr[0]
        if kind == "lit":
            out.append(expr[1])
        elif kind == "cls":
            out.append(self._char(expr[1], expr[2]))
        elif kind == "ref":
            self._walk(self.rules[expr[1]], depth + 1, out)
        elif kind == "seq":
            for item in expr[1]:
                self._walk(item, depth, out)
        elif kind == "alt":
            options = expr[1]
            if depth > self.depth:
                best = min(self._cost(o) for o in options)
                options = [o for o in options if self._cost(o) == best]
            self._walk(self.rng.choice(options), depth, out)
        else:
            _, item, low, high = expr
            count = low
            if depth <= self.depth:
                while (high is None or count < high) and self.rng.random() < (0.7 if count < 3 else 0.3):
                    count += 1
                if high is not None and self.rng.random() < 0.2:
                    count = high  # reach the upper bound now and then
            for _ in range(count):
                self._walk(item, depth + 1, out)

    def _char(self, negated: bool, ranges: list[tuple[str, str]]) -> str:
        def inside(c: str) -> bool:
            return any(a <= c <= b for a, b in ranges)

        if negated:
            return self.rng.choice([c for c in _POOL if not inside(c)])
        low, high = self.rng.choice(ranges)
        return chr(self.rng.randint(ord(low), ord(high)))


def regex(grammar: str, rule: str = "root", nesting: int = 3) -> re.Pattern[str]:
    """A Python regex for a rule, recursive rules unrolled ``nesting`` deep: exact membership for
    values nested less deeply than that."""
    rules = parse(grammar)

    def walk(expr: Any, stack: tuple[str, ...]) -> str:
        kind = expr[0]
        if kind == "lit":
            return re.escape(expr[1])
        if kind == "cls":
            body = "".join(re.escape(a) if a == b else f"{re.escape(a)}-{re.escape(b)}" for a, b in expr[2])
            return f"[{'^' if expr[1] else ''}{body}]"
        if kind == "ref":
            if stack.count(expr[1]) >= nesting:
                return "(?!)"  # deeper nesting of a recursive rule (JSON's ``value``) is cut off
            return walk(rules[expr[1]], (*stack, expr[1]))
        if kind == "seq":
            return "(?:" + "".join(walk(e, stack) for e in expr[1]) + ")"
        if kind == "alt":
            return "(?:" + "|".join(walk(e, stack) for e in expr[1]) + ")"
        _, item, low, high = expr
        return f"(?:{walk(item, stack)}){{{low},{'' if high is None else high}}}"

    return re.compile(walk(("ref", rule), ()), re.DOTALL)


# --- validation --------------------------------------------------------------------------


def standard(schema: Any) -> Any:
    """OpenAPI's ``nullable: true`` spelled in JSON Schema (the validator does not know it)."""
    if isinstance(schema, list):
        return [standard(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (v if k in ("enum", "const", "default") else standard(v)) for k, v in schema.items()}
    if out.pop("nullable", False) is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def validate(value: Any, schema: Any) -> None:
    spec = standard(schema)
    jsonschema.validators.validator_for(spec)(spec).validate(value)


def samples(grammar: str, count: int, seed: int = 0, depth: int = 12) -> Iterator[str]:
    sampler = Sampler(grammar, random.Random(seed), depth)
    for _ in range(count):
        yield sampler.sample()


# --- hand-written schemas: (schema, valid values, invalid values) ---------------------------

NODE = {
    "type": "object",
    "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#"}}},
    "required": ["value"],
}
CASES: dict[str, tuple[dict[str, Any], list[Any], list[Any]]] = {
    "ref-defs": (
        {
            "type": "object",
            "$defs": {
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "place": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
                    "required": ["city"],
                },
            },
            "properties": {"where": {"$ref": "#/$defs/place"}, "unit": {"$ref": "#/$defs/unit"}},
            "required": ["where"],
        },
        [{"where": {"city": "Paris"}}, {"where": {"city": "Oslo", "country": "NO"}, "unit": "celsius"}],
        [{"$ref": "#/$defs/place"}, {"where": {"country": "FR"}}, {"where": {"city": "x"}, "unit": "kelvin"}],
    ),
    "definitions-chain": (
        {
            "definitions": {
                "id": {"$ref": "#/definitions/positive"},
                "positive": {"type": "integer", "minimum": 1},
            },
            "type": "object",
            "properties": {"ids": {"type": "array", "items": {"$ref": "#/definitions/id"}, "minItems": 1}},
            "required": ["ids"],
        },
        [{"ids": [1]}, {"ids": [3, 40, 512]}],
        [{"ids": []}, {"ids": [0]}, {"ids": ["1"]}],
    ),
    "recursive-ref": (NODE, [], []),
    "anyOf-simple": (
        {
            "anyOf": [
                {"type": "string", "maxLength": 4},
                {"type": "integer", "minimum": 0},
                {"type": "boolean"},
            ]
        },
        ["abcd", "", 0, 12, True],
        ["abcde", -1, None, 1.5, [1]],
    ),
    "oneOf-disjoint": (
        {"oneOf": [{"type": "number"}, {"type": "string", "enum": ["auto", "max"]}, {"type": "null"}]},
        [1.5, -3, "auto", None],
        ["min", True, {}],
    ),
    "const-and-enum": (
        {
            "type": "object",
            "properties": {
                "kind": {"const": "search"},
                "level": {"enum": [1, 2, "high", None]},
                "flag": {"type": "boolean", "const": False},
            },
            "required": ["kind"],
        },
        [
            {"kind": "search"},
            {"kind": "search", "level": None, "flag": False},
            {"kind": "search", "level": "high"},
        ],
        [{"kind": "find"}, {"kind": "search", "level": 3}, {"kind": "search", "flag": True}, {}],
    ),
    "nullable": (
        {
            "type": "object",
            "properties": {
                "note": {"type": "string", "nullable": True},
                "count": {"type": ["integer", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}, "nullable": True},
                "mixed": {"type": ["string", "number", "null"]},
            },
        },
        [
            {},
            {"note": None, "count": None, "tags": None},
            {"note": "x", "count": 2, "tags": ["a"], "mixed": 1.5},
        ],
        [{"note": 1}, {"count": "2"}, {"tags": [None]}, {"mixed": True}],
    ),
    "nested-objects-arrays": (
        {
            "type": "object",
            "properties": {
                "order": {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "sku": {"type": "string"},
                                    "qty": {"type": "integer", "minimum": 1},
                                },
                                "required": ["sku", "qty"],
                            },
                            "minItems": 1,
                            "maxItems": 3,
                        },
                        "rush": {"type": "boolean"},
                    },
                    "required": ["items"],
                },
                "point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            },
            "required": ["order"],
        },
        [
            {"order": {"items": [{"sku": "a", "qty": 1}]}},
            {"order": {"items": [{"sku": "a", "qty": 2}] * 3}, "point": [0, 1.5]},
        ],
        [
            {"order": {"items": []}},
            {"order": {"items": [{"sku": "a"}]}},
            {"order": {"items": [{"sku": "a", "qty": 0}]}},
            {"order": {"items": [{"sku": "a", "qty": 1}] * 4}},
            {"order": {"items": [{"sku": "a", "qty": 1}]}, "point": [1]},
        ],
    ),
    "allOf-and-ref-siblings": (
        {
            "$defs": {
                "base": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}}
            },
            "allOf": [{"$ref": "#/$defs/base"}, {"required": ["a"]}],
        },
        [{"a": 1}, {"a": 1, "b": "x"}],
        [{"b": "x"}, {"a": "1"}],
    ),
    "bounds": (
        {
            "type": "object",
            "properties": {
                "ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "temp": {"type": "number", "exclusiveMinimum": -273.15, "exclusiveMaximum": 100},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "code": {"type": "string", "minLength": 2, "maxLength": 3},
            },
        },
        [
            {"ratio": 0.25, "temp": -273, "port": 65535, "code": "ab"},
            {"ratio": 1, "temp": 99.9, "port": 1, "code": "abc"},
        ],
        [
            {"ratio": 1.5},
            {"ratio": -0.1},
            {"temp": 100},
            {"port": 0},
            {"port": 65536},
            {"code": "a"},
            {"code": "abcd"},
        ],
    ),
    "tuples": (
        {
            "type": "object",
            "properties": {
                "pair": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "integer"}],
                    "items": False,
                },
                "map": {"type": "object", "additionalProperties": {"type": "integer"}},
                "closed": {"type": "object", "additionalProperties": False},
            },
        },
        [{"pair": ["a", 1]}, {"map": {"x": 1, "y": 2}}, {"map": {}, "closed": {}}],
        [{"pair": [1, "a"]}, {"pair": ["a", 1, 2]}, {"map": {"x": "1"}}, {"closed": {"a": 1}}],
    ),
    "anyOf-with-siblings": (
        {"type": "string", "anyOf": [{"enum": ["auto", "max", 3]}, {"maxLength": 1}]},
        ["auto", "max", "x", ""],
        ["xyz", 3, None],
    ),
    "enum-within-bounds": (
        {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": ["ab", "abc", "a"], "maxLength": 2},
                "level": {"enum": [0, 5, 10, "x"], "minimum": 1, "exclusiveMaximum": 10},
            },
        },
        [{"code": "ab"}, {"code": "a", "level": 5}, {"level": "x"}],
        [{"code": "abc"}, {"level": 0}, {"level": 10}],
    ),
    "draft7-tuple": (
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "array",
            "items": [{"type": "integer"}, {"type": "string"}],
            "additionalItems": False,
        },
        [[1, "a"]],
        [["a", 1], [1, "a", 2]],
    ),
    "boolean-schemas": (
        {
            "type": "object",
            "properties": {
                "any": True,
                "never": False,
                "list": {"type": "array", "items": True},
                "either": {"anyOf": [True, {"type": "integer"}]},
                "some": {"anyOf": [False, {"type": "integer"}]},
            },
            "required": ["any"],
        },
        [{"any": None}, {"any": {"x": [1]}, "list": [1, "a"], "either": "x", "some": 2}],
        [{}, {"any": 1, "never": 1}, {"any": 1, "some": "x"}],
    ),
    "unsatisfiable-optional-dropped": (
        # BFCL writes booleans whose enum lists strings: no value fits, so the key never appears.
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "garage": {"type": "boolean", "enum": ["True", "dontcare"]},
            },
            "required": ["city"],
        },
        [{"city": "x"}],
        [{"city": "x", "garage": True}, {"city": "x", "garage": "True"}],
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_sampled_values_validate(name: str) -> None:
    schema, valid, invalid = CASES[name]
    for value in valid:
        validate(value, schema)  # the cases themselves are right
    for value in invalid:
        with pytest.raises(jsonschema.ValidationError):
            validate(value, schema)
    for text in samples(json_schema_grammar(schema), 200):
        validate(json.loads(text), schema)


@pytest.mark.parametrize("name", [n for n in CASES if n != "recursive-ref"])
def test_exact_membership(name: str) -> None:
    """What the grammar admits, decided by a regex built from its text (no recursion here)."""
    schema, valid, invalid = CASES[name]
    matcher = regex(json_schema_grammar(schema))
    for value in valid:
        assert matcher.fullmatch(json.dumps(value)), value
    for value in invalid:
        assert not matcher.fullmatch(json.dumps(value)), value


def test_recursive_ref_nests() -> None:
    deep = [json.loads(t) for t in samples(json_schema_grammar(NODE), 300, seed=3, depth=40)]
    for value in deep:
        validate(value, NODE)
    depth = max(_depth(v) for v in deep)
    assert depth >= 3, depth


def _depth(node: dict[str, Any]) -> int:
    return 1 + max((_depth(c) for c in node.get("children", [])), default=0)


# --- the issue's request: a tool whose parameter is a $ref --------------------------------

REF_TOOL = {
    "name": "set_thermostat",
    "description": "Set the thermostat.",
    "parameters": {
        "type": "object",
        "$defs": {
            "setting": {
                "type": "object",
                "properties": {"degrees": {"type": "number"}, "mode": {"enum": ["heat", "cool"]}},
                "required": ["degrees", "mode"],
            }
        },
        "properties": {"room": {"type": "string"}, "setting": {"$ref": "#/$defs/setting"}},
        "required": ["room", "setting"],
    },
}


def test_a_ref_parameter_is_enforced_in_tool_calls() -> None:
    tools = [tool_from_function(REF_TOOL)]
    grammar = build_grammar(tools, "required")
    matcher = regex(grammar)
    good = ToolCall("set_thermostat", {"room": "hall", "setting": {"degrees": 20.5, "mode": "heat"}})
    assert matcher.fullmatch(render_completion([good]))
    literal_ref = ToolCall("set_thermostat", {"room": "hall", "setting": {"$ref": "#/$defs/setting"}})
    assert not matcher.fullmatch(render_completion([literal_ref]))
    assert not matcher.fullmatch(render_completion([ToolCall("set_thermostat", {"room": "hall"})]))
    for text in samples(grammar, 100):
        calls = parse_calls(text)
        assert isinstance(calls, list) and calls, text
        for call in calls:
            validate(call.arguments, REF_TOOL["parameters"])


def test_xlam_python_types_are_enforced() -> None:
    """xLAM's Python-ish types reach the grammar as the JSON Schema the codec derives from them
    (``anyOf``, ``prefixItems``, ``additionalProperties`` maps)."""
    specs = {
        "a": "Optional[Union[int, List[str]]]",
        "b": "Tuple[int, str]",
        "c": "Literal['x', 'y']",
        "d": "Dict[str, int], optional",
        "e": "List[Dict[str, float]]",
    }
    tool = tool_from_xlam({"name": "f", "parameters": {k: {"type": v} for k, v in specs.items()}})
    schema = tool_to_function(tool, "jsonschema")["parameters"]
    assert "anyOf" in schema["properties"]["a"] and "prefixItems" in schema["properties"]["b"]
    grammar = build_grammar([tool], "required")
    matcher = regex(grammar)
    good = {"a": None, "b": [1, "x"], "c": "y", "e": [{"k": 1.5}]}
    assert matcher.fullmatch(render_completion([ToolCall("f", good)]))
    for bad in (
        {**good, "b": [1, 2]},
        {**good, "c": "z"},
        {**good, "a": ["x", 1]},
        {**good, "d": {"k": "1"}},
    ):
        assert not matcher.fullmatch(render_completion([ToolCall("f", bad)])), bad
    for text in samples(grammar, 200):
        calls = parse_calls(text)
        assert isinstance(calls, list) and calls, text
        for call in calls:
            validate(call.arguments, schema)


# --- what cannot be enforced is refused, naming the construct -----------------------------

REFUSED = [
    ({"type": "string", "pattern": "^[a-z]+$"}, "schema.pattern", "'pattern'"),
    (
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        "schema.uniqueItems",
        "uniqueItems",
    ),
    ({"not": {"type": "string"}}, "schema.not", "'not'"),
    ({"$ref": "https://example.com/s.json"}, "schema.$ref", "local"),
    ({"$ref": "#/$defs/missing"}, "schema.$ref", "points to nothing"),
    ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "schema.$defs.a.$ref", "refers back"),
    ({"enum": []}, "schema.enum", "empty"),
    ({"type": "integer", "enum": ["a", "b"]}, "schema.enum", "type"),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, "schema.oneOf", "same value"),
    ({"oneOf": [{"type": "string"}, {"const": "auto"}]}, "schema.oneOf", "same value"),
    ({"type": "strang"}, "schema.type", "strang"),
    ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "schema.allOf[1].type", "type"),
    ({"type": "integer", "minimum": 5, "maximum": 2}, "schema", "no integer"),
    (
        {"type": "object", "properties": {"a": {"type": "string", "format": "email", "pattern": "@"}}},
        "schema.properties.a.pattern",
        "pattern",
    ),
    ({"type": "object", "properties": {"a": False}, "required": ["a"]}, "schema.properties.a", "false"),
    ({"type": "array", "minItems": 1000}, "schema.minItems", "1000"),
    ({"enum": [{"a": 1}], "required": ["b"]}, "schema.enum", "'required'"),
]


@pytest.mark.parametrize(("schema", "field", "word"), REFUSED)
def test_what_cannot_be_enforced_is_refused(schema: dict[str, Any], field: str, word: str) -> None:
    with pytest.raises(HammerError) as err:
        json_schema_grammar(schema)
    assert err.value.field == field
    assert word in err.value.message


def test_tool_errors_name_the_request_field() -> None:
    bad = json.loads(json.dumps(REF_TOOL))
    bad["parameters"]["$defs"]["setting"]["properties"]["mode"] = {
        "type": "string",
        "pattern": "^(heat|cool)$",
    }
    tools = [
        tool_from_function({"name": "ok", "parameters": {"type": "object", "properties": {}}}),
        tool_from_function(bad),
    ]
    with pytest.raises(HammerError) as err:
        build_grammar(tools)
    assert err.value.field == "tools[1].function.parameters.$defs.setting.properties.mode.pattern"
    named = {"type": "function", "function": {"name": "ok"}}
    assert build_grammar(tools, named)  # only the forced tool's schema matters


@pytest.mark.parametrize(
    ("parameters", "field", "word"),
    [
        ({"type": "string"}, "tools[0].function.parameters.type", "'f'"),
        ({"type": "array", "items": {"type": "string"}}, "tools[0].function.parameters.type", "object"),
        (
            {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"enum": []}}}}},
            "tools[0].function.parameters.properties.a.properties.b.enum",
            "empty",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "array", "items": {"type": "string", "enum": []}}},
            },
            "tools[0].function.parameters.properties.a.items.enum",
            "empty",
        ),
    ],
)
def test_requests_no_answer_can_satisfy_are_refused(
    parameters: dict[str, Any], field: str, word: str
) -> None:
    """Refused whether or not decoding is constrained (``read_request`` runs for both)."""
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    with pytest.raises(HammerError) as err:
        read_request([{"role": "user", "content": "hi"}], [tool])
    assert err.value.field == field and word in err.value.message


def test_type_lists_survive_the_codec() -> None:
    """``["string", "integer"]`` used to come back with no type (any value)."""
    spec = {
        "type": "object",
        "properties": {"v": {"type": ["string", "integer", "null"]}, "n": {"type": ["null"]}},
    }
    back = tool_to_function(tool_from_function({"name": "f", "parameters": spec}), "jsonschema")["parameters"]
    assert back["properties"]["v"]["type"] == ["string", "integer", "null"]
    assert back["properties"]["n"]["type"] == "null"


def test_integer_ranges_are_exact() -> None:
    rng = random.Random(7)
    for _ in range(150):
        low = rng.choice([None, rng.randint(-3000, 3000), rng.randint(-30, 30), 0, 10 ** rng.randint(0, 4)])
        high = rng.choice(
            [None, rng.randint(-3000, 3000), rng.randint(-30, 30), 0, 10 ** rng.randint(0, 4) - 1]
        )
        if low is not None and high is not None and low > high:
            low, high = high, low
        schema = (
            {"type": "integer"}
            | ({"minimum": low} if low is not None else {})
            | ({"maximum": high} if high is not None else {})
        )
        matcher = regex(json_schema_grammar(schema))
        start = (low if low is not None else high if high is not None else 0) - 40
        stop = (high if high is not None else start + 3000) + 40
        for value in range(start, stop):
            inside = (low is None or value >= low) and (high is None or value <= high)
            assert bool(matcher.fullmatch(str(value))) == inside, (schema, value)
        assert not matcher.fullmatch("01") and not matcher.fullmatch("-01")


# --- every BFCL function doc -------------------------------------------------------------

# Function docs whose required parameter has an enum none of whose values has the declared type
# (an array or integer with a list of strings): no call can be valid, so the server says 400.
BFCL_UNSATISFIABLE = {"get_response", "Events_3_BuyEventTickets", "extract_parameters_v1"}


def bfcl_function_docs(data_dir: Path) -> list[dict[str, Any]]:
    """Every distinct function doc in the installed BFCL data (single- and multi-turn)."""
    docs: dict[str, dict[str, Any]] = {}
    paths = sorted(glob.glob(str(data_dir / "BFCL_v4_*.json"))) + sorted(
        glob.glob(str(data_dir / "multi_turn_func_doc" / "*.json"))
    )
    for path in paths:
        text = Path(path).read_text()
        try:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            continue  # format_sensitivity: one JSON document of settings, no function docs
        for record in records:
            for doc in [record] if "parameters" in record else record.get("function") or []:
                docs.setdefault(json.dumps(doc, sort_keys=True), doc)
    return list(docs.values())


def test_every_bfcl_function_doc(bfcl_data_dir: Path) -> None:
    docs = bfcl_function_docs(bfcl_data_dir)
    assert len(docs) > 3000
    refused, validated = [], 0
    rng = random.Random(0)
    for doc in docs:
        tool = tool_from_function(doc)
        schema = tool_to_function(tool, "jsonschema")["parameters"]
        try:
            grammar = build_grammar([tool], "required", parallel=False)
        except HammerError as err:
            assert err.field and err.field.startswith("tools[0].function.parameters.properties."), err
            refused.append(doc["name"])
            continue
        validator = jsonschema.validators.validator_for(schema)(schema)
        sampler = Sampler(grammar, rng)
        for _ in range(3):
            text = sampler.sample()
            calls = parse_calls(text)
            assert isinstance(calls, list) and [c.name for c in calls] == [doc["name"]], text
            validator.validate(calls[0].arguments)
            validated += 1
    assert set(refused) == BFCL_UNSATISFIABLE, refused
    assert validated == 3 * (len(docs) - len(refused))


# --- llama.cpp's own grammar sampler, stepped over the embedded model's vocabulary -------------


@pytest.fixture(scope="module")
def vocab_only(embedded_gguf: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    return llama_cpp.Llama(str(embedded_gguf), vocab_only=True, verbose=False)


def llama_walk(llm: Any, grammar: str, rng: Any, max_tokens: int = 400) -> str | None:
    """A random path through the grammar as llama.cpp steps it: random logits, the best allowed
    token taken each step. Tokens holding a closing character (and end-of-generation) get a
    growing bonus, so that the walk ends; ``None`` if it has not by ``max_tokens``."""
    import llama_cpp
    import numpy as np

    from hammer_fc.inference.grammar import CompiledGrammar

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    with CompiledGrammar(grammar, vocab) as compiled:
        closers = np.array(
            [
                t
                for t in range(compiled.n_vocab)
                if any(c in llm.detokenize([t]).decode("utf-8", "replace") for c in '"]}`')
            ]
            + [compiled.eos]
        )
        tokens: list[int] = []
        for step in range(max_tokens):
            logits = rng.standard_normal(compiled.n_vocab).astype(np.float32)
            logits[closers] += step * 0.05
            token = compiled.best(logits)
            if token == compiled.eos:
                return llm.detokenize(tokens).decode("utf-8")
            compiled.accept(token)
            tokens.append(token)
    return None


@pytest.mark.slow
def test_llama_cpp_walks_validate(vocab_only: Any, bfcl_data_dir: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    schemas = [schema for schema, _, _ in CASES.values()]
    tools = [tool_from_function(REF_TOOL)] + [
        tool_from_function(d)
        for d in bfcl_function_docs(bfcl_data_dir)[::200]
        if d["name"] not in BFCL_UNSATISFIABLE
    ]
    finished = 0
    for schema in schemas:
        text = llama_walk(vocab_only, json_schema_grammar(schema), rng)
        if text is not None:
            validate(json.loads(text), schema)
            finished += 1
    for tool in tools:
        text = llama_walk(vocab_only, build_grammar([tool], "required"), rng)
        if text is not None:
            calls = parse_calls(text)
            assert isinstance(calls, list) and calls, text
            for call in calls:
                validate(call.arguments, tool_to_function(tool, "jsonschema")["parameters"])
            finished += 1
    assert finished >= 0.8 * (len(schemas) + len(tools)), finished


# --- the embedded model through the server ------------------------------------------------

SERVED_TOOLS = [
    {"type": "function", "function": REF_TOOL},
    {
        "type": "function",
        "function": {
            "name": "search_flights",
            "description": "Search flights between two airports.",
            "parameters": {
                "type": "object",
                "definitions": {"airport": {"type": "string", "minLength": 3, "maxLength": 3}},
                "properties": {
                    "origin": {"$ref": "#/definitions/airport"},
                    "destination": {"$ref": "#/definitions/airport"},
                    "date": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "cabin": {"enum": ["economy", "business"], "default": "economy"},
                    "passengers": {"type": "integer", "minimum": 1, "maximum": 9},
                    "max_price": {"type": "number", "nullable": True},
                    "kind": {"const": "flight"},
                },
                "required": ["origin", "destination", "kind"],
            },
        },
    },
]
QUERIES = [
    "Set the living room thermostat to 21 degrees, heating.",
    "Cool the bedroom to 18.",
    "Find me a business class flight from JFK to LHR on 2025-03-02 for 2 people.",
]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    openai = pytest.importorskip("openai")
    pytest.importorskip("llama_cpp")
    from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
    from hammer_fc.model_spec import resolve
    from hammer_fc.serve import BackgroundServer, create_app

    backend = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=2048, n_threads=2)
    try:
        with BackgroundServer(create_app(backend, model_name="smol", max_new_tokens=96)) as running:
            yield openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=300)
    finally:
        backend.close()


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES)
def test_served_answers_validate(client: Any, query: str) -> None:
    response = client.chat.completions.create(
        model="smol",
        messages=[{"role": "user", "content": query}],
        tools=SERVED_TOOLS,
        tool_choice="required",
    )
    choice = response.choices[0]
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in SERVED_TOOLS}
    assert choice.message.tool_calls or choice.finish_reason == "length", choice
    calls = list(choice.message.tool_calls or [])
    if choice.finish_reason == "length":
        calls = calls[:-1]  # the server returns the call the token limit cut, as written so far
    for call in calls:
        validate(json.loads(call.function.arguments), schemas[call.function.name])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "param", "word"),
    [
        (
            lambda f: f["parameters"]["properties"].update(
                origin={"type": "string", "pattern": "^[A-Z]{3}$"}
            ),
            "tools[0].function.parameters.properties.origin.pattern",
            "pattern",
        ),
        (
            lambda f: f["parameters"]["properties"].update(origin={"$ref": "#/definitions/nowhere"}),
            "tools[0].function.parameters.properties.origin.$ref",
            "nowhere",
        ),
        (
            lambda f: f["parameters"]["properties"].update(cabin={"enum": []}),
            "tools[0].function.parameters.properties.cabin.enum",
            "empty",
        ),
        (
            lambda f: f.update(parameters={"type": "string"}),
            "tools[0].function.parameters.type",
            "search_flights",
        ),
    ],
)
def test_served_schema_errors_are_400(client: Any, change: Any, param: str, word: str) -> None:
    import openai

    function = json.loads(json.dumps(SERVED_TOOLS[1]["function"]))
    change(function)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="smol",
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "function", "function": function}],
        )
    assert err.value.status_code == 400
    assert err.value.body["param"] == param and word in err.value.body["message"], err.value.body
