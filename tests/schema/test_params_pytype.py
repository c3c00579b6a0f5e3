"""Python-ish type strings (xLAM, the paper's files) and round trips of generated tools through
every dialect (hypothesis)."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hammer_fc.errors import HammerError
from hammer_fc.schema import CANONICAL_TYPES, Param, Tool
from hammer_fc.schema.params import (
    canonical_type,
    tool_from_function,
    tool_from_xlam,
    tool_to_function,
    tool_to_xlam,
)
from hammer_fc.schema.pytype import Resolved, TypeNode, format_node, parse_pytype, resolve


@pytest.mark.parametrize(
    ("text", "ptype", "nullable", "optional", "item"),
    [
        ("str", "string", False, False, None),
        ("int", "integer", False, False, None),
        ("float", "number", False, False, None),
        ("bool", "boolean", False, False, None),
        ("List[str]", "array", False, False, "str"),
        ("List[int], optional", "array", False, True, "int"),
        ("Dict[str, Any]", "object", False, False, None),
        ("str, optional", "string", False, True, None),
        ("float, default=1.0", "number", False, True, None),
        ("Optional[int]", "integer", True, True, None),
        ("int | None", "integer", True, False, None),
        ("Union[str, None]", "string", True, False, None),
        ("Union[int, float]", "number", False, False, None),
        ("Union[int, str]", "any", False, False, None),
        ("Tuple[float, float]", "array", False, False, "float"),
        ("Tuple[int, ...]", "array", False, False, "int"),
        ("Tuple[int, str]", "array", False, False, None),
        ("List[List[int]]", "array", False, False, "List[int]"),
        ("typing.List[str]", "array", False, False, "str"),
        ("Callable[[float], float]", "any", False, False, None),
        ("Literal['a', 'b']", "string", False, False, None),
        ("Any", "any", False, False, None),
        ("set", "array", False, False, None),
        ("np.ndarray", "array", False, False, None),
        ("int or str", "any", False, False, None),  # outside the grammar: kept, typed any
    ],
)
def test_type_strings(text: str, ptype: str, nullable: bool, optional: bool, item: str | None) -> None:
    parsed = parse_pytype(text)
    resolved = resolve(parsed.node)
    assert (resolved.type, resolved.nullable, parsed.optional) == (ptype, nullable, optional)
    assert (format_node(resolved.item) if resolved.item else None) == item


def test_strict_parsing_rejects_what_lenient_parsing_keeps() -> None:
    with pytest.raises(HammerError, match="cannot parse type"):
        parse_pytype("List[int", strict=True)
    with pytest.raises(HammerError, match="unknown parameter type"):
        canonical_type("strnig")
    assert canonical_type("List[int]") == ("array", False)
    assert canonical_type("Optional[str]") == ("string", True)


_TYPE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text("[]|,. 'abcintstrListDictOptionalUnionNone", max_size=40),  # near the grammar
)


@given(_TYPE_TEXT)
def test_lenient_parsing_keeps_what_strict_parsing_reads_and_marks_the_rest_any(text: str) -> None:
    lenient = parse_pytype(text)
    resolved = resolve(lenient.node)
    assert resolved.type in CANONICAL_TYPES
    try:
        strict = parse_pytype(text, strict=True)
    except HammerError:  # outside the grammar: kept verbatim as one opaque ``any``
        assert lenient.node == TypeNode(text.strip(), kind="opaque")
        assert resolved == Resolved("any")
        assert format_node(lenient.node) == text.strip()
        assert lenient.optional == ("optional" in text.lower())
    else:
        assert lenient == strict
        assert lenient.node.kind != "opaque"


_NAMES = st.sampled_from(["str", "int", "float", "bool", "Any", "dict", "list", "None"])


def _type_trees() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            inner.map(lambda t: f"List[{t}]"),
            inner.map(lambda t: f"Optional[{t}]"),
            st.tuples(inner, inner).map(lambda ts: f"Dict[{ts[0]}, {ts[1]}]"),
            st.lists(inner, min_size=2, max_size=3).map(lambda ts: f"Union[{', '.join(ts)}]"),
            inner.map(lambda t: f"Tuple[{t}, ...]"),
        )

    return st.recursive(_NAMES, extend, max_leaves=5)


@given(_type_trees())
def test_type_trees_print_back_as_parsed(text: str) -> None:
    assert format_node(parse_pytype(text, strict=True).node) == text


# --- generated tools through every dialect ------------------------------------------------------

_IDENT = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=8)
_SCALARS = ("string", "integer", "number", "boolean")
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_IDENT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def _params(draw: st.DrawFn, depth: int = 0, *, item: bool = False) -> Param:
    kinds = [*_SCALARS, "any"] + (["array", "object"] if depth < 2 else [])
    ptype = draw(st.sampled_from(kinds))
    param = Param(
        name="items" if item else draw(_IDENT),
        type=ptype,
        description=draw(st.text(max_size=20)),
        required=False if item else draw(st.booleans()),
        nullable=ptype in _SCALARS and draw(st.booleans()),
    )
    if ptype == "string" and draw(st.booleans()):
        param.enum = draw(st.lists(st.text(max_size=5), min_size=1, max_size=3, unique=True))
    if not item and draw(st.booleans()):
        param.default = draw(_JSON)
    if ptype == "array" and draw(st.booleans()):
        param.items = draw(_params(depth + 1, item=True))
    if ptype == "object" and draw(st.booleans()):
        properties = draw(st.lists(_params(depth + 1), max_size=3, unique_by=lambda p: p.name))
        param.properties = properties
    return param


_TOOLS = st.builds(
    Tool,
    name=_IDENT,
    description=st.text(max_size=20),
    params=st.lists(_params(), max_size=4, unique_by=lambda p: p.name),
)


def _semantic(tool: Tool, *, nullable: bool = True) -> str:
    """A tool's meaning: its JSON-Schema form, key order and empty descriptions aside (and
    nullability, which BFCL's schema cannot say, when ``nullable`` is off)."""

    def clean(spec: Any) -> Any:
        if isinstance(spec, dict):
            spec = {k: clean(v) for k, v in spec.items() if not (k == "description" and v == "")}
            if not nullable and isinstance(spec.get("type"), list):
                spec["type"] = spec["type"][0]
        return spec

    function = tool_to_function(tool, "jsonschema")
    params = function["parameters"]
    for spec in params["properties"].values():
        _sort_required(spec)
    return json.dumps(clean(function), sort_keys=True)


