"""Training data: read the sources, turn each example into tokens, keep what fits.

The answer is what the model learns; the prompt is context. Each sequence is the model's chat
template around the Hammer prompt (exactly what inference sends: :class:`Encoder`) followed by
the completion and the end-of-turn token, tokenized as two pieces so that the prompt/answer
boundary is exact and the prompt tokens can be labelled ``-100``.

An example over the shortening target (``shorten_to``, by default the cut-off) is shortened
rather than dropped: it keeps its gold tools and the distractors that fit
(:func:`hammer_fc.augment.shorten.shorten`); one whose gold tools alone are longer than the
target is shortened to fit the cut-off instead. Nothing is dropped silently:
every example that is left out is counted in :class:`DataStats` by reason (no gold answer, over
the cut-off even with its gold tools alone, outside the token budget), and the stats are
written next to the trained model.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hammer_fc.augment.compose import compose_count
from hammer_fc.augment.irrelevance import add_irrelevance, tool_pool
from hammer_fc.augment.shorten import SHORTENED_FROM, shorten, shorten_target
from hammer_fc.errors import HammerError
from hammer_fc.formats import describe_kinds, read_examples
from hammer_fc.prepare.records import Prepared, read_prepared
from hammer_fc.prompts import ChatFormat, get_template, wrap_prompt
from hammer_fc.schema import Example

IGNORE_INDEX = -100


Item = Example | Prepared


class Encoder:
    """Tokenizes (prompt, completion) pairs as the model will see them at inference.

    The prompt goes through :class:`hammer_fc.prompts.chat_format.ChatFormat` (the model's own
    chat template, the formatter every backend uses), so training and evaluation see the same text.
    """

    def __init__(self, tokenizer: Any, template: str = "hammer") -> None:
        self.tokenizer = tokenizer
        self.chat = ChatFormat.from_tokenizer(tokenizer)
        self.template = template
        end = get_template(template).end
        self.end = (tokenizer.eos_token or "") if end is None else end
        """What closes the answer, so that the model learns to stop (the authors': ``<|im_end|>``)."""

    def __call__(self, prompt: str, completion: str) -> tuple[list[int], list[int]]:
        """``(input_ids, labels)`` with the prompt tokens labelled :data:`IGNORE_INDEX`."""
        text = wrap_prompt(prompt, self.template, self.chat)
        head = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        tail = self.tokenizer(completion + self.end, add_special_tokens=False)["input_ids"]
        return head + tail, [IGNORE_INDEX] * len(head) + tail


def render(item: Item, template: str = "hammer") -> tuple[str, str]:
    if isinstance(item, Prepared):
        return item.prompt, item.completion
    chosen = get_template(template)
    return chosen.prompt(item), chosen.completion(item.calls or [])


@dataclass
class DataStats:
    """What went into a run, and what was left out and why."""

    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per source: examples read, records skipped as invalid, those by kind and the first one's error."""
    no_gold_answer: int = 0
    irrelevance_added: int = 0
    shortened: int = 0
    """Examples over the cut-off that fit once shortened to their gold tools and a few others."""
    shortened_tools: dict[int, int] = field(default_factory=dict)
    """Shortened examples by the number of tools they kept."""
    shortened_from_tools: dict[int, int] = field(default_factory=dict)
    """Shortened examples by the number of tools they had."""
    over_shorten_to: int = 0
    """Examples trained on although longer than the shortening target (their gold tools alone are)."""
    over_cutoff: int = 0
    """Examples over the cut-off even with their gold tools alone: skipped."""
    longest_skipped: int = 0
    over_no_call_share: int = 0
    outside_token_budget: int = 0
    composed_per_epoch: int = 0
    """Multi-call examples composed afresh in every epoch (not in the token counts below)."""
    examples: int = 0
    no_call_examples: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    answer_tokens: int = 0
    """Token counts of one epoch's plain (unmasked) views; masked views differ a little."""

    @property
    def tokens_per_epoch(self) -> int:
        return self.prompt_tokens + self.answer_tokens

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_epoch": self.tokens_per_epoch}

    def skipped_invalid(self) -> list[str]:
        """One line per source with invalid records (all skipped): how many, by kind, the first."""
        return [
            f"skipped {v['skipped_invalid']} invalid record(s) of {src} "
            f"({describe_kinds(Counter(v['skipped_kinds']))}); the first: {v['first_skipped']}"
            for src, v in self.sources.items()
            if v["skipped_invalid"]
        ]

    def shortened_summary(self) -> str:
        """The shortened examples' tool counts before and after, for the model card."""
        if not self.shortened:
            return "none shortened"

        def spread(histogram: dict[int, int]) -> str:
            values = sorted(k for k, n in histogram.items() for _ in range(n))
            return f"min {values[0]}, median {statistics.median(values):g}, max {values[-1]}"

        return (
            f"{self.shortened} shortened to fit: tools kept {spread(self.shortened_tools)} "
            f"(they had {spread(self.shortened_from_tools)})"
        )


def _shortened(
    item: Example, encode: Encoder, template: str, cutoff: int, seed: int, index: int, stats: DataStats
) -> Example | None:
    """``item`` (over ``cutoff``) shortened to fit, counted in ``stats``; ``None`` if it cannot be."""
    rng = random.Random(f"{seed}:shorten:{index}")
    short = shorten(item, lambda e: len(encode(*render(e, template))[0]), cutoff, rng)
    if short is not None:
        stats.shortened += 1
        kept, had = len(short.tools), short.meta[SHORTENED_FROM]
        stats.shortened_tools[kept] = stats.shortened_tools.get(kept, 0) + 1
        stats.shortened_from_tools[had] = stats.shortened_from_tools.get(had, 0) + 1
    return short


def read_sources(sources: list[str], stats: DataStats) -> list[Item]:
    """Every example of every source (a file in any readable format, a prepared JSONL, or a BFCL
    spec such as ``bfcl:live``); invalid records are skipped and counted, never silently."""
    items: list[Item] = []
    for source in sources:
        prepared = read_prepared(Path(source))
        if prepared is not None:
            items.extend(prepared)
            stats.sources[source] = {"read": len(prepared), "skipped_invalid": 0, "skipped_kinds": {}}
            continue
        if not source.startswith(("bfcl:", "hf:")) and not Path(source).exists():
            raise HammerError("no such data file", file=source, field="data")
        result = read_examples(source, skip_invalid=True, check=True)
        items.extend(result.examples)
        stats.sources[source] = {
            "read": len(result.examples),
            "skipped_invalid": result.skipped,
            "skipped_kinds": dict(result.skipped_kinds),
        }
        if result.errors:
            stats.sources[source]["first_skipped"] = str(result.errors[0])
    return items


def _is_no_call(item: Item) -> bool:
    return isinstance(item, Example) and item.calls == []


def _cap_no_call(kept: list[Any], share: float, stats: DataStats, rng: random.Random) -> list[Any]:
    """At most ``share`` of ``kept`` answers ``[]``: a seeded random subset of them stays."""
    no_call = [i for i, entry in enumerate(kept) if _is_no_call(entry[0])]
    others = len(kept) - len(no_call)
    allowed = int(share * others / (1 - share))
    if len(no_call) <= allowed:
        return kept
    dropped = set(rng.sample(no_call, len(no_call) - allowed))
    stats.over_no_call_share = len(dropped)
    return [entry for i, entry in enumerate(kept) if i not in dropped]


def _category(item: Item) -> str:
    if isinstance(item, Prepared):
        return "prepared"
    return str(item.meta.get("category") or item.meta.get("bench") or item.meta.get("source") or "other")


def load_training_data(
    sources: list[str],
    tokenizer: Any,
    *,
    cutoff: int,
    add_irrelevance_share: float,
    no_call_share: float | None = None,
    token_budget: int | None,
    epochs: int,
    seed: int,
    template: str = "hammer",
    compose: float = 0.0,
    shorten_to: int | None = None,
) -> tuple[list[Item], list[int], DataStats]:
    """The examples a run trains on, their plain views' token lengths, and the stats of how they
    were chosen.

    Examples without a gold answer (BFCL ``live_relevance``: any call is right) cannot be trained
    on; examples over ``shorten_to`` tokens (default ``cutoff``) are shortened (gold tools and the
    distractors that fit), to fit ``cutoff`` where the gold tools alone are longer than
    ``shorten_to``, and skipped only when not even that fits; with a ``token_budget`` a seeded
    random subset is kept whose tokens over all ``epochs`` fit it. ``stats.composed_per_epoch``
    is what a ``compose`` share of the kept examples asks for (the dataset composes them).
    """
    stats = DataStats()
    items = read_sources(sources, stats)
    examples = [i for i in items if isinstance(i, Example)]
    stats.no_gold_answer = sum(1 for e in examples if e.calls is None)
    examples = [e for e in examples if e.calls is not None]
    prepared = [i for i in items if isinstance(i, Prepared)]
    if add_irrelevance_share > 0 and examples:
        rng = random.Random(seed)
        grown = add_irrelevance(examples, add_irrelevance_share, rng, tool_pool(examples))
        stats.irrelevance_added = len(grown) - len(examples)
        examples = grown
    kept: list[tuple[Item, int, int]] = []
    encode = Encoder(tokenizer, template)
    target = shorten_target(cutoff, shorten_to)
    for index, item in enumerate([*examples, *prepared]):
        ids, labels = encode(*render(item, template))
        if len(ids) > target and isinstance(item, Example):
            for limit in dict.fromkeys((target, cutoff)):  # the target, then the cut-off itself
                if len(ids) <= limit:
                    break
                short = _shortened(item, encode, template, limit, seed, index, stats)
                if short is not None:
                    item = short
                    ids, labels = encode(*render(item, template))
                    break
        if len(ids) > cutoff:
            stats.over_cutoff += 1
            stats.longest_skipped = max(stats.longest_skipped, len(ids))
            continue
        answer = sum(1 for label in labels if label != IGNORE_INDEX)
        kept.append((item, len(ids) - answer, answer))
    if no_call_share is not None:
        kept = _cap_no_call(kept, no_call_share, stats, random.Random(seed))
    if token_budget is not None:
        order = list(range(len(kept)))
        random.Random(seed).shuffle(order)
        chosen, spent = [], 0
        for index in order:
            cost = epochs * (kept[index][1] + kept[index][2])
            if spent + cost <= token_budget:
                chosen.append(index)
                spent += cost
        stats.outside_token_budget = len(kept) - len(chosen)
        kept = [kept[i] for i in sorted(chosen)]
    if not kept:
        raise HammerError(
            f"no usable training example in {', '.join(sources)} "
            f"({sum(v['skipped_invalid'] for v in stats.sources.values())} invalid, "
            f"{stats.no_gold_answer} without a gold answer, {stats.over_cutoff} over the cut-off of "
            f"{cutoff} tokens even with their gold tools alone, "
            f"{stats.over_no_call_share} over the no-call share, "
            f"{stats.outside_token_budget} outside the token budget)",
            field="data",
        )
    stats.composed_per_epoch = compose_count(sum(isinstance(item, Example) for item, _, _ in kept), compose)
    stats.examples = len(kept)
    stats.no_call_examples = sum(1 for item, _, _ in kept if _is_no_call(item))
    stats.categories = dict(Counter(_category(item) for item, _, _ in kept))
    stats.over_shorten_to = sum(1 for _, p, a in kept if p + a > target)
    stats.prompt_tokens = sum(p for _, p, _ in kept)
    stats.answer_tokens = sum(a for _, _, a in kept)
    return [item for item, _, _ in kept], [p + a for _, p, a in kept], stats
