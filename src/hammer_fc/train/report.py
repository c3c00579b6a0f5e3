"""What a run leaves next to its weights: the loss curve and a model card.

The model card says what the model was trained on, from which base, with which recipe, and
what was left out, so that a reader of a result knows which data it may not be evaluated on
(for the embedded run: BFCL's live categories are training data, the non-live ones are not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hammer_fc.eval.paste import BEGIN as EVIDENCE_BEGIN
from hammer_fc.eval.paste import END as EVIDENCE_END
from hammer_fc.train.config import TrainConfig, dump_recipe
from hammer_fc.train.data import DataStats


def loss_points(log_history: list[dict[str, Any]]) -> list[tuple[int, float]]:
    return [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry and "step" in entry]


def plot_loss(log_history: list[dict[str, Any]], path: Path) -> None:
    """``loss.png``: training loss per logged step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = loss_points(log_history)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if points:
        steps, losses = zip(*points, strict=True)
        ax.plot(steps, losses, marker="." if len(points) < 50 else None)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (answer tokens)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def model_card(
    *,
    name: str,
    base: str,
    sources: list[str],
    config: TrainConfig,
    stats: DataStats,
    summary: dict[str, Any],
    command: str,
) -> str:
    """The ``README.md`` of a trained model or adapter."""
    kind = "A LoRA adapter" if config.finetune == "lora" else "A fully fine-tuned model"
    layers = "every decoder block"
    if config.finetune == "lora" and config.lora.top_layers:
        layers = f"the top {config.lora.top_layers} decoder blocks"
    tuning = f" LoRA rank {config.lora.r} on {layers};" if config.finetune == "lora" else ""
    rows = "\n".join(f"| `{src}` | {v['read']} | {_skipped(v)} |" for src, v in stats.sources.items())
    cats = "\n".join(f"| {cat} | {n} |" for cat, n in sorted(stats.categories.items()))
    target = config.shorten_target
    variants = (
        f", about {config.compose_variants:.0%} of them value variants (one request saying several values"
        " side by side, one call per value)"
        if config.compose and config.compose_variants
        else ""
    )
    shorten_target = f"the shortening target of {target}" if target < config.cutoff else "the cut-off"
    kept_long = ""
    if target < config.cutoff:
        kept_long = (
            f"; {stats.over_shorten_to} kept between {target} and {config.cutoff} tokens "
            "(their gold tools alone are longer than the target)"
        )
    bfcl_note = ""
    if any(src.startswith("bfcl:") for src in sources):
        bfcl_note = (
            "\n**BFCL split.** Training used BFCL's *live* categories (user-contributed functions; gold "
            "answers = the first acceptable value of each parameter, `live_irrelevance` as natural no-call "
            "examples, `live_relevance` left out for lack of a gold answer). BFCL's *non-live* categories "
            "were not trained on and are the held-out evaluation set; scores on live categories are not "
            "held out.\n"
        )
    return f"""---
base_model: {base}
library_name: {"peft" if config.finetune == "lora" else "transformers"}
tags: [function-calling, hammer, function-masking]
---
# {name}

{kind} for `{base}`, trained with hammer-fc (Hammer: function masking + irrelevance
augmentation).{tuning}
masking ratio {config.mask_ratio} (share of examples masked, re-drawn every epoch), {config.epochs}
epoch(s), cut-off {config.cutoff} tokens, loss on the answer tokens only.
{bfcl_note}
## Training data

| source | examples read | invalid records skipped |
|---|---|---|
{rows}

| category | examples trained on |
|---|---|
{cats}

Trained on {stats.examples} examples ({stats.no_call_examples} with the answer `[]`;
{stats.irrelevance_added} irrelevance examples added); left out: {stats.no_gold_answer} without a gold
answer, {stats.over_cutoff} over the cut-off even with their gold tools alone (longest
{stats.longest_skipped} tokens), {stats.over_no_call_share} no-call examples over the recipe's no-call
share, {stats.outside_token_budget} outside the token budget. One epoch's plain views:
{stats.tokens_per_epoch} tokens ({stats.answer_tokens} answer tokens).

Examples over {shorten_target} tokens keep their gold tools and the distractors that fit:
{stats.shortened_summary()}{kept_long}. Multi-call examples composed from single-call ones, drawn
afresh each epoch: {stats.composed_per_epoch} per epoch (not in the token counts above){variants}.

## Result

| | |
|---|---|
| optimizer steps | {summary.get("steps")} |
| tokens trained on | {summary.get("tokens")} |
| final training loss (last logged) | {summary.get("final_loss")} |
| mean training loss | {summary.get("train_loss")} |
| throughput | {summary.get("tokens_per_s")} tokens/s ({summary.get("device")}) |
| precision | {summary.get("dtype")}: {summary.get("dtype_reason")} |
| trainable / total parameters | {summary.get("trainable_params")} / {summary.get("total_params")} |

![loss](loss.png)

## Evaluation (held out: BFCL non-live)

{EVIDENCE_BEGIN}
Not measured yet: `hammer recipe evidence --adapter <this folder> --into <this folder>/README.md`
writes the tables here.
{EVIDENCE_END}

## Reproduce

```
{command}
```

## Recipe (`train_config.yaml`)

```yaml
{dump_recipe(config).rstrip()}
```
"""


def _skipped(source: dict) -> str:
    """``2 (2 unknown argument)``: a source's invalid records, by kind."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in source.get("skipped_kinds", {}).items())
    return f"{source['skipped_invalid']} ({kinds})" if kinds else str(source["skipped_invalid"])
