"""The Hammer training prompt: layout, tool rendering, query rendering, answer, registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.prompts import (
    TEMPLATES,
    get_template,
    render_chat,
    render_completion,
    render_prompt,
    tool_to_prompt_dict,
)
from hammer_fc.prompts.training import (
    FORMAT_INSTRUCTION,
    PROMPT_HEAD,
    PROMPT_MIDDLE,
    PROMPT_TAIL,
    TASK_INSTRUCTION,
    render_query,
    tools_json,
)
from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from hammer_fc.schema.params import tool_from_function

WEATHER = Tool(
    name="weather_forecast",
    description="Daily forecast for a city.",
    params=[
        Param("city", "string", "City name.", required=True, source_type="str"),
        Param("unit", "string", "celsius or fahrenheit.", default="fahrenheit", source_type="str, optional"),
        Param("days", "integer", "How many days. Defaults to 3.", default=3, source_type="int"),
    ],
)
BLOCKS = ["TASK INSTRUCTION", "AVAILABLE TOOLS", "FORMAT INSTRUCTION", "QUERY"]


def example(*messages: Message, tools: list[Tool] | None = None) -> Example:
    return Example(messages=list(messages), tools=[WEATHER] if tools is None else tools)


def blocks(prompt: str) -> dict[str, str]:
    found = re.findall(r"\[BEGIN OF (.+?)\]\n(.*?)\n\[END OF \1\]\n\n", prompt, re.DOTALL)
    return dict(found)


def test_layout_blocks_in_order_separated_by_blank_lines() -> None:
    prompt = render_prompt(example(Message("user", "Forecast for Lyon?")))
    parts = re.split(r"\[BEGIN OF (.+?)\]\n", prompt)
    assert parts[0] == ""
    assert parts[1::2] == BLOCKS
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        assert body.endswith(f"\n[END OF {name}]\n\n")
    found = blocks(prompt)
    assert found["TASK INSTRUCTION"] == TASK_INSTRUCTION
    assert found["FORMAT INSTRUCTION"] == FORMAT_INSTRUCTION
    assert found["QUERY"] == "Forecast for Lyon?"


def test_prompt_is_a_plain_composition_of_its_pieces() -> None:
    """The fast path relies on this: fixed head/middle/tail, tools JSON and query between."""
    ex = example(Message("user", "Forecast for Lyon?"))
    assert (
        render_prompt(ex)
        == PROMPT_HEAD + tools_json(ex.tools) + PROMPT_MIDDLE + "Forecast for Lyon?" + PROMPT_TAIL
    )
    assert tools_json(ex.tools) == json.dumps([tool_to_prompt_dict(WEATHER)], ensure_ascii=False)


def test_tools_are_flat_maps_with_required_and_defaults() -> None:
    (tool,) = json.loads(blocks(render_prompt(example(Message("user", "q"))))["AVAILABLE TOOLS"])
    assert tool == {
        "name": "weather_forecast",
        "description": "Daily forecast for a city.",
        "parameters": {
            "city": {"type": "str", "description": "City name.", "required": True},
            "unit": {
                "type": "str, optional",
                "description": "celsius or fahrenheit. Defaults to 'fahrenheit'.",
                "default": "fahrenheit",
            },
            # already mentioned: not repeated
            "days": {"type": "int", "description": "How many days. Defaults to 3.", "default": 3},
        },
    }


def test_nested_object_parameters_mark_their_own_required_properties() -> None:
    tool = tool_from_function(
        {
            "name": "book",
            "description": "Book a room.",
            "parameters": {
                "type": "dict",
                "properties": {
                    "guest": {
                        "type": "dict",
                        "description": "Who stays.",
                        "properties": {
                            "name": {"type": "string", "description": "Full name."},
                            "age": {"type": "integer", "description": "Age.", "default": 30},
                        },
                        "required": ["name"],
                    },
                    "tags": {"type": "array", "items": {"type": "string"}, "description": "Labels."},
                },
                "required": ["guest"],
            },
        }
    )
    params = tool_to_prompt_dict(tool)["parameters"]
    assert params["guest"] == {
        "type": "dict",
        "description": "Who stays.",
        "properties": {
            "name": {"type": "string", "description": "Full name.", "required": True},
            "age": {"type": "integer", "description": "Age. Defaults to 30.", "default": 30},
        },
        "required": True,
    }
    assert params["tags"] == {"type": "array", "items": {"type": "string"}, "description": "Labels."}


def test_non_ascii_is_kept_readable() -> None:
    tool = Tool("météo", "Prévisions à Zürich.", [Param("ville", "string", "Nom de la ville.")])
    prompt = render_prompt(example(Message("user", "Quel temps à Besançon ?"), tools=[tool]))
    assert "Prévisions à Zürich." in prompt and "\\u" not in prompt
    assert render_completion([ToolCall("météo", {"ville": "Besançon"})]) == (
        '```\n[{"name": "météo", "arguments": {"ville": "Besançon"}}]\n```'
    )


def test_conversation_is_rendered_as_role_lines() -> None:
    messages = [
        Message("system", "Be brief."),
        Message("user", "Forecast for Lyon?"),
        Message("assistant", tool_calls=[ToolCall("weather_forecast", {"city": "Lyon"})]),
        Message("tool", '{"temp": 21}'),
        Message("assistant", "21 degrees."),
        Message("user", "And Paris, in celsius?"),
    ]
    assert render_query(messages) == (
        "system: Be brief.\n"
        "user: Forecast for Lyon?\n"
        'assistant: [{"name": "weather_forecast", "arguments": {"city": "Lyon"}}]\n'
        'tool: {"temp": 21}\n'
        "assistant: 21 degrees.\n"
        "user: And Paris, in celsius?"
    )
    assert blocks(render_prompt(example(*messages)))["QUERY"] == render_query(messages)


def test_completion_is_a_fenced_json_list() -> None:
    calls = [ToolCall("weather_forecast", {"city": "Lyon", "unit": "celsius"}), ToolCall("f", {})]
    assert render_completion(calls) == (
        '```\n[{"name": "weather_forecast", "arguments": {"city": "Lyon", "unit": "celsius"}}, '
        '{"name": "f", "arguments": {}}]\n```'
    )
    assert render_completion([]) == "```\n[]\n```"


@pytest.mark.parametrize("category", ["simple_python", "live_multiple", "parallel_multiple", "simple_java"])
def test_every_bfcl_tool_renders_with_its_parameters(bfcl_data_dir: Path, category: str) -> None:
    with open(bfcl_data_dir / f"BFCL_v4_{category}.json", encoding="utf-8") as f:
        entries = [json.loads(line) for line in f]
    for entry in entries:
        tools = [tool_from_function(doc) for doc in entry["function"]]
        query = entry["question"][0][-1]["content"]
        prompt = render_prompt(Example([Message("user", query)], tools))
        listed = json.loads(blocks(prompt)["AVAILABLE TOOLS"])
        for doc, shown in zip(entry["function"], listed, strict=True):
            assert shown["name"] == doc["name"]
            props = doc["parameters"]["properties"]
            assert list(shown["parameters"]) == list(props)
            required = set(doc["parameters"].get("required", []))
            assert {k for k, v in shown["parameters"].items() if v.get("required") is True} == required
            for name, spec in props.items():
                default = spec.get("default", "")
                if default != "":
                    text = default if isinstance(default, str) else json.dumps(default, ensure_ascii=False)
                    assert text in shown["parameters"][name]["description"], (entry["id"], name)


def test_registry_picks_templates_by_name() -> None:
    ex = example(Message("user", "Forecast for Lyon?"))
    assert set(TEMPLATES) == {"hammer", "hammer-chat", "authors-sft", "authors-1.0", "authors-2.1"}
    assert get_template("hammer").prompt(ex) == render_prompt(ex)
    assert get_template("hammer-chat").prompt(ex) == render_chat(ex)
    with pytest.raises(HammerError, match=r"unknown prompt template 'nope'.*hammer, hammer-chat"):
        get_template("nope")
