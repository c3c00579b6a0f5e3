"""The llama.cpp backend on the embedded SmolLM2-135M GGUF: prompt layout, prefix KV reuse,
grammar-constrained decoding, and backend selection."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.inference.base import ContextOverflow, StreamingBackend
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend, common_prefix
from hammer_fc.inference.load import default_backend, load_backend
from hammer_fc.model_spec import resolve
from hammer_fc.prompts import render_chat, render_prompt
from hammer_fc.schema import Example, Message, Param, Tool


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=4096)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def cases() -> list[Example]:
    """Two short cases (the prompts are mostly the shared instruction: quick to prefill)."""
    weather = Tool("weather", "Current weather in a city.", [Param("city", "string", "City name.", True)])
    clock = Tool("clock", "Current time in a timezone.", [Param("zone", "string", "IANA zone.", True)])
    return [
        Example([Message("user", "Weather in Lyon?")], [weather], id="a"),
        Example([Message("user", "What time is it in Tokyo?")], [clock], id="b"),
    ]


def test_prompt_is_the_training_prompt_in_the_gguf_chat_template(backend: LlamaCppBackend, cases) -> None:
    text = backend.format(cases[0], "hammer")
    assert text.startswith("<|im_start|>system\n")
    assert f"<|im_start|>user\n{render_prompt(cases[0])}<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert backend.format(cases[0], "hammer-chat") == render_chat(cases[0])  # SmolLM2 adds no BOS
    with pytest.raises(HammerError, match="unknown prompt template"):
        backend.format(cases[0], "chatml")


def test_consecutive_hammer_prompts_share_a_long_prefix(backend: LlamaCppBackend, cases) -> None:
    a, b = (backend.tokenize(backend.format(c, "hammer")) for c in cases)
    assert common_prefix(a, b) > 150  # the system turn and the task instruction


def test_prefix_reuse_gives_the_same_outputs_as_recomputing(backend: LlamaCppBackend) -> None:
    head = "<|im_start|>user\nList three facts about the planet Mars and one about the Moon, briefly. "
    prompts = [head + "Start with its size.<|im_end|>\n<|im_start|>assistant\n", head + "<|im_end|>\n"]
    shared = common_prefix(*(backend.tokenize(p) for p in prompts))

    backend.reuse_prefix = False
    before = backend.stats.reused_tokens
    fresh = backend.generate(prompts, max_new_tokens=8)
    assert backend.stats.reused_tokens == before

    backend.reuse_prefix = True
    reused = backend.generate(prompts, max_new_tokens=8)
    again = backend.generate(prompts[1:], max_new_tokens=8)  # the same prompt twice in a row
    assert backend.stats.reused_tokens - before >= 2 * shared > 0
    assert reused == fresh and again == fresh[1:]
    assert all(fresh), "the model should say something"


def test_grammar_forces_the_answer(backend: LlamaCppBackend) -> None:
    grammar = 'root ::= "```\\n[" ("]" | "{}]") "\\n```"'
    prompt = "<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n"
    assert backend.generate([prompt], max_new_tokens=32, grammar=grammar)[0] in (
        "```\n[]\n```",
        "```\n[{}]\n```",
    )


def test_prompt_longer_than_the_context_is_refused(backend: LlamaCppBackend) -> None:
    with pytest.raises(ContextOverflow) as err:
        backend.generate(["short", "word " * 5000], max_new_tokens=1)
    assert err.value.index == 1 and "context holds 4096" in str(err.value)


def test_backend_choice_follows_the_model_spec(tmp_path) -> None:
    assert default_backend(resolve("smollm2-135m")) == "llamacpp"
    assert default_backend(resolve("openai:m@http://127.0.0.1:9/v1")) == "openai"
    (tmp_path / "adapter_config.json").write_text("{}")
    with_adapter = resolve("smollm2-135m", adapter=str(tmp_path))
    assert default_backend(with_adapter) == "hf"
    with pytest.raises(HammerError, match="without an adapter"):
        load_backend(with_adapter, "llamacpp")
    with pytest.raises(HammerError, match="unknown backend"):
        load_backend(resolve("smollm2-135m"), "vllm")
    with pytest.raises(HammerError, match="needs an openai"):
        load_backend(resolve("smollm2-135m"), "openai")


def test_streamed_pieces_join_to_the_generated_text(backend: LlamaCppBackend) -> None:
    prompt = "<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n"
    assert isinstance(backend, StreamingBackend)
    pieces = list(backend.stream(prompt, max_new_tokens=12))
    assert [p.tokens for p in pieces[:-1]] == list(range(1, len(pieces)))
    assert pieces[-1].finish_reason in ("stop", "length") and all(
        p.finish_reason is None for p in pieces[:-1]
    )
    assert "".join(p.text for p in pieces) == backend.generate([prompt], max_new_tokens=12)[0]


def test_closing_a_stream_stops_decoding(backend: LlamaCppBackend) -> None:
    prompt = "<|im_start|>user\nCount from 1 to 100.<|im_end|>\n<|im_start|>assistant\n"
    before = backend.stats.generated_tokens
    stream = backend.stream(prompt, max_new_tokens=200)
    for _ in range(3):
        next(stream)
    stream.close()
    assert backend.stats.generated_tokens - before == 3


@pytest.mark.parametrize("jump_forward", [False, True])
def test_a_length_cut_never_leaves_half_a_character(backend: LlamaCppBackend, jump_forward: bool) -> None:
    """Under a grammar that forces multi-byte characters, every cut is whole characters and a
    prefix of the whole answer; some tokens hold only part of a character."""
    grammar = 'root ::= "🦙 \u00e9t\u00e9 🦙\u4e2d\u6587 ok"'
    prompt = "<|im_start|>user\nSay it.<|im_end|>\n<|im_start|>assistant\n"
    backend.jump_forward = jump_forward
    try:
        whole = backend.generate([prompt], max_new_tokens=64, grammar=grammar)[0]
        assert whole == "🦙 été 🦙中文 ok"
        cuts = [backend.generate([prompt], max_new_tokens=n, grammar=grammar)[0] for n in range(1, 20)]
    finally:
        backend.jump_forward = True
    assert all("\ufffd" not in cut and whole.startswith(cut) for cut in cuts)
    assert any(a == b != whole for a, b in itertools.pairwise(cuts)), "no token split a character"


@pytest.mark.slow
def test_jump_forward_gives_the_same_answers(backend: LlamaCppBackend) -> None:
    """Constrained answers to 15 BFCL cases (1 to 4 tools), with and without jump-forward.

    A batch's logits round slightly unlike one-token steps', which can flip a near-tie. On
    this build the only near-ties are the base model's "one more call or close the list"
    after a finished call (it likes to repeat calls): so every call written is the same on
    both paths, answers part only right after a whole call, and jump-forward does take
    tokens from batches."""
    from hammer_fc.formats.bfcl import load_bfcl
    from hammer_fc.inference.grammar import grammar_for_tools

    cases = load_bfcl("simple_python")[:6] + load_bfcl("multiple")[:6] + load_bfcl("parallel")[:3]
    jumped = backend.stats.jumped_tokens
    same = 0
    for case in cases:
        prompt = backend.format(case, "hammer")
        grammar = grammar_for_tools(case.tools, "auto")
        backend.jump_forward = False
        plain = backend.generate([prompt], max_new_tokens=96, grammar=grammar)[0]
        backend.jump_forward = True
        jumping = backend.generate([prompt], max_new_tokens=96, grammar=grammar)[0]
        if jumping == plain:
            same += 1
            continue
        cut = next((i for i, (a, b) in enumerate(zip(plain, jumping, strict=False)) if a != b), None)
        shared = plain[: min(len(plain), len(jumping)) if cut is None else cut]
        assert shared.endswith("}}"), (case.id, plain, jumping)
        assert {plain[len(shared) :][:2], jumping[len(shared) :][:2]} <= {"]\n", ", "}, (
            case.id,
            plain,
            jumping,
        )
    assert same >= 10, same
    assert backend.stats.jumped_tokens > jumped


def test_forced_bytes_are_what_the_grammar_leaves_no_choice_about(backend: LlamaCppBackend) -> None:
    from hammer_fc.inference.grammar import CompiledGrammar
    from hammer_fc.inference.llamacpp_backend import BytePieces

    probe = BytePieces.of(backend)
    with CompiledGrammar('root ::= "ab\u00e9c" ("x" | "y") "zz"', backend.vocab) as grammar:
        assert grammar.forced_bytes(probe, limit=64) == ("abéc".encode(), False)
        assert grammar.forced_bytes(probe, limit=2) == (b"ab", False)  # the state did not move
        for token in backend.llm.tokenize("abécx".encode(), add_bos=False, special=False):
            grammar.accept(token)
        assert grammar.forced_bytes(probe, limit=64) == (b"zz", True)


def test_response_schema_grammar(backend: LlamaCppBackend) -> None:
    from hammer_fc.inference.grammar import CompiledGrammar, json_schema_grammar

    def accepts(grammar: str, text: str) -> bool:
        with CompiledGrammar(grammar, backend.vocab) as compiled:
            for token in backend.llm.tokenize(text.encode(), add_bos=False, special=False):
                if not compiled.allows(token):
                    return False
                compiled.accept(token)
            return compiled.allows(compiled.eos)

    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}}},
        "required": ["name"],
    }
    grammar = json_schema_grammar(schema)
    assert accepts(grammar, '{"name": "x", "tags": ["a", "b"]}') and accepts(grammar, '{"name": "x"}')
    assert not accepts(grammar, '{"tags": ["a"]}') and not accepts(grammar, '{"name": "x", "tags": ["c"]}')
    assert accepts(json_schema_grammar({"type": "object"}), '{"any": [1, {"b": null}]}') and not accepts(
        json_schema_grammar({"type": "object"}), "[1]"
    )
