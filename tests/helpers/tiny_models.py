"""The tiny randomly initialised transformer the export and bench tests build (the embedded
model's vocabulary, so its tokenizer fits; everything else as small as a real model gets)."""

from __future__ import annotations

from typing import Any

TINY_SHAPE = {
    "vocab_size": 49152,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


def tiny_config(arch: str = "llama", **overrides: Any) -> Any:
    """A ``transformers`` config of ``arch`` in :data:`TINY_SHAPE`, with ``overrides``."""
    from transformers import AutoConfig

    return AutoConfig.for_model(arch, **{**TINY_SHAPE, **overrides})
