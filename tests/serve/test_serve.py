"""The tool-calling server, driven by the official ``openai`` client over loopback.

One real uvicorn server on a free port serves the embedded SmolLM2-135M GGUF through the
llama.cpp backend (constrained decoding on); answers are kept short so each request takes
seconds. Prefix KV reuse is off: the same request then always meets the same computation (reuse
changes how a prompt is split into batches, and with it the last bits of the logits), so a
streamed answer can be compared with its plain twin token for token.
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
from hammer_fc.model_spec import resolve
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
    engine = LlamaCppBackend(
        resolve("smollm2-135m", prefer="gguf"), n_ctx=2048, n_threads=2, reuse_prefix=False
    )
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def server(backend: LlamaCppBackend) -> Iterator[BackgroundServer]:
    # No time limit here (it has its own test): on a busy 2-core machine a queued burst can
    # take longer than the default 300 s.
    app = create_app(backend, model_name="smol", max_new_tokens=MAX_TOKENS, request_timeout=None)
    with BackgroundServer(app) as running:
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


def streamed(client: openai.OpenAI, messages: list[dict[str, Any]], **kwargs: Any) -> tuple[Any, int]:
    """The ``openai`` client's own accumulation of a stream (its stream state parses every
    chunk), and how many chunks carried a piece of some call's arguments."""
    from openai.lib.streaming.chat import ChatCompletionStreamState

    kwargs.setdefault("tools", TOOLS)
    kwargs.setdefault("max_tokens", MAX_TOKENS)
    state, fragments = ChatCompletionStreamState(), 0
    for chunk in client.chat.completions.create(model="smol", messages=messages, stream=True, **kwargs):
        state.handle_chunk(chunk)
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            fragments += bool(call.function and call.function.arguments)
    return state.current_completion_snapshot, fragments


def message_of(completion: Any) -> tuple[Any, ...]:
    """What must agree between a streamed and a plain answer (ids are drawn per request)."""
    choice = completion.choices[0]
    calls = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
    return choice.finish_reason, choice.message.content, calls


STREAM_CASES: list[tuple[str, dict[str, Any]]] = [
    ("What's the weather in Paris?", {}),
    ("Weather in Lima in fahrenheit, and the time in Tokyo?", {}),
    ("Weather in Lima in fahrenheit, and the time in Tokyo?", {"parallel_tool_calls": False}),
    ("What time is it in Europe/Berlin?", {"tool_choice": "required"}),
    ("Tell me a joke.", {}),
    ("Weather in Oslo?", {"tool_choice": {"type": "function", "function": {"name": "get_time"}}}),
    ("Weather in Oslo?", {"tool_choice": "none"}),
    ("Weather in Rome, Madrid and Vienna?", {"max_tokens": 30}),  # cut inside a call
    ("Hi!", {"tools": None, "max_tokens": 24}),  # no tools: plain text
]


@pytest.mark.parametrize(("query", "options"), STREAM_CASES)
def test_stream_accumulates_to_the_plain_answer(client: openai.OpenAI, query: str, options: dict) -> None:
    messages = [{"role": "user", "content": query}]
    plain = chat(client, messages, **{"parallel_tool_calls": True, **options})
    stream, fragments = streamed(client, messages, **{"parallel_tool_calls": True, **options})
    assert message_of(stream) == message_of(plain)
    assert stream.usage is None  # asked for no usage chunk
    calls = plain.choices[0].message.tool_calls or []
    if options.get("parallel_tool_calls") is False:
        assert len(calls) <= 1
    if calls and plain.choices[0].finish_reason == "tool_calls":
        assert_valid_calls(plain.choices[0].message)
        # Arguments leave as the model writes them: several fragments per call, not one.
        assert fragments > 2 * len(calls)


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


