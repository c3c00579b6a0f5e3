"""Readers on small hand-written records of every format, each quirk covered."""

from __future__ import annotations

from pathlib import Path

import pytest

from hammer_fc.formats import detect_format, read_examples
from hammer_fc.schema import ToolCall

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("xlam_sample.json", "xlam"),
        ("xlam_sample.jsonl", "xlam"),
        ("openai_chat.jsonl", "openai"),
        ("paper/api_bank_l2.json", "paper"),
        ("paper/seal_tools.json", "paper"),
        ("paper/tool_alpaca.json", "paper"),
        ("paper/nexus_raven.json", "paper"),
    ],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(DATA / name) == fmt


def test_detect_bfcl_file_and_spec(bfcl_data_dir: Path) -> None:
    assert detect_format(bfcl_data_dir / "BFCL_v4_simple_java.json") == "bfcl"
    assert detect_format("bfcl:live") == "bfcl"


@pytest.mark.parametrize("name", ["xlam_sample.json", "xlam_sample.jsonl"])
def test_xlam(name: str) -> None:
    result = read_examples(DATA / name)
    assert (result.format, result.skipped) == ("xlam", 0)
    by_id = {e.id: e for e in result.examples}
    weather = by_id["7"]
    assert [(m.role, m.content) for m in weather.messages] == [
        ("user", "What's the forecast for Lyon tomorrow in celsius?")
    ]
    assert weather.calls == [ToolCall("weather_forecast", {"city": "Lyon", "unit": "celsius"})]
    unit = weather.tools[0].param("unit")
    assert unit is not None
    assert (unit.type, unit.required, unit.default, unit.source_type) == (
        "string",
        False,
        "fahrenheit",
        "str, optional",
    )
    parallel = by_id["8"]
    assert [c.name for c in parallel.calls or []] == ["sort_numbers", "median"]
    assert [t.name for t in parallel.tools] == ["sort_numbers", "median", "merge_dicts"]
    assert by_id["9"].calls == []  # answers "[]": irrelevance
    assert by_id["9"].meta == {"source": "xlam"}


def test_xlam_json_list_holds_every_python_type() -> None:
    [*_, last] = read_examples(DATA / "xlam_sample.json").examples
    apply = last.tool("apply")
    assert apply is not None
    assert [(p.name, p.type, p.required) for p in apply.params] == [
        ("func", "any", True),  # Callable[[float], float] with a None default
        ("x", "number", True),
        ("tag", "any", True),  # description only
        ("extra", "any", False),  # Any, optional
    ]
    assert apply.params[0].default is None and apply.params[0].has_default


def test_openai_gold_calls_come_from_the_final_assistant_turn() -> None:
    result = read_examples(DATA / "openai_chat.jsonl")
    assert (result.format, result.skipped) == ("openai", 0)
    single, conversation, refusal, request = result.examples

    assert single.id == "0"
    assert [m.role for m in single.messages] == ["user"]
    assert single.calls == [ToolCall("book_table", {"people": 2, "time": "19:00"})]
    people = single.tools[0].param("people")
    assert people is not None and (people.type, people.required) == ("integer", True)

    assert conversation.id == "conv-2"
    assert [m.role for m in conversation.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
    ]
    history = conversation.messages[2]
    assert history.tool_calls == [
        ToolCall("get_weather", {"city": "Oslo"}),
        ToolCall("get_weather", {"city": "Bergen"}),
    ]
    assert [m.tool_call_id for m in conversation.messages[3:5]] == ["call_x", "call_y"]
    assert (
        conversation.messages[-1].content == "Book a table for 4 at 20:00 on the terrace."
    )  # text parts joined
    assert conversation.calls == [ToolCall("book_table", {"people": 4, "time": "20:00", "area": "terrace"})]
    units = conversation.tools[0].param("units")
    assert units is not None and (units.type, units.nullable, units.default) == ("string", True, "metric")

    assert refusal.calls == []  # a plain assistant answer: no call
    assert refusal.meta["answer_text"] == "I can only book tables and check the weather."
    assert request.calls is None  # ends with the user: no gold answer


def test_paper_api_bank_conversation_literal_tools_and_return() -> None:
    result = read_examples(DATA / "paper" / "api_bank_l2.json")
    first, second = result.examples
    assert (first.id, second.id) == ("0", "1")
    assert (first.meta["source"], first.meta["bench"]) == ("paper", "api_bank_l2")
    assert first.meta["source_roles"] == ["user", "agent", "user"]  # for the authors' prompts
    assert [tool for tool, _ in first.meta["source_tools"]] == first.tools
    assert [(m.role, m.content) for m in first.messages] == [
        ("user", "Move my dentist visit to Friday."),
        ("assistant", "Which appointment id?"),  # "agent"
        ("user", "It is 5521."),
    ]
    tool = first.tools[0]
    assert tool.extra == {"return": {"status": {"type": "str"}}}
    assert tool.required == ["appointment_id", "new_date"]
    assert first.calls == [ToolCall("MoveAppointment", {"appointment_id": "5521", "new_date": "2024-05-10"})]
    urgent = second.tools[0].param("urgent")
    assert urgent is not None and urgent.default is False  # Python literal False


def test_paper_seal_tools_answers_and_required_list() -> None:
    [example] = read_examples(DATA / "paper" / "seal_tools.json").examples
    assert example.calls == [
        ToolCall("translate_text", {"text": "good morning", "target_language": "Italian"}),
        ToolCall("count_words", {"text": "buongiorno"}),
    ]
    translate = example.tool("translate_text")
    assert translate is not None
    assert translate.required == ["text", "target_language"] and "required" not in translate.extra


def test_paper_tool_alpaca_per_parameter_required() -> None:
    [example] = read_examples(DATA / "paper" / "tool_alpaca.json").examples
    tool = example.tools[0]
    assert [(p.name, p.type, p.required) for p in tool.params] == [
        ("limit", "integer", True),
        ("page", "integer", False),
        ("sort", "string", False),  # unmarked in a tool that marks its required ones
    ]


def test_paper_nexus_raven_json_schema_and_flat_tools() -> None:
    first, second = read_examples(DATA / "paper" / "nexus_raven.json").examples
    assert first.tools[0].required == ["location"]
    assert [(p.name, p.type, p.required) for p in second.tools[0].params] == [
        ("keyword", "string", True),
        ("min_score", "number", True),
        ("limit", "integer", False),
    ]
    assert second.calls == [ToolCall("search_cve", {"keyword": "openssl", "min_score": 9.0})]