def _sort_required(spec: dict[str, Any]) -> None:
    if isinstance(spec.get("required"), list):
        spec["required"] = sorted(spec["required"])
    for nested in spec.get("properties", {}).values():
        _sort_required(nested)
    if isinstance(spec.get("items"), dict):
        _sort_required(spec["items"])


@settings(max_examples=150, deadline=None)
@given(_TOOLS, st.booleans())
def test_generated_tools_keep_their_meaning_through_xlam(tool: Tool, from_openai: bool) -> None:
    if from_openai:  # a tool read from JSON Schema: its types are re-spelled in Python
        tool = tool_from_function(tool_to_function(tool, "jsonschema"))
    flat = tool_to_xlam(tool)
    again = tool_from_xlam(json.loads(json.dumps(flat)))
    assert _semantic(again) == _semantic(tool)
    assert tool_to_xlam(again) == flat  # writing what was read is exact


@settings(max_examples=150, deadline=None)
@given(_TOOLS, st.sampled_from(["jsonschema", "bfcl"]))
def test_generated_tools_keep_their_meaning_through_function_dialects(tool: Tool, dialect: str) -> None:
    function = tool_to_function(tool, dialect)  # type: ignore[arg-type]
    again = tool_from_function(json.loads(json.dumps(function)))
    assert _semantic(again) == _semantic(tool, nullable=dialect == "jsonschema")
    assert json.dumps(tool_to_function(again, dialect)) == json.dumps(function)  # type: ignore[arg-type]
