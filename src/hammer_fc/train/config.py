"""The training recipe: one dataclass, read from YAML, overridable from the command line.

A recipe file holds only recipe keys (no model, no data) so that the same file serves every
model; :func:`load_recipe` rejects unknown keys so that a typo cannot silently fall back to a
default. The defaults here are the paper's (method.md, "Training recipe of the paper") and are
written out in full in ``configs/hammer-paper.yaml``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from hammer_fc.augment.epochs import MASKINGS
from hammer_fc.augment.shorten import shorten_target
from hammer_fc.errors import HammerError
from hammer_fc.prompts import TEMPLATES

CONFIGS_DIR = Path(__file__).resolve().parents[3] / "configs"
"""The repository's ``configs/``: recipes can be named (``smollm2-cpu``) instead of given as paths."""


@dataclass
class LoraSettings:
    """LoRA on every linear layer of the decoder blocks (LLaMA-Factory's ``lora_target: all``)."""

    r: int = 32
    alpha: int = 64
    """LLaMA-Factory, which the authors trained with, defaults ``lora_alpha`` to ``2 * r``."""
    dropout: float = 0.0
    top_layers: int | None = None
    """Adapt only the last ``top_layers`` decoder blocks: nothing below them needs a gradient, so
    the backward pass stops there (the CPU recipe's main saving). ``None`` = every block."""


