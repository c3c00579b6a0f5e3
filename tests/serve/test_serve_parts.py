"""The server's model-free parts: request checks, cut-off answers, the wire shapes."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from hammer_fc.errors import HammerError
from hammer_fc.schema import ToolCall
from hammer_fc.serve.app import complete_calls
from hammer_fc.serve.protocol import ChatRequest, validation_error
from hammer_fc.serve.request import read_request, read_response_format
from hammer_fc.serve.responses import DONE, Answer, AnswerBuilder, StopFilter, chunk, completion, sse

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


def accumulate(deltas: list[dict]) -> dict:
    """What a client's accumulator (the ``openai`` one does the same) builds from deltas."""
    message: dict = {"content": None, "tool_calls": []}
    for delta in deltas:
        if delta.get("content") is not None:
            message["content"] = (message["content"] or "") + delta["content"]
        for part in delta.get("tool_calls", []):
            if part["index"] == len(message["tool_calls"]):
                message["tool_calls"].append({"id": part["id"], "name": "", "arguments": ""})
            entry = message["tool_calls"][part["index"]]
            assert "id" not in part or part["id"] == entry["id"]
            entry["name"] += part.get("function", {}).get("name") or ""
            entry["arguments"] += part.get("function", {}).get("arguments") or ""
    return message


def build(mode: str, text: str, cut: int, finish: str = "stop") -> tuple[AnswerBuilder, list[dict], str]:
    """Feed ``text`` in pieces of ``cut`` characters; the builder, every delta, the finish reason."""
    ids = iter(range(100))
    builder = AnswerBuilder(mode, lambda: f"call_{next(ids)}")
    deltas = [builder.opening()]
    for start in range(0, len(text), cut):
        deltas += builder.feed(text[start : start + cut])
    last, reason = builder.finish(finish)
    return builder, deltas + last, reason


TWO_CALLS = (
    '```\n[\n    {"name": "get_weather", "arguments": {"city": "Paris, \\"FR\\" {x}", "n": [1, {"a": 2}]}},'
    '\n    {"name":"f\\"g","arguments":{}}\n]\n```'
)


@pytest.mark.parametrize("cut", [1, 2, 3, 7, 1000])
def test_streamed_calls_accumulate_to_the_answer(cut: int) -> None:
    builder, deltas, reason = build("calls", TWO_CALLS, cut)
    assert reason == "tool_calls" and builder.content == ""
    message = accumulate(deltas)
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
        for c in builder.tool_calls
    ]
    assert [c["name"] for c in message["tool_calls"]] == ["get_weather", 'f"g']
    first = json.loads(message["tool_calls"][0]["arguments"])
    assert first == {"city": 'Paris, "FR" {x}', "n": [1, {"a": 2}]}
    assert message["tool_calls"][1]["arguments"] == "{}"
    heads = [d for d in deltas if "tool_calls" in d and "id" in d["tool_calls"][0]]
    assert len(heads) == 2  # the id and name once per call
    if cut == 1:  # arguments leave as they are written, not at the end of the call
        fragments = [d for d in deltas if "tool_calls" in d and "id" not in d["tool_calls"][0]]
        assert len(fragments) > 20


@pytest.mark.parametrize("cut", [1, 4, 1000])
def test_no_call_and_cut_answers_are_content(cut: int) -> None:
    builder, deltas, reason = build("calls", "```\n[]\n```", cut)
    assert reason == "stop" and accumulate(deltas)["content"] == builder.content == "```\n[]\n```"
    builder, deltas, reason = build("calls", "```\n[\n  ", cut, finish="length")
    assert reason == "length" and accumulate(deltas)["content"] == "```\n[\n  "
    # Cut inside a call: what was written of it is the answer, streamed or not.
    builder, deltas, reason = build("calls", '```\n[{"name": "f", "arguments": {"x": "ab', cut, "length")
    assert reason == "length"
    assert (
        accumulate(deltas)["tool_calls"][0]["arguments"]
        == '{"x": "ab'
        == builder.tool_calls[0]["function"]["arguments"]
    )


def test_held_free_text() -> None:
    builder, deltas, reason = build("held", 'Sure: [{"name": "f", "arguments": {"x": 1}}]', 3)
    assert reason == "tool_calls" and builder.opening()["content"] is None
    assert accumulate(deltas)["tool_calls"][0]["arguments"] == '{"x": 1}'
    builder, deltas, reason = build("held", "I cannot call anything {oops", 3)
    assert reason == "stop" and accumulate(deltas)["content"] == "I cannot call anything {oops"
    builder, deltas, reason = build("held", f'```\n[{CALL}, {{"name', 3, finish="length")
    assert reason == "length" and [c["function"]["name"] for c in builder.tool_calls] == ["f"]
    builder, deltas, reason = build("text", "plain words", 2)
    assert (
        deltas[0] == {"role": "assistant", "content": ""} and accumulate(deltas)["content"] == "plain words"
    )


