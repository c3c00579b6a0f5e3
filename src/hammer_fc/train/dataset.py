"""A dataset whose every epoch is a fresh masked view of the same examples.

Index ``epoch * n + i`` is example ``i`` as seen in ``epoch``: masked with probability
``mask_ratio`` from its own seeded random stream (:func:`hammer_fc.augment.epochs.epoch_view`), so an
item is a pure function of its index. Nothing is copied N-fold (views are rendered when the
trainer asks for them), any process can render any item, and a resumed run sees exactly the
items and order an uninterrupted one would. :class:`EpochSampler` hands out epoch ``e``'s
indices in a seeded shuffled order once the trainer announces the epoch via ``set_epoch``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from torch.utils.data import Dataset, Sampler

from hammer_fc.augment.epochs import epoch_view, example_rng
from hammer_fc.schema import Example
from hammer_fc.train.data import Encoder, Item, render


class MaskedEpochDataset(Dataset):
    """One epoch's worth of items (``len`` = number of examples); index ``epoch * n + i`` gives
    example ``i``'s view in any later epoch, tokenized on demand to ``input_ids``/``labels``."""

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

    def __len__(self) -> int:
        return len(self.items)

    def view(self, index: int) -> tuple[Item, bool]:
        """The item at ``index`` (its epoch's view) and whether it is masked."""
        epoch, i = divmod(index, len(self.items))
        item = self.items[i]
        if not isinstance(item, Example):
            return item, False
        return epoch_view(item, example_rng(self.seed, epoch, i), self.mask_ratio, self.masking)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        item, masked = self.view(index)
        input_ids, labels = self.encode(*render(item, self.template))
        if len(input_ids) > self.cutoff and masked:
            self.fell_back += 1
            epoch, i = divmod(index, len(self.items))
            plain = epoch_view(self.items[i], example_rng(self.seed, epoch, i), 0.0, self.masking)[0]
            input_ids, labels = self.encode(*render(plain, self.template))
            masked = False
        self.masked += masked
        return {"input_ids": input_ids[: self.cutoff], "labels": labels[: self.cutoff]}


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
