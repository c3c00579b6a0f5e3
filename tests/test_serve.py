"""The tool-calling server, driven by the official ``openai`` client over loopback.

One real uvicorn server on a free port serves the embedded SmolLM2-135M GGUF through the
llama.cpp backend (constrained decoding on); answers are kept short so each request takes
seconds. Requests share their tools, so the prompt prefix comes from the KV cache.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.models import resolve
from hammer_fc.serve import BackgroundServer, create_app

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name."},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current local time in a time zone.",
            "parameters": {
                "type": "object",
                "properties": {
                    "timezone": {"type": "string", "description": "IANA zone, e.g. Europe/Paris."}
                },
                "required": ["timezone"],
            },
        },
    },
]
NAMES = {"get_weather", "get_time"}
WEATHER = [{"role": "user", "content": "What's the weather in Paris?"}]
MAX_TOKENS = 64


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=2048, n_threads=2)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def server(backend: LlamaCppBackend) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(backend, model_name="smol", max_new_tokens=MAX_TOKENS)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=300)


def chat(client: openai.OpenAI, messages: list[dict[str, Any]] = WEATHER, **kwargs: Any) -> Any:
    kwargs.setdefault("tools", TOOLS)
    kwargs.setdefault("max_tokens", MAX_TOKENS)
    kwargs.setdefault("parallel_tool_calls", False)
    return client.chat.completions.create(model="smol", messages=messages, **kwargs)


def assert_valid_calls(message: Any, names: set[str] = NAMES) -> list[tuple[str, dict[str, Any]]]:
    """Every call names an offered function and carries JSON-object arguments with its
    required argument (what the grammar promises)."""
    assert message.tool_calls, message
    out = []
    for call in message.tool_calls:
        assert call.type == "function" and call.id.startswith("call_")
        assert call.function.name in names
        arguments = json.loads(call.function.arguments)
        assert isinstance(arguments, dict)
        required = "city" if call.function.name == "get_weather" else "timezone"
        assert isinstance(arguments[required], str)
        assert arguments.get("unit", "celsius") in ("celsius", "fahrenheit")
        out.append((call.function.name, arguments))
    assert len({c.id for c in message.tool_calls}) == len(message.tool_calls)
    return out


@pytest.fixture(scope="module")
def weather_answer(client: openai.OpenAI) -> Any:
    """One plain tool-calling answer, shared by the tests that look at it."""
    return chat(client)


def test_tool_call(weather_answer: Any) -> None:
    choice = weather_answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.role == "assistant" and choice.message.content is None
    assert assert_valid_calls(choice.message)[0][0] == "get_weather"
    assert weather_answer.model == "smol" and weather_answer.id.startswith("chatcmpl-")
    usage = weather_answer.usage
    assert usage.prompt_tokens > 100 and usage.completion_tokens > 0


def test_no_call_is_plain_content(client: openai.OpenAI) -> None:
    choice = chat(client, tool_choice="none").choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert choice.message.content.strip("`\n ") == "[]"  # the Hammer answer for "no call"


def test_tool_choice_required_and_named(client: openai.OpenAI) -> None:
    chatter = [{"role": "user", "content": "Hello! How are you today?"}]
    required = chat(client, chatter, tool_choice="required").choices[0]
    assert required.finish_reason == "tool_calls"
    assert_valid_calls(required.message)
    named = chat(client, WEATHER, tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [name for name, _ in assert_valid_calls(named.choices[0].message)] == ["get_time"]


def test_streamed_tool_calls_rebuild_the_plain_answer(client: openai.OpenAI, weather_answer: Any) -> None:
    """The client's own stream accumulator (which parses every chunk) rebuilds the same calls."""
    with client.chat.completions.stream(
        model="smol", messages=WEATHER, tools=TOOLS, max_tokens=MAX_TOKENS, parallel_tool_calls=False
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert kinds[0] == "chunk" and "tool_calls.function.arguments.done" in kinds
    assert final.choices[0].finish_reason == "tool_calls"
    streamed = assert_valid_calls(final.choices[0].message)
    assert streamed == assert_valid_calls(weather_answer.choices[0].message)


def test_streamed_content_and_usage(client: openai.OpenAI) -> None:
    stream = chat(client, tool_choice="none", stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert "".join(d.content or "" for d in deltas).strip("`\n ") == "[]"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 100


def test_conversation_with_tool_results(client: openai.OpenAI) -> None:
    messages = [
        {"role": "system", "content": "You help with travel."},
        {"role": "user", "content": "What's the weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 3, "sky": "snow"}'},
        {"role": "user", "content": "And what time is it there?"},
    ]
    choice = chat(client, messages, tool_choice="required").choices[0]
    assert_valid_calls(choice.message)


def test_concurrent_burst_is_queued_and_answered(client: openai.OpenAI, server: BackgroundServer) -> None:
    queries = ["Weather in Rome?", "Time in Tokyo?", "Weather in Lima in fahrenheit?", "Time in Paris?"]
    results: dict[int, Any] = {}

    def ask(i: int) -> None:
        try:
            results[i] = chat(client, [{"role": "user", "content": queries[i]}], max_tokens=48)
        except Exception as err:  # reported below, never lost in the thread
            results[i] = err

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(queries))]
    for thread in threads:
        thread.start()
    health = httpx.get(server.base_url.removesuffix("/v1") + "/health", timeout=30)  # loop stays free
    for thread in threads:
        thread.join(timeout=600)
    assert health.status_code == 200
    assert sorted(results) == [0, 1, 2, 3]
    for result in results.values():
        assert not isinstance(result, Exception), result
        assert result.choices[0].finish_reason in ("tool_calls", "stop", "length")
        if result.choices[0].message.tool_calls:
            assert_valid_calls(result.choices[0].message)
    assert len({r.id for r in results.values()}) == 4


def test_models_and_health(client: openai.OpenAI, server: BackgroundServer) -> None:
    assert [m.id for m in client.models.list()] == ["smol"]
    health = httpx.get(server.base_url.removesuffix("/v1") + "/health", timeout=30).json()
    assert health["status"] == "ok" and health["constrained"] is True


# --- bad requests: 4xx with OpenAI's error body, and the server keeps answering --------------


def bad_request(client: openai.OpenAI, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as err:
        chat(client, **kwargs)
    assert err.value.status_code == 400
    body = err.value.body
    assert set(body) == {"message", "type", "param", "code"}, body  # the client unwraps "error"
    assert body["type"] == "invalid_request_error" and body["message"]
    return body


def test_unknown_tool_choice_name(client: openai.OpenAI) -> None:
    body = bad_request(client, tool_choice={"type": "function", "function": {"name": "launch_rocket"}})
    assert body["param"] == "tool_choice" and "launch_rocket" in body["message"]
    assert bad_request(client, tool_choice="sometimes")["param"] == "tool_choice"


def test_invalid_tool_schema(client: openai.OpenAI) -> None:
    broken = json.loads(json.dumps(TOOLS))
    broken[1]["function"]["parameters"]["properties"]["timezone"]["type"] = "strang"
    body = bad_request(client, tools=broken)
    assert body["param"] == "tools[1].function.parameters.timezone.type"
    assert "strang" in body["message"]
    nameless = [{"type": "function", "function": {"description": "no name"}}]
    assert bad_request(client, tools=nameless)["param"] == "tools[0].function.name"
    assert bad_request(client, tools=[TOOLS[0], TOOLS[0]])["param"] == "tools[1].function.name"


def test_prompt_longer_than_the_context(client: openai.OpenAI) -> None:
    long = [{"role": "user", "content": "Paris weather please. " * 1500}]
    body = bad_request(client, messages=long)
    assert body["code"] == "context_length_exceeded"
    assert "2048" in body["message"]


def test_bad_messages(client: openai.OpenAI) -> None:
    assert bad_request(client, messages=[])["param"] == "messages"
    assert bad_request(client, messages=[{"role": "wizard", "content": "hi"}])["param"] == "messages[0].role"
    bad_history = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "get_time"}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": "12:00"},
    ]
    bad_history[1]["tool_calls"][0]["function"]["arguments"] = "{not json"
    assert bad_request(client, messages=bad_history)["param"].startswith("messages[1].tool_calls[0]")
    assert bad_request(client, max_tokens=0)["param"] == "max_tokens"