@pytest.mark.parametrize("cut", [1, 2, 5, 100])
def test_stop_strings_cut_before_the_first_one(cut: int) -> None:
    text = "one two <END> three"
    stop = StopFilter(["<END>", "tw!"])
    out = "".join(stop.feed(text[i : i + cut]) for i in range(0, len(text), cut)) + stop.flush()
    assert out == "one two " and stop.hit
    stop = StopFilter(["<END>"])
    out = "".join(stop.feed(piece) for piece in ["a <E", "N", "D"]) + stop.flush()
    assert out == "a <END" and not stop.hit  # a stop string's start that never completes is released


def test_completion_shape() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x": "é"}'}}
    body = completion(Answer("chatcmpl-1", 1, "m", [call], "", "tool_calls", 10, 5))
    message = body["choices"][0]["message"]
    assert message == {"role": "assistant", "content": None, "tool_calls": [call]}
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    assert "usage" not in completion(Answer("chatcmpl-1", 1, "m", [], "hi", "stop"))


def test_server_sent_events() -> None:
    assert sse({"a": "é"}) == 'data: {"a": "é"}\n\n' and DONE == "data: [DONE]\n\n"
    head = {"id": "chatcmpl-1", "created": 1, "model": "m"}
    assert chunk(head, {"content": "x"}, "stop")["choices"][0] == {
        "index": 0,
        "delta": {"content": "x"},
        "finish_reason": "stop",
        "logprobs": None,
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"messages": ["hello"]}, "messages[0]"),
        ({"messages": [{"role": "user"}], "tools": {"a": 1}}, "tools"),
        ({"messages": [{"role": "user"}], "functions": []}, "functions"),
        ({"messages": [{"role": "user"}], "temprature": 0.5}, "temprature"),
        ({"messages": [{"role": "user"}], "logprobs": True}, "logprobs"),
        ({"messages": [{"role": "user"}], "frequency_penalty": 0.5}, "frequency_penalty"),
        ({"messages": [{"role": "user"}], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": [{"role": "user"}], "stop": ""}, "stop"),
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


def test_accepted_fields_that_cannot_change_a_greedy_answer() -> None:
    body = {"messages": [{"role": "user"}], "temperature": 0.7, "top_p": 0.9, "seed": 3, "user": "u"}
    request = ChatRequest.model_validate({**body, "frequency_penalty": 0, "logprobs": False, "stop": "x"})
    assert request.stop == ["x"] and request.seed == 3


def test_unsupported_parameter_message() -> None:
    with pytest.raises(ValidationError) as err:
        ChatRequest.model_validate({"messages": [{"role": "user"}], "functions": []})
    error = validation_error(err.value)
    assert error.code == "unsupported_parameter" and "use tools" in error.message


def test_response_format() -> None:
    assert read_response_format(None) is None and read_response_format({"type": "text"}) is None
    assert read_response_format({"type": "json_object"}).startswith("root ::= object")
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    grammar = read_response_format({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    assert '"\\"n\\""' in grammar and "integer" in grammar
    for bad, field in [
        ({"type": "yaml"}, "response_format.type"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "response_format.json_schema.schema"),
        (
            {"type": "json_schema", "json_schema": {"schema": {"properties": {"if": {"$ref": "#/a"}}}}},
            "response_format.json_schema.schema.properties.if.$ref",
        ),
    ]:
        with pytest.raises(HammerError) as err:
            read_response_format(bad)
        assert err.value.field == field


def test_strict_is_accepted_and_not_shown_to_the_model() -> None:
    tool = {"type": "function", "function": {"name": "f", "strict": True, "parameters": {"type": "object"}}}
    example = read_request([{"role": "user", "content": "x"}], [tool])
    assert "strict" not in example.tools[0].extra
    tool["function"]["strict"] = "yes"
    with pytest.raises(HammerError) as err:
        read_request([{"role": "user", "content": "x"}], [tool])
    assert err.value.field == "tools[0].function.strict"


def test_a_port_it_cannot_listen_on_is_exit_2_before_the_model_loads() -> None:
    """A taken port, one out of range and an unknown host: one line and exit 2, no traceback."""
    import socket

    from helpers.hammer_cli import hammer

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = hammer("serve", "--model", "no-such-model.gguf", "--port", port)
    assert (
        run.returncode == 2
        and run.stderr.strip() == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    for args in (("--port", "99999"), ("--host", "no-such-host.invalid")):
        run = hammer("serve", *args)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert ("65535" if args[0] == "--port" else "cannot listen on no-such-host.invalid") in run.stderr


def test_an_adapter_folder_without_its_config_is_a_clear_error(tmp_path) -> None:
    from hammer_fc.model_spec import resolve

    for model in ("smollm2-135m", "hammer-smol"):
        with pytest.raises(HammerError, match=r"field 'adapter': .* holds no adapter_config\.json"):
            resolve(model, str(tmp_path))
