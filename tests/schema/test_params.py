"""Parameter dialects: BFCL and JSON Schema (byte-exact round trips), xLAM flat maps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats.bfcl import BFCL_CATEGORIES
from hammer_fc.schema.params import (
    param_to_spec,
    tool_from_function,
    tool_from_xlam,
    tool_to_function,
    tool_to_xlam,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _bfcl_functions(bfcl_data_dir: Path) -> list[dict]:
    functions = []
    for category in BFCL_CATEGORIES:
        with open(bfcl_data_dir / f"BFCL_v4_{category}.json") as f:
            functions += [fn for line in f if line.strip() for fn in json.loads(line)["function"]]
    return functions


def test_every_bfcl_function_round_trips_byte_exactly(bfcl_data_dir: Path) -> None:
    functions = _bfcl_functions(bfcl_data_dir)
    assert len(functions) > 8000
    mismatches = [
        fn["name"]
        for fn in functions
        if json.dumps(tool_to_function(tool_from_function(fn), "bfcl")) != json.dumps(fn)
    ]
    assert mismatches == []


def test_bfcl_layout_quirks_are_kept() -> None:
    """Root key order, a ``required`` list out of property order, BFCL's root ``optional``."""
    fn = {
        "name": "f",
        "description": "d",
        "parameters": {
            "type": "dict",
            "required": ["b", "a"],
            "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
            "optional": [],
        },
    }
    tool = tool_from_function(fn)
    assert tool.required == ["a", "b"]
    assert json.dumps(tool_to_function(tool, "bfcl")) == json.dumps(fn)
    # JSON Schema re-spells the root type and keeps the layout.
    assert tool_to_function(tool, "jsonschema")["parameters"] == {
        "type": "object",
        "required": ["b", "a"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "optional": [],
    }


def test_stale_required_order_falls_back_to_property_order() -> None:
    fn = {
        "name": "f",
        "parameters": {"type": "dict", "properties": {"a": {}, "b": {}}, "required": ["b", "a"]},
    }
    tool = tool_from_function(fn)
    tool.params[0].required = False  # e.g. an augmentation changed what is required
    assert tool_to_function(tool, "bfcl")["parameters"]["required"] == ["b"]


def test_jsonschema_types_from_bfcl_names() -> None:
    fn = {
        "name": "f",
        "description": "",
        "parameters": {
            "type": "dict",
            "properties": {
                "x": {"type": "float"},
                "t": {"type": "tuple", "items": {"type": "float"}},
                "d": {"type": "dict", "properties": {"k": {"type": "String"}}, "required": ["k"]},
                "a": {"type": "any"},
            },
            "required": [],
        },
    }
    out = tool_to_function(tool_from_function(fn), "jsonschema")["parameters"]["properties"]
    assert out == {
        "x": {"type": "number"},
        "t": {"type": "array", "items": {"type": "number"}},
        "d": {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]},
        "a": {},
    }


def test_jsonschema_nullable_type_list() -> None:
    schema = {"type": "object", "properties": {"u": {"type": ["string", "null"]}}}
    [param] = tool_from_function({"name": "f", "parameters": schema}).params
    assert (param.type, param.nullable) == ("string", True)
    assert param_to_spec(param, "jsonschema") == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"type": "object", "properties": []}, "function.parameters.properties"),
        ({"type": "object", "properties": {}, "required": "a"}, "function.parameters.required"),
        ({"type": "object", "properties": {"a": {"type": "strnig"}}}, "function.parameters.a.type"),
        ({"type": "object", "properties": {"a": {"type": 3}}}, "function.parameters.a.type"),
        ({"type": "object", "properties": {"a": {"description": 3}}}, "function.parameters.a.description"),
        (
            {"type": "object", "properties": {"a": {"type": "array", "items": {"enum": 1}}}},
            "function.parameters.a.items.enum",
        ),
    ],
)
def test_bad_function_specs_name_the_field(spec: dict, field: str) -> None:
    with pytest.raises(HammerError) as err:
        tool_from_function({"name": "f", "parameters": spec})
    assert err.value.field == field


# --- xLAM -----------------------------------------------------------------------------------


def _xlam_tools() -> list[dict]:
    records = json.loads((DATA / "xlam_sample.json").read_text())
    return [tool for record in records for tool in json.loads(record["tools"])]


def test_xlam_tools_round_trip_byte_exactly() -> None:
    for tool in _xlam_tools():
        assert json.dumps(tool_to_xlam(tool_from_xlam(tool))) == json.dumps(tool)


def test_xlam_types_map_to_json_schema() -> None:
    tools = {t.name: t for t in map(tool_from_xlam, _xlam_tools())}
    props = {
        name: spec
        for tool in tools.values()
        for name, spec in tool_to_function(tool, "jsonschema")["parameters"]["properties"].items()
    }
    assert props["city"] == {"type": "string", "description": "City name."}
    assert props["unit"]["type"] == "string" and props["unit"]["default"] == "fahrenheit"
    assert props["numbers"]["type"] == "array" and props["numbers"]["items"] == {"type": "number"}
    assert props["values"]["items"] == {"type": "number"}  # List[Union[int, float]]
    assert props["dict1"]["type"] == "object" and props["dict2"]["type"] == "object"
    assert props["season"]["type"] == ["string", "null"]  # Optional[str]
    assert props["point_a"] == {  # Tuple[float, float]
        "description": "The first point.",
        "type": "array",
        "items": {"type": "number"},
        "minItems": 2,
        "maxItems": 2,
    }
    assert "type" not in props["func"] and "type" not in props["tag"]  # Callable, description-only
    weather = tool_to_function(tools["weather_forecast"], "jsonschema")["parameters"]
    assert weather["required"] == ["city"]
    apply = tool_to_function(tools["apply"], "jsonschema")["parameters"]
    assert apply["required"] == ["func", "x", "tag"]  # no "optional" mark = required; Any, optional is not


