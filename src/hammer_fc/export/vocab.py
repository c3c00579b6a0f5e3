"""The tokenizer half of a GGUF file: GPT-2-style byte-level BPE, as llama.cpp reads it.

llama.cpp re-implements each model family's pre-tokenizer (the regex that splits text before
BPE) and picks it by name from ``tokenizer.ggml.pre``. Like llama.cpp's own converter we name it
by hashing the token ids the tokenizer produces for a fixed probe string, so a tokenizer whose
splitting rules we do not know is refused instead of silently tokenizing differently on device.
"""

from __future__ import annotations

import json
import tempfile
from hashlib import sha256
from typing import Any

import gguf

from hammer_fc.errors import HammerError

# llama.cpp's probe text (convert_hf_to_gguf.py, get_vocab_base_pre): whitespace runs, emoji,
# digits, CJK, Cyrillic, quotes and contractions, so that different split rules give different ids.
PROBE = (
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n"
    "🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 "
    "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
    "------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, "
    "'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"
)

# Probe hash -> llama.cpp pre-tokenizer name, for the families this exporter supports
# (values from llama.cpp's table; the model named is where the hash was taken).
PRE_TOKENIZERS = {
    # HuggingFaceTB/SmolLM-135M (SmolLM2 shares the vocabulary)
    "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249": "smollm",
    # Qwen/Qwen1.5-7B (Qwen2 and Qwen2.5 share the vocabulary)
    "e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea": "qwen2",
    # Qwen/Qwen3-Embedding-0.6B
    "d4540891389ea895b53b399da6ac824becc30f2fba0e9ddbb98f92e55ca0e97c": "qwen2",
    # meta-llama/Meta-Llama-3-8B
    "0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5": "llama-bpe",
}


# Split regex (the pre-tokenizer's first step before byte-level BPE) -> llama.cpp name, for a
# vocabulary not in the hash table but split by a known family's rules. Qwen2 and Llama 3 differ
# only in how digits group (one at a time vs up to three).
_HEAD = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"
_TAIL = r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPLIT_REGEXES = {_HEAD + r"\p{N}" + _TAIL: "qwen2", _HEAD + r"\p{N}{1,3}" + _TAIL: "llama-bpe"}


def _split_rule(tokenizer: Any) -> str | None:
    """The pre-tokenizer's split rule: a regex, ``"gpt2"`` for ByteLevel's built-in one, or None."""
    pre = json.loads(tokenizer.backend_tokenizer.to_str()).get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    match [step.get("type") for step in steps]:
        case ["ByteLevel"] if steps[0].get("use_regex", True):
            return "gpt2"
        case ["Split", "ByteLevel"] if not steps[1].get("use_regex", True):
            return steps[0].get("pattern", {}).get("Regex")
    return None


def pre_tokenizer_name(tokenizer: Any) -> str:
    """The ``tokenizer.ggml.pre`` value for this tokenizer, or a clear refusal.

    First llama.cpp's own test (the probe's token ids hashed, which pins vocabulary and rules
    together), then the split regex alone for families whose rules llama.cpp implements.
    """
    digest = sha256(str(tokenizer.encode(PROBE)).encode()).hexdigest()
    if digest in PRE_TOKENIZERS:
        return PRE_TOKENIZERS[digest]
    rule = _split_rule(tokenizer)
    if rule == "gpt2":
        return "gpt-2"
    if rule in SPLIT_REGEXES:
        return SPLIT_REGEXES[rule]
    raise HammerError(
        f"unknown BPE pre-tokenizer (probe hash {digest}, split rule {rule!r}); supported families: "
        f"{', '.join(sorted({*PRE_TOKENIZERS.values(), *SPLIT_REGEXES.values(), 'gpt-2'}))}",
        field="tokenizer",
    )


def _check_byte_level_bpe(tokenizer: Any) -> None:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise HammerError("only fast (tokenizers) BPE tokenizers can be exported", field="tokenizer")
    model_type = json.loads(backend.to_str())["model"]["type"]
    if model_type != "BPE":
        raise HammerError(
            f"only GPT-2-style byte-level BPE tokenizers can be exported, this one is {model_type}",
            field="tokenizer",
        )


def _adds_special(tokenizer: Any) -> tuple[bool, bool]:
    """Whether plain encoding adds BOS / EOS: observed, not read from config flags that lie."""
    ids = tokenizer("a")["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return bos is not None and ids[0] == bos, eos is not None and ids[-1] == eos


def add_vocab(writer: gguf.GGUFWriter, tokenizer: Any, vocab_size: int) -> None:
    """Tokens, token types, merges, special ids, BOS/EOS behaviour and chat template."""
    _check_byte_level_bpe(tokenizer)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer_name(tokenizer))

    by_id = {i: tok for tok, i in tokenizer.get_vocab().items()}
    if max(by_id) >= vocab_size:
        raise HammerError(
            f"tokenizer has id {max(by_id)} but the model's vocab_size is {vocab_size}", field="tokenizer"
        )
    added = tokenizer.added_tokens_decoder
    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        if i not in by_id:  # embedding rows the tokenizer never produces (padded vocabularies)
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(added[i].content)
            types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
    writer.add_token_list(tokens)
    writer.add_token_types(types)

    # gguf's SpecialVocab reads merges and special-token ids from a saved tokenizer directory.
    with tempfile.TemporaryDirectory(prefix="hammer-tok-") as tmp:
        tokenizer.save_pretrained(tmp)
        special = gguf.SpecialVocab(tmp, load_merges=True, n_vocab=vocab_size)
    if not special.merges:
        raise HammerError("the tokenizer has no BPE merges", field="tokenizer")
    add_bos, add_eos = _adds_special(tokenizer)
    special.add_special_token = {"bos": add_bos, "eos": add_eos}
    special.chat_template = tokenizer.chat_template
    special.add_to_gguf(writer, quiet=True)
