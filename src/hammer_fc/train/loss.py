"""Loss on the answer tokens, computing the output head only where there is an answer token.

The Hammer prompt is long and the answer short (on BFCL's live set ~3% of the tokens), yet a
causal LM computes vocabulary logits for every position: with SmolLM2's 49k-token head that is
about a quarter of a training step's FLOPs (forward and backward) and a ``tokens x vocab``
fp32 tensor, spent on positions whose loss is masked anyway. ``logits_to_keep`` (a boolean mask,
transformers' packed-training form) keeps only the positions that predict an answer token; the
loss equals the model's own answer-only loss (tests/test_train.py checks it).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from hammer_fc.train.data import IGNORE_INDEX


def next_token_targets(labels: torch.Tensor) -> torch.Tensor:
    """Position ``i``'s target is ``labels[i + 1]`` (the shift a causal LM loss applies)."""
    targets = torch.full_like(labels, IGNORE_INDEX)
    targets[:, :-1] = labels[:, 1:]
    return targets


def answer_only_loss(model: Any, inputs: dict[str, torch.Tensor], num_items: Any = None) -> torch.Tensor:
    """Summed cross-entropy over answer tokens divided by ``num_items`` (the Trainer's count of
    label tokens over the whole accumulated batch), else by this batch's count."""
    inputs = dict(inputs)
    targets = next_token_targets(inputs.pop("labels"))
    keep = targets != IGNORE_INDEX
    outputs = model(**inputs, logits_to_keep=keep, use_cache=False)
    logits = outputs.logits.reshape(-1, outputs.logits.shape[-1])
    loss = F.cross_entropy(logits.float(), targets[keep], reduction="sum")
    if num_items is None:
        return loss / keep.sum().clamp(min=1)
    if torch.is_tensor(num_items):
        num_items = num_items.to(loss.device)
    return loss / num_items
