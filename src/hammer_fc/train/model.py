"""The model to train: the base model, wrapped in LoRA unless full tuning.

Weights are loaded in bf16 only for bf16 on an accelerator (the paper's setting, half the
memory); everywhere else they stay fp32 and bf16 / fp16 are autocast over fp32 master weights,
which is what measured faster for LoRA on CPU and keeps full fine-tuning's updates exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hammer_fc.errors import HammerError
from hammer_fc.model_spec import ALIASES, ModelSpec, load_hf
from hammer_fc.train.config import TrainConfig
from hammer_fc.train.precision import Precision, accelerator, choose_precision

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def decoder_layers(model: Any) -> int:
    count = getattr(model.config, "num_hidden_layers", None)
    if not count:
        raise HammerError(
            "the model's config names no num_hidden_layers: cannot pick top layers", field="lora"
        )
    return int(count)


def linear_targets(model: Any) -> list[str]:
    """Names (last component) of every linear layer inside the decoder blocks: LoRA on "all
    linear layers" as the paper does, minus the output head. A list (not peft's ``all-linear``)
    because peft only combines explicit lists with ``layers_to_transform``."""
    names = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".layers." in f".{name}":
            names.add(name.rsplit(".", 1)[-1])
    if not names:
        raise HammerError("found no linear layer inside decoder blocks to adapt", field="lora")
    return sorted(names)


def adapter_base_name(spec: ModelSpec, model_arg: str) -> str:
    """What the adapter records as its base: the alias or hub id as given, else an absolute path,
    so that ``resolve(adapter_dir)`` finds the base again."""
    if model_arg in ALIASES or not Path(model_arg).exists():
        return model_arg
    return str(Path(model_arg).resolve())


def build_model(
    spec: ModelSpec, model_arg: str, config: TrainConfig, precision: Precision | None = None
) -> tuple[Any, Precision]:
    """Load the base, make only the trained part require gradients, and settle the precision
    (``precision`` if given, else the recipe's ``dtype``; ``auto`` on CPU needs the model's shape,
    so it is decided after loading the fp32 weights)."""
    on_accelerator = accelerator() is not None
    if precision is None and on_accelerator:
        precision = choose_precision(config.dtype)
    weights = DTYPES["bf16"] if on_accelerator and precision and precision.dtype == "bf16" else torch.float32
    model, _ = load_hf(spec, dtype=weights, merge_adapter=True)
    if precision is None:
        hidden = int(getattr(model.config, "hidden_size", 0) or 0)
        intermediate = int(getattr(model.config, "intermediate_size", 0) or 4 * hidden)
        precision = choose_precision(config.dtype, hidden=hidden, intermediate=intermediate)
    return prepare_model(model, config, adapter_base_name(spec, model_arg)), precision


def prepare_model(model: Any, config: TrainConfig, base_name: str) -> Any:
    """Full tuning, or ``model`` wrapped in the recipe's LoRA (recording ``base_name`` as its base).

    ``use_cache`` off: with a cache, transformers does not detect packed sequences from the
    position ids and flattened examples would attend to each other.
    """
    model.config.use_cache = False
    if config.finetune == "full":
        model.train()
        return model
    from peft import LoraConfig, get_peft_model

    layers = None
    if config.lora.top_layers is not None:
        total = decoder_layers(model)
        layers = list(range(max(0, total - config.lora.top_layers), total))
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=linear_targets(model),
        layers_to_transform=layers,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    model.peft_config["default"].base_model_name_or_path = base_name
    model.train()
    return model


def parameter_counts(model: Any) -> tuple[int, int]:
    """(trainable, total) parameters."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
