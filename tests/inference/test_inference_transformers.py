"""The transformers backend on the embedded model (loaded from its GGUF), against llama.cpp:
same prompt text from either chat-template source, same greedy answer, batching that changes
nothing, adapters applied."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.inference.transformers_backend import TransformersBackend
from hammer_fc.model_spec import resolve
from hammer_fc.prompts.chat_format import ChatFormat

PROMPTS = [
    "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nWrite the JSON list [1, 2, 3], nothing else.<|im_end|>\n<|im_start|>assistant\n",
]


@pytest.fixture(scope="module")
def hf() -> Iterator[TransformersBackend]:
    engine = TransformersBackend(resolve("smollm2-135m"), batch_size=2, n_threads=1)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=2048)
    yield engine
    engine.close()


def test_tokenizer_and_gguf_give_the_same_prompt_text(
    hf: TransformersBackend, llama: LlamaCppBackend
) -> None:
    case = load_bfcl("simple_python")[0]
    for template in ("hammer", "hammer-chat"):
        assert hf.format(case, template) == llama.format(case, template)
    assert hf.chat == ChatFormat.from_llama(llama.llm)
    # ... and the two tokenizers read it into the same tokens.
    text = hf.format(case, "hammer")
    assert hf.tokenizer(text, add_special_tokens=False)["input_ids"] == llama.tokenize(text)


def test_bos_is_added_only_where_the_model_wants_it() -> None:
    chat = ChatFormat(template=None, special_tokens={"bos_token": "<s>"}, add_bos=True)
    assert chat.wrap("hi") == "<s>hi" and chat.with_bos("<s>hi") == "<s>hi"
    templated = ChatFormat(
        "{{ bos_token }}[{{ messages[0]['content'] }}]", {"bos_token": "<s>"}, add_bos=True
    )
    assert templated.wrap("hi") == "<s>[hi]"
    broken = ChatFormat("{{ raise_exception('no users') }}", {})
    with pytest.raises(HammerError, match="chat template failed"):
        broken.wrap("hi")


def test_batched_greedy_matches_one_by_one(hf: TransformersBackend) -> None:
    batched = hf.generate(PROMPTS, max_new_tokens=6)
    hf.batch_size = 1
    try:
        single = hf.generate(PROMPTS, max_new_tokens=6)
    finally:
        hf.batch_size = 2
    assert batched == single and all(batched)


def test_grammar_is_refused(hf: TransformersBackend) -> None:
    with pytest.raises(HammerError, match=r"llama\.cpp backend"):
        hf.generate(PROMPTS[:1], max_new_tokens=1, grammar='root ::= "x"')


def test_a_lora_adapter_changes_the_answer(hf: TransformersBackend) -> None:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    tuned = get_peft_model(copy.deepcopy(hf.model), config)
    backend = TransformersBackend(resolve("smollm2-135m"), model=tuned, tokenizer=hf.tokenizer)
    assert backend.generate(PROMPTS[:1], max_new_tokens=4) != hf.generate(PROMPTS[:1], max_new_tokens=4)