def test_concurrent_burst_of_streamed_and_plain_requests(
    client: openai.OpenAI, server: BackgroundServer
) -> None:
    """Six requests at once, half streamed: all answered in full, no 5xx, each the same as its
    twin; /health shows them queued while the event loop keeps answering."""
    queries = ["Weather in Rome?", "Time in Tokyo?", "Weather in Lima in fahrenheit?"]
    jobs = [(q, stream) for q in queries for stream in (False, True)]
    results: dict[int, Any] = {}
    health = server.base_url.removesuffix("/v1") + "/health"

    def ask(i: int) -> None:
        query, stream = jobs[i]
        messages = [{"role": "user", "content": query}]
        try:
            results[i] = (
                streamed(client, messages, max_tokens=48)[0]
                if stream
                else chat(client, messages, max_tokens=48)
            )
        except Exception as err:  # reported below, never lost in the thread
            results[i] = err

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    seen = 0
    while any(t.is_alive() for t in threads):
        seen = max(seen, httpx.get(health, timeout=30).json()["in_flight"])
        threads[0].join(timeout=0.2)
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(len(jobs)))
    for result in results.values():
        assert not isinstance(result, Exception), result
    assert seen > 1  # requests were waiting behind the running one, not refused
    for i in range(0, len(jobs), 2):
        assert message_of(results[i]) == message_of(results[i + 1])
        if results[i].choices[0].message.tool_calls:
            assert_valid_calls(results[i].choices[0].message)
    assert len({r.id for r in results.values()}) == len(jobs)
    assert httpx.get(health, timeout=30).json()["in_flight"] == 0


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
    twice = bad_request(client, tools=[TOOLS[0], TOOLS[1], TOOLS[0]])  # even an exact copy: a client's bug
    assert twice["param"] == "tools[2].function.name"
    name = TOOLS[0]["function"]["name"]
    assert f"two tools are named {name!r} (tools[0].function and tools[2].function)" in twice["message"]


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
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 2
    assert summary["backend"] == "openai"
    assert summary["accuracy"] == pytest.approx(sum(v["valid"] for v in verdicts) / 2)


# --- the rest of the surface -----------------------------------------------------------------


def test_response_format_json(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Give me a person as JSON with a name and an age."}]
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    answer = chat(client, messages, tools=None, max_tokens=64, response_format=fmt).choices[0]
    if answer.finish_reason == "stop":
        person = json.loads(answer.message.content)
        assert list(person) == ["name", "age"] and isinstance(person["age"], int)
    else:  # 64 tokens cut it: still the start of such an object
        assert answer.message.content.startswith('{"name"')
    free = chat(client, messages, tools=None, max_tokens=64, response_format={"type": "json_object"})
    content = free.choices[0].message.content
    assert content.startswith("{")
    if free.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(content), dict)
    with_tools = bad_request(client, response_format={"type": "json_object"})
    assert with_tools["param"] == "response_format"


def test_stop_usage_seed_and_unsupported_fields(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]
    full = chat(client, messages, tools=None, max_tokens=40, seed=7, temperature=0.2)
    text = full.choices[0].message.content
    stop = text[12:15]  # a piece of what the model writes
    assert len(text) > 15 and stop.strip(), text
    cut = chat(client, messages, tools=None, max_tokens=40, stop=["zzzz", stop]).choices[0]
    assert cut.finish_reason == "stop" and cut.message.content == text[: text.index(stop)]
    assert full.usage.total_tokens == full.usage.prompt_tokens + full.usage.completion_tokens
    assert full.usage.completion_tokens <= 40
    assert bad_request(client, logit_bias={"1": 5})["param"] == "logit_bias"
    assert bad_request(client, extra_body={"top_k": 3})["code"] == "unsupported_parameter"
    assert (
        bad_request(client, stream=False, stream_options={"include_usage": True})["param"] == "stream_options"
    )


def test_strict_tools_are_accepted(client: openai.OpenAI) -> None:
    strict = json.loads(json.dumps(TOOLS))
    for tool in strict:
        tool["function"]["strict"] = True
        tool["function"]["parameters"]["additionalProperties"] = False
    assert_valid_calls(chat(client, tools=strict, tool_choice="required").choices[0].message)


# --- abandoned work: disconnects, a full queue, the time limit --------------------------------

COUNTING = {
    "model": "smol",
    "messages": [{"role": "user", "content": "Count from 1 to 500, one number per line."}],
    "max_tokens": 400,
}


def wait_idle(base_url: str) -> None:
    """Until the server holds no request and the worker has let go of every job (a cancelled
    prefill runs to its end before the worker can look)."""
    health = base_url.removesuffix("/v1") + "/health"
    for _ in range(3000):
        state = httpx.get(health, timeout=30).json()
        if state["in_flight"] == 0 and not state["running"]:
            return
        threading.Event().wait(0.1)
    raise AssertionError("the server kept a request")


def test_counting_runs_long(client: openai.OpenAI) -> None:
    """The prompt the next tests abandon would go on past 60 tokens if left alone."""
    answer = chat(client, COUNTING["messages"], tools=None, max_tokens=60).choices[0]
    assert answer.finish_reason == "length"


