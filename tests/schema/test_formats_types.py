"""Types through conversion: an xLAM type string becomes the JSON Schema that says as much as JSON
Schema can (nested containers, unions, literals, fixed tuples), an unknown type is an error
(never a dropped ``type``), and what JSON Schema cannot say is counted in the summary. Checked
with a real validator (``jsonschema``), values that the Python type admits and refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats import read_examples
from hammer_fc.prepare.convert import convert_file
from helpers.hammer_cli import hammer


def _xlam_file(tmp_path: Path, types: dict[str, str]) -> Path:
    """One record whose one tool has a parameter of each of ``types`` (name -> type string)."""
    params = {name: {"type": ptype, "description": ""} for name, ptype in types.items()}
    tools = [{"name": "f", "description": "", "parameters": params}]
    record = {"id": 0, "query": "q", "tools": json.dumps(tools), "answers": "[]"}
    path = tmp_path / "in.json"
    path.write_text(json.dumps([record]))
    return path


def _properties(tmp_path: Path, types: dict[str, str]) -> tuple[dict[str, Any], Any]:
    out = tmp_path / "out.jsonl"
    done = convert_file(_xlam_file(tmp_path, types), out, to_fmt="openai")
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    return record["tools"][0]["function"]["parameters"]["properties"], done


CASES = [
    # type string, its JSON Schema (description aside), values it admits, values it refuses
    (
        "List[Dict[str, int]]",
        {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "integer"}}},
        [[], [{"a": 1}]],
        [[{"a": "x"}], {"a": 1}],
    ),
    (
        "List[List[str]]",
        {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        [[["a"]]],
        [["a"]],
    ),
    (
        "Optional[List[int]]",
        {"type": ["array", "null"], "items": {"type": "integer"}},
        [None, [1]],
        [["x"], 3],
    ),
    ("Union[int, str]", {"type": ["integer", "string"]}, [1, "a"], [1.5, None]),
    ("Union[int, float]", {"type": "number"}, [1, 1.5], ["1"]),
    ("Literal['a', 'b']", {"type": "string", "enum": ["a", "b"]}, ["a"], ["c"]),
    (
        "Tuple[int, str]",
        {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "minItems": 2,
            "maxItems": 2,
        },
        [[1, "a"]],
        [["a", 1], [1]],
    ),
    (
        "Tuple[float, float]",
        {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        [[1, 2.5]],
        [[1]],
    ),
    (
        "Dict[str, List[bool]]",
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "boolean"}}},
        [{"k": [True]}],
        [{"k": [1]}],
    ),
    ("str, optional", {"type": "string"}, ["x"], [1]),
    ("np.ndarray", {"type": "array"}, [[1]], ["x"]),
]


@pytest.mark.parametrize(("ptype", "schema", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_nested_types_survive_as_json_schema(tmp_path: Path, ptype: str, schema: dict, good: list, bad: list):
    properties, done = _properties(tmp_path, {"p": ptype})
    written = {k: v for k, v in properties["p"].items() if k != "description"}
    assert written == schema
    jsonschema.Draft202012Validator.check_schema(written)
    validator = jsonschema.Draft202012Validator(written)
    assert all(validator.is_valid(v) for v in good)
    assert not any(validator.is_valid(v) for v in bad)
    assert not done.lost  # said whole


def test_what_json_schema_cannot_say_is_counted(tmp_path: Path) -> None:
    properties, done = _properties(
        tmp_path, {"fn": "Callable[[float], float]", "m": "Dict[int, str]", "ok": "int"}
    )
    assert "type" not in properties["fn"]  # no JSON form: any value
    assert properties["m"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "",
    }
    assert done.lost == {
        "'Callable[[float], float]': JSON Schema cannot say Callable[[float], float]": 1,
        "'Dict[int, str]': JSON Schema cannot say int keys": 1,
    }
    out = tmp_path / "cli.jsonl"
    run = hammer("data", "convert", tmp_path / "in.json", "--to", "openai", "-o", out)
    assert run.returncode == 0, run.stderr
    assert "warning: 2 parameter type(s) written with less than they say" in run.stderr
    assert "1 x 'Callable[[float], float]': JSON Schema cannot say Callable[[float], float]" in run.stderr
    # xLAM keeps the type strings as written: nothing lost
    assert not convert_file(tmp_path / "in.json", tmp_path / "x.json", to_fmt="xlam").lost


@pytest.mark.parametrize("ptype", ["foo", "List[foo]", "Dict[str, foo]", "int or str"])
def test_an_unknown_type_is_an_error_never_a_dropped_type(tmp_path: Path, ptype: str) -> None:
    path = _xlam_file(tmp_path, {"ok": "int", "p": ptype})
    for fmt in ("openai", "xlam", "alpaca"):
        with pytest.raises(HammerError) as err:
            convert_file(path, tmp_path / f"out.{fmt}.jsonl", to_fmt=fmt)
        assert (err.value.record, err.value.field, err.value.kind) == (
            0,
            "tools[0].parameters.p.type",
            "unknown type",
        )
        assert f"unknown parameter type {ptype!r}" in str(err.value)
        assert not (tmp_path / f"out.{fmt}.jsonl").exists()
    assert read_examples(path, skip_invalid=True).skipped_kinds == {"unknown type": 1}
    run = hammer("data", "convert", path, "--to", "openai", "-o", tmp_path / "o.jsonl")
    assert run.returncode == 2 and "unknown parameter type" in run.stderr and "Traceback" not in run.stderr


def test_an_unknown_json_schema_type_is_the_same_kind_of_error(tmp_path: Path) -> None:
    record = {
        "messages": [{"role": "user", "content": "q"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {"type": "object", "properties": {"p": {"type": "foo"}}},
                },
            }
        ],
    }
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps(record) + "\n")
    result = read_examples(path, skip_invalid=True)
    assert result.skipped_kinds == {"unknown type": 1}
    assert result.errors[0].field == "tools[0].function.parameters.p.type"
