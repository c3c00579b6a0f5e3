"""The server's model-free parts: request checks, cut-off answers, the wire shapes."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from hammer_fc.errors import HammerError
from hammer_fc.schema import ToolCall
from hammer_fc.serve.app import complete_calls
from hammer_fc.serve.protocol import ChatRequest, validation_error
from hammer_fc.serve.request import read_request
from hammer_fc.serve.responses import Answer, chunks, completion, sse

CALL = '{"name": "f", "arguments": {"x": 1}}'


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (f'```\n[{CALL}, {CALL}, {{"name": "g", "argu', ["f", "f"]),
        (f"```\n[\n    {CALL},\n    {{", ["f"]),
        (f'```\n[{CALL}, {{"name": "g", "arguments": {{"s": "}}, ]"', ["f"]),
        ("```\n[", []),
        ("```\n[{", []),
        ("no list at all", []),
    ],
)
def test_complete_calls_keeps_what_was_finished(text: str, names: list[str]) -> None:
    assert [c.name for c in complete_calls(text)] == names


def answer(calls: list[ToolCall], text: str = "") -> Answer:
    return Answer(
        id="chatcmpl-1",
        created=1,
        model="m",
        calls=calls,
        call_ids=[f"call_{i}" for i in range(len(calls))],
        text=text,
        finish_reason="tool_calls" if calls else "stop",
        prompt_tokens=10,
        completion_tokens=5,
    )


def test_completion_with_calls() -> None:
    body = completion(answer([ToolCall("f", {"x": "é"}), ToolCall("g", {})]))
    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert [c["function"]["arguments"] for c in message["tool_calls"]] == ['{"x": "é"}', "{}"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def test_stream_chunks_rebuild_the_answer() -> None:
    events = list(chunks(answer([ToolCall("f", {"x": 1}), ToolCall("g", {"y": [2]})]), include_usage=True))
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert deltas[0] == {"role": "assistant", "content": None}
    rebuilt: dict[int, dict[str, str]] = {}
    for delta in deltas:
        for part in delta.get("tool_calls", []):
            entry = rebuilt.setdefault(part["index"], {"name": "", "arguments": ""})
            entry["name"] += part.get("function", {}).get("name") or ""
            entry["arguments"] += part.get("function", {}).get("arguments") or ""
    assert rebuilt == {0: {"name": "f", "arguments": '{"x": 1}'}, 1: {"name": "g", "arguments": '{"y": [2]}'}}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert events[-1]["choices"] == [] and events[-1]["usage"]["total_tokens"] == 15

    text = "a reply longer than one streamed piece of content, in several chunks"
    pieces = [e["choices"][0]["delta"].get("content") or "" for e in chunks(answer([], text))]
    assert "".join(pieces) == text and len(pieces) > 3


def test_server_sent_events_end_with_done() -> None:
    lines = list(sse(iter([{"a": 1}])))
    assert lines == ['data: {"a": 1}\n\n', "data: [DONE]\n\n"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"messages": ["hello"]}, "messages[0]"),
        ({"messages": [{"role": "user"}], "tools": {"a": 1}}, "tools"),
    ],
)
def test_request_validation_names_the_parameter(body: dict, param: str) -> None:
    with pytest.raises(ValidationError) as err:
        ChatRequest.model_validate(body)
    error = validation_error(err.value)
    assert error.status == 400 and error.param == param


def test_read_request() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    history = [
        {"role": "user", "content": [{"type": "text", "text": "call f"}]},
        {"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "done"},
    ]
    example = read_request(history, [tool])
    assert [m.role for m in example.messages] == ["user", "assistant", "tool"]
    assert example.messages[1].tool_calls == [ToolCall("f", {})]
    assert example.calls is None and [t.name for t in example.tools] == ["f"]
    with pytest.raises(HammerError) as err:
        read_request(history[:2], [tool])
    assert err.value.field == "messages[1].role"
    with pytest.raises(HammerError) as err:
        read_request(history[:1], [tool, json.loads(json.dumps(tool))])
    assert err.value.field == "tools[1].function.name"
