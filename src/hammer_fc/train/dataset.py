"""A dataset whose every epoch is a fresh masked view of the same examples.

Index ``epoch * n + i`` is example ``i`` as seen in ``epoch``: masked with probability
``mask_ratio`` from its own seeded random stream (:func:`hammer_fc.augment.epochs.epoch_view`), so an
item is a pure function of its index. Nothing is copied N-fold (views are rendered when the
trainer asks for them), any process can render any item, and a resumed run sees exactly the
items and order an uninterrupted one would. :class:`EpochSampler` hands out epoch ``e``'s
indices in a seeded shuffled order once the trainer announces the epoch via ``set_epoch``.

With ``composed`` > 0 every epoch also holds that many multi-call examples composed from the
single-call ones (:mod:`hammer_fc.augment.compose`), at indices ``n .. n + composed - 1`` of the
epoch, drawn afresh per epoch and masked like the others (masking after composition); a
``variant_share`` of them are value variants (:mod:`hammer_fc.augment.variants`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from torch.utils.data import Dataset, Sampler

from hammer_fc.augment.compose import Composer, compose_rng
from hammer_fc.augment.epochs import epoch_view, example_rng
from hammer_fc.augment.shorten import shorten_target
from hammer_fc.schema import Example, Message
from hammer_fc.train.data import Encoder, Item, render


class MaskedEpochDataset(Dataset):
    """One epoch's worth of items (``len`` = examples + composed ones); index ``epoch * len + i``
    gives item ``i``'s view in any later epoch, tokenized on demand to ``input_ids``/``labels``.
    ``lengths`` (the items' token counts) keep composed examples within ``compose_to`` (default
    ``cutoff``: a recipe that shortens its inputs to less composes within the same length)."""

    def __init__(
        self,
        items: list[Item],
        tokenizer: Any,
        *,
        mask_ratio: float,
        seed: int,
        cutoff: int,
        masking: str = "hammer",
        template: str = "hammer",
        composed: int = 0,
        variant_share: float = 0.0,
        lengths: list[int] | None = None,
        compose_to: int | None = None,
    ) -> None:
        self.items = items
        self.encode = Encoder(tokenizer, template)
        self.template = template
        self.masking = masking
        self.mask_ratio = mask_ratio
        self.seed = seed
        self.cutoff = cutoff
        self.masked = 0
        self.fell_back = 0
        """Masked views over the cut-off (random names can tokenize longer than real ones),
        replaced by the same example's plain view."""
        self.composed = composed
        self.composer: Composer | None = None
        self.item_lengths = lengths
        self.composed_over_cutoff = 0
        """Composed views over the cut-off after all (the length estimate is not exact),
        replaced by their first source's plain view."""
        self.picked = [i for i, item in enumerate(items) if isinstance(item, Example)]
        if composed:
            self.composer = Composer(
                [items[i] for i in self.picked],  # type: ignore[misc]
                lengths=None if lengths is None else [lengths[i] for i in self.picked],
                max_length=shorten_target(cutoff, compose_to),
                shared=self._shared_tokens(),
                variant_share=variant_share,
            )

    def _shared_tokens(self) -> int:
        """Tokens every example has once whatever its tools and query (instruction, chat
        template, answer fence), less a margin for the words that join composed queries."""
        empty = Example(messages=[Message("user", "")], tools=[], calls=[])
        return max(0, len(self.encode(*render(empty, self.template))[0]) - JOIN_MARGIN)

    def __len__(self) -> int:
        return len(self.items) + self.composed

    def lengths(self) -> list[int] | None:
        """Token counts per index of an epoch, for length-grouped batches: a composed example
        counts the estimated length of its epoch-0 draw."""
        if self.item_lengths is None or self.composer is None:
            return self.item_lengths
        return self.item_lengths + [
            self.composer.length(self.composer.choose(compose_rng(self.seed, 0, j)))
            for j in range(self.composed)
        ]

    def unmasked(self, epoch: int, i: int) -> Item:
        """Item ``i`` of ``epoch`` before masking: an input, or that epoch's composed example."""
        if i < len(self.items):
            return self.items[i]
        assert self.composer is not None
        return self.composer.at(self.seed, epoch, i - len(self.items))

    def view(self, index: int) -> tuple[Item, bool]:
        """The item at ``index`` (its epoch's view) and whether it is masked."""
        epoch, i = divmod(index, len(self))
        item = self.unmasked(epoch, i)
        if not isinstance(item, Example):
            return item, False
        return epoch_view(item, example_rng(self.seed, epoch, i), self.mask_ratio, self.masking)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        epoch, i = divmod(index, len(self))
        item, masked = self.view(index)
        input_ids, labels = self.encode(*render(item, self.template))
        if len(input_ids) > self.cutoff and masked:
            self.fell_back += 1
            unmasked = self.unmasked(epoch, i)
            plain = epoch_view(unmasked, example_rng(self.seed, epoch, i), 0.0, self.masking)[0]  # type: ignore[arg-type]
            input_ids, labels = self.encode(*render(plain, self.template))
            masked = False
        if len(input_ids) > self.cutoff and i >= len(self.items):
            self.composed_over_cutoff += 1
            first = self.composer.choose(compose_rng(self.seed, epoch, i - len(self.items)))[0]  # type: ignore[union-attr]
            source = self.items[self.picked[first]]
            plain = epoch_view(source, example_rng(self.seed, epoch, i), 0.0, self.masking)[0]  # type: ignore[arg-type]
            input_ids, labels = self.encode(*render(plain, self.template))
            masked = False
        self.masked += masked
        return {"input_ids": input_ids[: self.cutoff], "labels": labels[: self.cutoff]}


JOIN_MARGIN = 48
"""Tokens allowed for the words joining a composed example's queries (measured: at most 21 more
than the estimate over 100 BFCL live compositions)."""

GROUP_WINDOW = 32
"""Batches per length-sorted window: wide enough to find similar lengths, narrow enough to keep
the order random."""


class EpochSampler(Sampler[int]):
    """Epoch ``e``'s item indices (``e * n .. e * n + n - 1``), shuffled by ``(seed, e)``.

    With ``lengths`` and ``batch_size`` the order is length-grouped: the shuffled indices are cut
    into windows of :data:`GROUP_WINDOW` batches, each window sorted by length and cut into
    batches, and the batches shuffled, so a batch holds examples of similar length (little
    padding) while the order stays random from batch to batch.
    """

    def __init__(
        self,
        n: int,
        *,
        seed: int,
        lengths: list[int] | None = None,
        batch_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        self.n = n
        self.seed = seed
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        order = list(range(self.n))
        rng = random.Random(f"{self.seed}:order:{self.epoch}")
        if self.shuffle:
            rng.shuffle(order)
        if self.lengths is not None and self.batch_size > 1:
            order = self._grouped(order, rng)
        base = self.epoch * self.n
        return iter([base + i for i in order])

    def _grouped(self, order: list[int], rng: random.Random) -> list[int]:
        assert self.lengths is not None
        size, window = self.batch_size, self.batch_size * GROUP_WINDOW
        batches = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window], key=lambda i: self.lengths[i])  # type: ignore[index]
            batches.extend(chunk[k : k + size] for k in range(0, len(chunk), size))
        if self.shuffle:
            rng.shuffle(batches)
        return [i for batch in batches for i in batch]
