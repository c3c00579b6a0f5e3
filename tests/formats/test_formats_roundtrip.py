"""Writers, and round trips between formats: xLAM <-> OpenAI, alpaca from the Hammer prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats import read_examples, write_examples
from hammer_fc.formats.openai import openai_record
from hammer_fc.prepare.records import write_alpaca
from hammer_fc.schema import Example

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_xlam_rewrites_itself_exactly(tmp_path: Path, suffix: str) -> None:
    source = json.loads((DATA / "xlam_sample.json").read_text())
    out = tmp_path / f"copy{suffix}"
    assert write_examples(read_examples(DATA / "xlam_sample.json").examples, out, "xlam") == len(source)
    text = out.read_text()
    written = [json.loads(line) for line in text.splitlines()] if suffix == ".jsonl" else json.loads(text)
    assert written == source  # tools/answers strings included, byte for byte


def test_xlam_to_openai_and_back(tmp_path: Path) -> None:
    """Everything but the Python spelling of types (``Dict[str, Any]`` is ``object`` in JSON
    Schema) survives; after one trip the data is a fixed point."""
    source = json.loads((DATA / "xlam_sample.json").read_text())
    examples = read_examples(DATA / "xlam_sample.json").examples
    write_examples(examples, tmp_path / "chat.jsonl", "openai")
    records = [json.loads(line) for line in (tmp_path / "chat.jsonl").read_text().splitlines()]
    weather = records[0]
    assert weather["id"] == "7"
    assert weather["messages"][-1]["tool_calls"][0]["function"] == {
        "name": "weather_forecast",
        "arguments": '{"city": "Lyon", "unit": "celsius"}',
    }
    assert weather["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert records[2]["messages"][-1] == {"role": "assistant", "content": ""}  # irrelevance: no call

    write_examples(read_examples(tmp_path / "chat.jsonl").examples, tmp_path / "back.json", "xlam")
    back = json.loads((tmp_path / "back.json").read_text())
    for old, new in zip(source, back, strict=True):
        assert {k: new[k] for k in ("id", "query", "answers")} == {
            k: old[k] for k in ("id", "query", "answers")
        }
        assert [t["name"] for t in json.loads(new["tools"])] == [t["name"] for t in json.loads(old["tools"])]
    assert json.loads(back[0]["tools"]) == json.loads(
        source[0]["tools"]
    )  # plain str types survive as they are
    again = read_examples(tmp_path / "back.json").examples
    assert [openai_record(e) for e in again] == records


def _without_answer_text(record: dict) -> dict:
    """xLAM has no place for the text of a no-call answer."""
    last = record["messages"][-1]
    if last["role"] == "assistant" and "tool_calls" not in last:
        last["content"] = ""
    return record


def test_openai_to_xlam_and_back_keeps_the_conversation(tmp_path: Path) -> None:
    examples = read_examples(DATA / "openai_chat.jsonl").examples
    write_examples(examples, tmp_path / "x.json", "xlam")
    xlam = json.loads((tmp_path / "x.json").read_text())
    assert xlam[0]["query"] == "Book a table for 2 at 7pm"
    assert [t["role"] for t in xlam[1]["query"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
    ]
    assert "answers" not in xlam[3]  # no gold answer
    back = read_examples(tmp_path / "x.json").examples
    assert [_without_answer_text(openai_record(e)) for e in back] == [
        _without_answer_text(openai_record(e)) for e in examples
    ]


def test_openai_writer_links_tool_turns_and_ids(tmp_path: Path) -> None:
    [_, conversation, refusal, request] = read_examples(DATA / "openai_chat.jsonl").examples
    record = openai_record(conversation)
    history = record["messages"][2]
    assert history["content"] is None
    assert [c["id"] for c in history["tool_calls"]] == ["call_x", "call_y"]  # from the tool turns
    assert record["messages"][3] == {"role": "tool", "content": '{"temp": 3}', "tool_call_id": "call_x"}
    final = record["messages"][-1]
    assert final["role"] == "assistant" and final["tool_calls"][0]["type"] == "function"
    assert json.loads(final["tool_calls"][0]["function"]["arguments"]) == {
        "people": 4,
        "time": "20:00",
        "area": "terrace",
    }
    assert record["tools"][0]["function"]["parameters"]["properties"]["units"]["type"] == ["string", "null"]
    assert openai_record(refusal)["messages"][-1] == {
        "role": "assistant",
        "content": "I can only book tables and check the weather.",
    }
    assert openai_record(request)["messages"][-1]["role"] == "user"
    write_examples([conversation], tmp_path / "one.jsonl", "openai")
    assert read_examples(tmp_path / "one.jsonl").examples[0].calls == conversation.calls


def test_alpaca_uses_the_hammer_training_prompt(tmp_path: Path) -> None:
    training = pytest.importorskip("hammer_fc.prompts.training")
    examples = read_examples(DATA / "xlam_sample.json").examples
    assert write_alpaca(examples, tmp_path / "train.json") == len(examples)
    records = json.loads((tmp_path / "train.json").read_text())
    for record, example in zip(records, examples, strict=True):
        assert record == {
            "instruction": training.render_prompt(example),
            "input": "",
            "output": training.render_completion(example.calls),
        }
    assert records[2]["output"] == "```\n[]\n```"


def test_alpaca_refuses_an_example_without_gold_and_leaves_no_file(tmp_path: Path) -> None:
    pytest.importorskip("hammer_fc.prompts.training")
    examples = read_examples(DATA / "openai_chat.jsonl").examples  # the last one has calls=None
    with pytest.raises(HammerError, match="no gold answer") as err:
        write_alpaca(examples, tmp_path / "train.json")
    assert err.value.record == "3"
    assert list(tmp_path.iterdir()) == []


def test_unknown_output_format(tmp_path: Path) -> None:
    with pytest.raises(HammerError, match="cannot write format 'bfcl'"):
        write_examples([Example(messages=[], tools=[])], tmp_path / "x.json", "bfcl")