@dataclass
class TrainConfig:
    """Everything that decides what a run computes (the model and data are given separately)."""

    finetune: Literal["lora", "full"] = "lora"
    lora: LoraSettings = field(default_factory=LoraSettings)
    epochs: int = 3
    """Passes over the data, each with a fresh masked view of every example: the paper's "one
    epoch over three masked copies"."""
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run all epochs)."""
    mask_ratio: float = 0.33
    masking: str = "hammer"
    """``hammer`` (ours) or ``released`` (the authors' released script: with ``mask_ratio`` 2/3)."""
    template: str = "hammer"
    """The prompt template trained on (``authors-sft``: the authors' rows, in LLaMA-Factory's ``qwen``)."""
    add_irrelevance: float = 0.0
    """Share of extra ``[]`` examples built from the inputs (the paper: ~0.1 on xLAM)."""
    compose: float = 0.0
    """Multi-call examples composed afresh every epoch from single-call ones, as a share of the
    examples (:mod:`hammer_fc.augment.compose`); masked like the others."""
    compose_variants: float = 0.0
    """Share of the composed examples that are value variants instead: one example's request
    with other values said beside its own ("in Oslo and Lima"), one call per value
    (:mod:`hammer_fc.augment.variants`): BFCL's parallel shape."""
    no_call_share: float | None = None
    """Keep at most this share of no-call (``[]``) examples, dropping a seeded random rest: BFCL's
    live set is over half ``live_irrelevance`` once long examples are cut, and the paper found
    ~10% no-call data the best trade-off. ``None`` keeps them all."""
    cutoff: int = 2048
    """Longest sequence (prompt + answer tokens). A longer example keeps its gold tools and the
    distractors that fit (:mod:`hammer_fc.augment.shorten`); one whose gold tools alone do not
    fit is counted and skipped."""
    shorten_to: int | None = None
    """Shorten examples longer than this (instead of ``cutoff``) to their gold tools and the
    distractors that fit within it, so that most sequences stay short (fast CPU steps) while an
    example whose gold tools alone are longer is still kept, shortened to fit ``cutoff``.
    ``None``: the same as ``cutoff``."""
    token_budget: int | None = None
    """Train on a seeded random subset whose tokens over all epochs fit this budget."""
    learning_rate: float = 5e-5
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.008
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    batch_size: int = 4
    """Examples per micro-batch per device."""
    batching: Literal["grouped", "packed"] = "grouped"
    """``grouped``: batches of similar length (seeded), padded to their longest: little padding,
    attention within each example only. ``packed``: each micro-batch flattened into one row
    (no padding at all, block-diagonal attention from position ids); pays off with a varlen
    attention kernel (``flash_attention_2``), while sdpa/eager (CPU) compute the full square
    of the packed row, which on CPU costs more than grouped padding wastes."""
    grad_accum: int = 2
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """Mixed-precision dtype. ``auto``: bf16 on a GPU that has it (the paper's), fp16 on one that
    has not; on a CPU bf16 autocast where the cores do bf16 natively and a one-off measurement
    finds it faster, else fp32 (:mod:`hammer_fc.train.precision`)."""
    seed: int = 0
    save_steps: int = 200
    save_total_limit: int | None = 2
    logging_steps: int = 10

    @property
    def shorten_target(self) -> int:
        """The length examples are shortened to (``shorten_to``, at most the cut-off)."""
        return shorten_target(self.cutoff, self.shorten_to)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _from_dict(data: dict[str, Any], source: str) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise HammerError(f"unknown recipe key(s): {', '.join(unknown)}", file=source)
    lora = data.get("lora") or {}
    if not isinstance(lora, dict):
        raise HammerError("must be a mapping", file=source, field="lora")
    lora_known = {f.name for f in fields(LoraSettings)}
    bad = sorted(set(lora) - lora_known)
    if bad:
        raise HammerError(f"unknown LoRA key(s): {', '.join(bad)}", file=source, field="lora")
    config = TrainConfig(**{**data, "lora": LoraSettings(**lora)})
    validate(config, source)
    return config


def validate(config: TrainConfig, source: str = "recipe") -> None:
    """Reject values that would fail late (or silently) inside the trainer."""
    checks = [
        (config.finetune in ("lora", "full"), "finetune", "must be 'lora' or 'full'"),
        (config.dtype in ("auto", "bf16", "fp16", "fp32"), "dtype", "must be auto, bf16, fp16 or fp32"),
        (config.batching in ("grouped", "packed"), "batching", "must be 'grouped' or 'packed'"),
        (0.0 <= config.mask_ratio <= 1.0, "mask_ratio", "must be in [0, 1]"),
        (config.masking in MASKINGS, "masking", f"must be one of {', '.join(MASKINGS)}"),
        (config.template in TEMPLATES, "template", f"must be one of {', '.join(TEMPLATES)}"),
        (config.add_irrelevance >= 0, "add_irrelevance", "must be >= 0"),
        (config.compose >= 0, "compose", "must be >= 0"),
        (0 <= config.compose_variants <= 1, "compose_variants", "must be in [0, 1]"),
        (config.no_call_share is None or 0 <= config.no_call_share < 1, "no_call_share", "must be in [0, 1)"),
        (config.epochs >= 1, "epochs", "must be >= 1"),
        (config.cutoff >= 16, "cutoff", "must be >= 16"),
        (
            config.shorten_to is None or 16 <= config.shorten_to <= config.cutoff,
            "shorten_to",
            "must be between 16 and the cut-off",
        ),
        (config.batch_size >= 1 and config.grad_accum >= 1, "batch_size", "batch and accumulation >= 1"),
        (config.lora.r >= 1, "lora.r", "must be >= 1"),
        (config.lora.top_layers is None or config.lora.top_layers >= 1, "lora.top_layers", "must be >= 1"),
        (config.token_budget is None or config.token_budget > 0, "token_budget", "must be > 0"),
    ]
    for ok, name, message in checks:
        if not ok:
            raise HammerError(message, file=source, field=name)


def recipe_path(name_or_path: str) -> Path:
    """A recipe file, given as a path or as the name of one in ``configs/``."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    named = CONFIGS_DIR / f"{name_or_path.removesuffix('.yaml')}.yaml"
    if named.is_file():
        return named
    raise HammerError(f"no such recipe file (nor a recipe of that name in {CONFIGS_DIR})", file=name_or_path)


def load_recipe(name_or_path: str | None, **overrides: Any) -> TrainConfig:
    """The recipe (paper defaults when ``None``) with the non-``None`` overrides applied."""
    if name_or_path is None:
        config, source = TrainConfig(), "defaults"
    else:
        path = recipe_path(name_or_path)
        source = str(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise HammerError(f"not valid YAML: {err}", file=source) from err
        if not isinstance(data, dict):
            raise HammerError("a recipe must be a mapping of keys to values", file=source)
        config = _from_dict(data, source)
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    validate(config, source)
    return config


def dump_recipe(config: TrainConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def read_saved(path: Path) -> TrainConfig:
    """A recipe written by :func:`dump_recipe` (a run's ``train_config.yaml``)."""
    return _from_dict(yaml.safe_load(path.read_text()) or {}, str(path))