def test_a_disconnected_stream_stops_the_model(server: BackgroundServer, backend: LlamaCppBackend) -> None:
    wait_idle(server.base_url)
    before = backend.stats.generated_tokens
    received = 0
    with httpx.stream(
        "POST", server.base_url + "/chat/completions", json={**COUNTING, "stream": True}, timeout=300
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: ") and '"content": "' in line and '"content": ""' not in line:
                received += 1
                if received == 5:
                    break  # leaving the block closes the connection
    wait_idle(server.base_url)
    generated = backend.stats.generated_tokens - before
    # One piece per token; the model ran a few tokens ahead of what the client read, not 400.
    assert received <= generated <= received + 8, generated


def test_a_disconnected_plain_request_stops_the_model(
    server: BackgroundServer, backend: LlamaCppBackend
) -> None:
    wait_idle(server.base_url)
    before = backend.stats.generated_tokens
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.base_url + "/chat/completions", json=COUNTING, timeout=httpx.Timeout(300, read=1.0))
    wait_idle(server.base_url)
    assert backend.stats.generated_tokens - before < COUNTING["max_tokens"]


def test_full_queue_is_429_and_a_queued_request_whose_client_left_never_runs(
    backend: LlamaCppBackend,
) -> None:
    app = create_app(backend, model_name="smol", max_new_tokens=MAX_TOKENS, max_queue=1)
    with BackgroundServer(app) as running:
        url, health = running.base_url + "/chat/completions", running.base_url.removesuffix("/v1") + "/health"
        client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=300)
        with httpx.stream("POST", url, json={**COUNTING, "stream": True}, timeout=300) as first:
            lines = (line for line in first.iter_lines() if line.startswith("data: "))
            next(lines), next(lines)  # the opening chunk, then the first token: the model is on it
            prompts = backend.stats.prompts
            # A queued request whose client gives up is dropped before it reaches the model.
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(url, json=COUNTING, timeout=httpx.Timeout(300, read=0.5))
            queued: dict[str, Any] = {}
            waiter = threading.Thread(target=lambda: queued.update(answer=chat(client, tools=TOOLS)))
            waiter.start()
            for _ in range(3000):
                if httpx.get(health, timeout=30).json()["in_flight"] == 2:
                    break
                threading.Event().wait(0.05)
            with pytest.raises(openai.RateLimitError) as err:
                chat(client)
            assert err.value.status_code == 429 and err.value.body["code"] == "queue_full"
        waiter.join(timeout=600)  # the first stream closed: the queued request gets the model
        assert_valid_calls(queued["answer"].choices[0].message)
        assert backend.stats.prompts == prompts + 1  # the abandoned one never ran
        wait_idle(running.base_url)


def test_request_timeout_is_408(backend: LlamaCppBackend) -> None:
    app = create_app(backend, model_name="smol", max_new_tokens=400, request_timeout=1.0)
    with BackgroundServer(app) as running:
        client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=300)
        before = backend.stats.generated_tokens
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(**COUNTING)
        assert err.value.status_code == 408 and err.value.body["code"] == "request_timeout"
        # After the first byte the time limit is an error event, which the client raises.
        with (
            pytest.raises(openai.APIError, match="time limit"),
            client.chat.completions.stream(**COUNTING) as stream,
        ):
            for _ in stream:
                pass
        wait_idle(running.base_url)
        assert backend.stats.generated_tokens - before < 2 * COUNTING["max_tokens"]


# --- `hammer serve` itself ---------------------------------------------------------------


def test_hammer_serve_command(embedded_gguf: Any) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-c",
        "from hammer_fc.cli import main; main()",
        "serve",
        "--model",
        str(embedded_gguf),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        [*command, "--n-ctx", "2048", "--threads", "2", "--max-tokens", "48", "--max-queue", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            assert process.poll() is None, process.stdout.read()
            try:
                if httpx.get(base + "/health", timeout=5).json()["max_queue"] == 4:
                    break
            except httpx.TransportError:
                threading.Event().wait(0.1)
        client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=300)
        plain = chat(client, max_tokens=None)
        assert_valid_calls(plain.choices[0].message)
        stream, _ = streamed(client, WEATHER, max_tokens=None, parallel_tool_calls=False)
        assert message_of(stream) == message_of(chat(client, max_tokens=None))
    finally:
        process.terminate()
        process.wait(timeout=60)
