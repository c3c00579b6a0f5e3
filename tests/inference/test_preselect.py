"""Tool pre-selection: the BM25 ranking itself, and ``--max-tools`` in the server (real
uvicorn server, embedded SmolLM2 in llama.cpp, the official ``openai`` client) and in
``hammer eval run``."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.benches import load_benches
from hammer_fc.inference.preselect import preselect, preselect_example, rank, words
from hammer_fc.schema import Example, Message, Param, Tool
from helpers.hammer_cli import hammer


def tool(name: str, description: str, *params: tuple[str, str]) -> Tool:
    return Tool(name, description, [Param(p, "string", d, required=True) for p, d in params])


TOOLS = [
    tool("get_stock_price", "Latest trading price of a company's stock.", ("ticker", "Stock symbol.")),
    tool("send_email", "Send an email message.", ("to", "Recipient address."), ("body", "Message text.")),
    tool("getWeatherForecast", "Weather forecast for the coming days.", ("city", "City name.")),
    tool("math.factorial", "Factorial of an integer.", ("n", "The number.")),
    tool("translate_text", "Translate text into another language.", ("target_language", "ISO code.")),
]
WEATHER = [Message("user", "Will it rain in Paris tomorrow? I need the forecast.")]


def test_names_are_split_into_words() -> None:
    assert words("getWeatherForecast") == ["get", "weather", "forecast"]
    assert words("math.factorial") == ["math", "factori"]
    assert words("get_HTTPResponse-code") == ["get", "http", "respons", "code"]


def test_the_obvious_tool_ranks_first() -> None:
    assert TOOLS[rank(TOOLS, WEATHER)[0]].name == "getWeatherForecast"
    question = [Message("user", "What is the factorial of 12?")]
    assert TOOLS[rank(TOOLS, question)[0]].name == "math.factorial"


def test_the_last_user_turn_weighs_most() -> None:
    talk = [
        Message("system", "You help with stocks, prices and tickers."),
        Message("user", "Earlier I asked about an email."),
        Message("assistant", "Sure."),
        Message("user", "Now translate 'hello' into the French language."),
    ]
    assert TOOLS[rank(TOOLS, talk)[0]].name == "translate_text"


def test_ranking_is_deterministic_and_ties_keep_the_request_order() -> None:
    examples = [e for e in load_benches("bfcl:live_multiple")[0].examples if len(e.tools) > 5][:40]
    first = [rank(e.tools, e.messages) for e in examples]
    assert first == [rank(e.tools, e.messages) for e in examples]
    # Nothing in common with any tool: every score is 0, so the request's order stands.
    assert rank(TOOLS, [Message("user", "zzzz qqqq")]) == [0, 1, 2, 3, 4]
    assert rank(TOOLS, []) == [0, 1, 2, 3, 4]


def test_top_n_keeps_the_request_order_and_cuts_only_past_n() -> None:
    kept = preselect(TOOLS, [Message("user", "Send an email with the stock price of ACME.")], 2)
    assert [t.name for t in kept] == ["get_stock_price", "send_email"]
    assert preselect(TOOLS, WEATHER, 5) == TOOLS
    assert preselect(TOOLS, WEATHER, None) == TOOLS
    assert preselect(TOOLS, WEATHER, 0) == TOOLS
    example = Example(WEATHER, TOOLS)
    assert preselect_example(example, 8) is example
    assert [t.name for t in preselect_example(example, 1).tools] == ["getWeatherForecast"]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_top_n_never_drops_the_named_tool(n: int) -> None:
    rng = random.Random(n)
    for _ in range(30):
        tools = rng.sample(TOOLS, len(TOOLS))
        for named in tools:
            kept = preselect(tools, WEATHER, n, keep=named.name)
            assert len(kept) == n and named in kept
            assert [t for t in tools if t in kept] == kept  # request order
    least = TOOLS[rank(TOOLS, WEATHER)[-1]]
    kept = preselect(TOOLS, WEATHER, 2, keep=least.name)
    assert {t.name for t in kept} == {"getWeatherForecast", least.name}


def test_bad_max_tools_is_refused() -> None:
    with pytest.raises(HammerError, match="max_tools"):
        preselect(TOOLS, WEATHER, -1)
    with pytest.raises(HammerError, match="whole number"):
        preselect(TOOLS, WEATHER, 2.5)  # type: ignore[arg-type]


def test_eval_cases_show_the_top_n_and_are_judged_on_the_whole_case() -> None:
    from hammer_fc.eval.runner import build_cases

    benches = load_benches("bfcl:live_multiple")
    cases = build_cases(benches, limit=20, seed=0, mask_names=True, max_tools=2)
    assert any(len(c.example.tools) > 2 for c in cases)
    by_id = {e.id: e for e in benches[0].examples}
    for case in cases:
        source = case.example if case.masked is None else case.masked.example
        assert case.shown.tools == preselect(source.tools, source.messages, 2)
        assert case.example is by_id[case.example.id]  # judged on the whole case, untouched
    plain = build_cases(benches, limit=20, seed=0, mask_names=False)
    assert all(c.shown is c.example for c in plain)


class ShownTools:
    """A backend whose answer is the names of the tools its prompt shows (no model needed)."""

    name = "shown-tools"
    batch_size = 4

    def format(self, example: Example, template: str) -> str:
        return json.dumps([t.name for t in example.tools])

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        return list(prompts)

    def close(self) -> None:
        pass


def test_run_eval_shows_each_case_its_top_n(tmp_path: Path) -> None:
    from hammer_fc.eval.runner import run_eval

    summary = run_eval(
        "shown", "bfcl:live_multiple", backend=ShownTools(), out_dir=tmp_path, limit=15, seed=2, max_tools=2
    )
    assert summary["max_tools"] == 2
    cases = {e.id: e for e in load_benches("bfcl:live_multiple")[0].examples}
    lines = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 15 and any(len(cases[line["id"]].tools) > 2 for line in lines)
    for line in lines:
        example = cases[line["id"]]
        top = [t.name for t in preselect(example.tools, example.messages, 2)]
        assert json.loads(line["output"]) == top


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--max-tools", "-1"],
        ["serve", "--max-tools", "two"],
        ["eval", "run", "--bench", "bfcl:multiple", "-o", "unused", "--max-tools", "-3"],
    ],
)
def test_cli_bad_max_tools_exits_2(args: list[str], tmp_path: Path) -> None:
    result = hammer(*args)
    assert result.returncode == 2, result
    assert "--max-tools" in result.stderr
    assert "Traceback" not in result.stderr


# --- with the embedded model ---------------------------------------------------------------


def openai_tool(t: Tool) -> dict[str, Any]:
    properties = {p.name: {"type": "string", "description": p.description} for p in t.params}
    return {
        "type": "function",
        "function": {
            "name": t.name,
            "description": t.description,
            "parameters": {"type": "object", "properties": properties, "required": list(properties)},
        },
    }


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    pytest.importorskip("llama_cpp")
    from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
    from hammer_fc.model_spec import resolve
    from hammer_fc.serve import BackgroundServer, create_app

    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=2048, n_threads=2)
    app = create_app(engine, model_name="smol", max_new_tokens=48, request_timeout=None, max_tools=2)
    try:
        with BackgroundServer(app) as running:
            yield running
    finally:
        engine.close()


QUESTIONS = [
    "What is the factorial of 12?",
    "Send an email to bob@example.com saying hello.",
    "What is the stock price of ACME today?",
]


@pytest.mark.slow
def test_server_calls_only_the_top_n_tools(server: Any) -> None:
    assert httpx.get(server.base_url.removesuffix("/v1") + "/health").json()["max_tools"] == 2
    client = openai.OpenAI(base_url=server.base_url, api_key="-", max_retries=0, timeout=300)
    offered = [openai_tool(t) for t in TOOLS]
    for question in QUESTIONS:
        top = {t.name for t in preselect(TOOLS, [Message("user", question)], 2)}
        r = client.chat.completions.create(
            model="smol",
            messages=[{"role": "user", "content": question}],
            tools=offered,
            tool_choice="required",
            max_tokens=48,
        )
        calls = r.choices[0].message.tool_calls or []
        assert calls, r
        assert {c.function.name for c in calls} <= top, (question, top)
    # A named choice keeps its tool even when it ranks last.
    least = TOOLS[rank(TOOLS, WEATHER)[-1]].name
    r = client.chat.completions.create(
        model="smol",
        messages=[{"role": "user", "content": WEATHER[0].content}],
        tools=offered,
        tool_choice={"type": "function", "function": {"name": least}},
        max_tokens=48,
    )
    assert [c.function.name for c in r.choices[0].message.tool_calls or []][:1] == [least]


CALLED = re.compile(r'\{\s*"name":\s*"([^"]+)",\s*"arguments"')


@pytest.mark.slow
def test_eval_run_with_max_tools(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hammer_fc.cli import app

    out = tmp_path / "run"
    args = ["eval", "run", "--bench", "bfcl:multiple", "--limit", "2", "--seed", "3", "--constrained"]
    # 32 tokens hold a call's name (the answer is often cut off after it: read the raw text).
    result = CliRunner().invoke(app, [*args, "--max-tools", "1", "--max-new-tokens", "32", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["max_tools"] == 1
    cases = {e.id: e for e in load_benches("bfcl:multiple")[0].examples}
    lines = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    called = set()
    for line in lines:
        example = cases[line["id"]]
        assert len(example.tools) > 1
        (top,) = preselect(example.tools, example.messages, 1)
        names = set(CALLED.findall(line["output"]))
        assert names <= {top.name}, (line, top.name)
        called |= names
    assert called, lines
    assert json.loads((out / "summary.json").read_text())["max_tools"] == 1
    # Another N into the same directory is refused rather than mixed in.
    again = CliRunner().invoke(app, [*args, "--max-tools", "2", "--max-new-tokens", "32", "-o", str(out)])
    assert isinstance(again.exception, HammerError) and "max_tools" in str(again.exception), again.output