def test_malformed_json_and_unknown_routes(server: BackgroundServer) -> None:
    url = server.base_url + "/chat/completions"
    for body in (b'{"messages": [', b"[1, 2]", b"\xff\xfe"):
        response = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 400, body
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    missing = httpx.get(server.base_url + "/nothing-here", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    wrong_method = httpx.get(url, timeout=30)
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def test_still_answering_after_errors(client: openai.OpenAI) -> None:
    assert chat(client, tool_choice="none").choices[0].finish_reason == "stop"


# --- the free (unconstrained) server -------------------------------------------------------


def test_free_mode_returns_the_model_text(backend: LlamaCppBackend) -> None:
    app = create_app(backend, constrained=False, max_new_tokens=24)
    with BackgroundServer(app) as running:
        client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=300)
        choice = chat(client, tool_choice="none", max_tokens=24).choices[0]
    assert choice.message.tool_calls is None
    assert choice.message.content  # whatever the model wrote, calls dropped as asked
    assert choice.finish_reason in ("stop", "length")


# --- the whole evaluation path through HTTP -----------------------------------------------


def test_hammer_eval_run_through_the_server(server: BackgroundServer, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from hammer_fc.cli import app

    out = tmp_path / "run"
    args = ["eval", "run", "--model", f"openai:smol@{server.base_url}", "--bench", "bfcl:simple_python"]
    result = CliRunner().invoke(app, [*args, "--limit", "2", "--max-new-tokens", "48", "-o", str(out)])
    assert result.exit_code == 0, result.output
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 2
    for prediction in predictions:
        assert "error" not in prediction, prediction
        # Under the grammar every answer is a Hammer answer, or its start when 48 tokens cut it.
        assert prediction["output"].startswith("```\n["), prediction
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"] == "openai" and 0.0 <= summary["accuracy"] <= 1.0