def test_xlam_from_json_schema_spells_python_types() -> None:
    fn = {
        "name": "book",
        "description": "Book.",
        "parameters": {
            "type": "object",
            "properties": {
                "people": {"type": "integer", "description": "Party size."},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags."},
                "when": {"type": ["string", "null"], "description": "Time."},
                "opts": {"type": "object", "description": "Options."},
                "ratio": {"type": "number", "description": "Ratio.", "default": 0.5},
            },
            "required": ["people", "when"],
        },
    }
    params = tool_to_xlam(tool_from_function(fn))["parameters"]
    assert params == {
        "people": {"type": "int", "description": "Party size."},
        "tags": {"type": "List[str], optional", "description": "Tags."},
        "when": {"type": "Union[str, None]", "description": "Time."},
        "opts": {"type": "dict, optional", "description": "Options."},
        "ratio": {"type": "float, optional", "description": "Ratio.", "default": 0.5},
    }
    back = tool_to_function(tool_from_xlam(tool_to_xlam(tool_from_function(fn))), "jsonschema")
    assert back["parameters"]["required"] == ["people", "when"]
    assert back["parameters"]["properties"]["tags"]["items"] == {"type": "string"}
    assert back["parameters"]["properties"]["when"]["type"] == ["string", "null"]


def test_xlam_items_that_a_type_string_cannot_hold_are_kept() -> None:
    fn = {
        "name": "f",
        "description": "",
        "parameters": {
            "type": "dict",
            "properties": {
                "pos": {"type": "tuple", "items": {"type": "float"}},
                "rows": {"type": "array", "items": {"type": "dict", "properties": {"k": {"type": "string"}}}},
            },
            "required": ["pos", "rows"],
        },
    }
    xlam = tool_to_xlam(tool_from_function(fn))["parameters"]
    assert xlam["pos"] == {"type": "tuple", "items": {"type": "float"}}
    assert xlam["rows"]["items"] == {"type": "dict", "properties": {"k": {"type": "str, optional"}}}
    again = tool_to_function(
        tool_from_xlam({"name": "f", "description": "", "parameters": xlam}), "jsonschema"
    )
    assert again["parameters"]["properties"]["pos"]["items"] == {"type": "number"}
    assert again["parameters"]["properties"]["rows"]["items"]["properties"] == {"k": {"type": "string"}}


def test_xlam_optional_mark_follows_required_flag() -> None:
    tool = tool_from_xlam({"name": "f", "parameters": {"a": {"type": "str"}, "b": {"type": "int, optional"}}})
    tool.params[0].required, tool.params[1].required = False, True
    assert tool_to_xlam(tool)["parameters"] == {"a": {"type": "str, optional"}, "b": {"type": "int"}}


def test_xlam_required_quirks_of_the_paper_files() -> None:
    seal = tool_from_xlam(
        {"name": "t", "parameters": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["b"]}
    )
    assert seal.required == ["b"] and "required" not in seal.extra
    alpaca = tool_from_xlam(
        {
            "name": "t",
            "parameters": {
                "a": {"type": "integer", "required": True},
                "b": {"type": "integer"},
                "c": {"required": False},
            },
        }
    )
    assert alpaca.required == ["a"]
    # the per-parameter marks are written back as they were
    assert tool_to_xlam(alpaca)["parameters"]["a"] == {"type": "integer", "required": True}
    assert tool_to_xlam(alpaca)["parameters"]["c"] == {"required": False}


def test_xlam_mixed_json_schema_parameters_are_read_as_json_schema() -> None:
    tool = tool_from_xlam(
        {
            "name": "f",
            "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
        }
    )
    assert [(p.name, p.type, p.required) for p in tool.params] == [("x", "string", True)]
    flat = tool_from_xlam(
        {"name": "f", "parameters": {"type": {"type": "str"}, "properties": {"type": "dict"}}}
    )
    assert [p.name for p in flat.params] == ["type", "properties"]


@pytest.mark.parametrize(
    ("tool", "field"),
    [
        ({"description": "no name"}, "tool.name"),
        ({"name": "f", "parameters": []}, "tool.parameters"),
        ({"name": "f", "parameters": {"a": "str"}}, "tool.parameters.a"),
        ({"name": "f", "parameters": {"a": {"type": 1}}}, "tool.parameters.a.type"),
        (
            {"name": "f", "parameters": {"a": {"type": "str", "description": ["x"]}}},
            "tool.parameters.a.description",
        ),
        ({"name": "f", "parameters": {}, "required": "a"}, "tool.required"),
        ({"name": "f", "description": 5}, "tool.description"),
    ],
)
def test_bad_xlam_tools_name_the_field(tool: dict, field: str) -> None:
    with pytest.raises(HammerError) as err:
        tool_from_xlam(tool)
    assert err.value.field == field
