"""The OpenAI-client backend against our real server on loopback (llama.cpp behind it), and the
mapping of ``tool_calls`` back to Hammer answer text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai.types.chat import ChatCompletionMessageToolCall

from hammer_fc.errors import HammerError
from hammer_fc.eval.runner import run_eval
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.inference.load import load_backend
from hammer_fc.inference.openai_backend import answer_text
from hammer_fc.model_spec import resolve
from hammer_fc.prompts import chat_messages, parse_calls
from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from hammer_fc.serve import BackgroundServer, create_app

BENCH = [
    {
        "query": "Weather in Lyon?",
        "tools": "[{'name': 'weather', 'description': 'Weather in a city.', 'parameters': "
        "{'city': {'type': 'str', 'description': 'City.'}}}]",
        "answers": [{"name": "weather", "arguments": {"city": "Lyon"}}],
    }
]


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=2048)
    with BackgroundServer(create_app(engine, model_name="smol", max_new_tokens=48)) as running:
        yield running
    engine.close()


def test_eval_run_through_the_server(server: BackgroundServer, tmp_path: Path) -> None:
    bench = tmp_path / "weather.json"
    bench.write_text(json.dumps(BENCH))
    summary = run_eval(
        f"openai:smol@{server.base_url}", str(bench), out_dir=tmp_path / "run", max_new_tokens=48
    )
    assert summary["backend"] == "openai" and summary["benches"][str(bench)]["cases"] == 1
    (prediction,) = [
        json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()
    ]
    # The server decodes under the tools' grammar and answers with tool_calls, which come back as
    # a Hammer answer naming the offered function.
    assert prediction["output"].startswith("```\n[")
    assert [c["name"] for c in prediction["calls"]] == ["weather"]


def test_requests_carry_messages_and_tools() -> None:
    backend = load_backend(resolve("openai:smol@http://127.0.0.1:9/v1"))
    tool = Tool("weather", "Weather in a city.", [Param("city", "string", "City.", True)])
    example = Example(
        [Message("user", "Weather in Lyon?")], [tool], calls=[ToolCall("weather", {"city": "Lyon"})]
    )
    native = json.loads(backend.format(example, "hammer"))
    assert native["messages"] == [{"role": "user", "content": "Weather in Lyon?"}]  # no gold answer
    assert native["tools"][0]["function"]["name"] == "weather"
    assert native["tools"][0]["function"]["parameters"]["required"] == ["city"]
    chat = json.loads(backend.format(example, "hammer-chat"))
    assert chat == {"messages": chat_messages(example), "tools": []}
    with pytest.raises(HammerError, match="cannot reach"):
        backend.generate([backend.format(example, "hammer")], max_new_tokens=4)


def _call(name: str, arguments: str) -> ChatCompletionMessageToolCall:
    return ChatCompletionMessageToolCall.model_validate(
        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    )


def test_tool_calls_map_back_to_calls() -> None:
    text = answer_text([_call("weather", '{"city": "Lyon"}'), _call("clock", "{}")])
    assert parse_calls(text) == [ToolCall("weather", {"city": "Lyon"}), ToolCall("clock", {})]
    broken = answer_text([_call("weather", "{city: Lyon")])
    assert "weather" in broken and "{city: Lyon" in broken  # kept for the parser to judge
