"""Epoch views: each example masked or left plain afresh in every epoch, reproducibly.

The *masking ratio* is the share of examples masked (the paper's ablation defines it so: 0.33
masks a third of the training instances and leaves the rest untouched; the paper's headline
setting is 0.33). The authors' released data script instead masks an example when a uniform draw
exceeds 1/3, i.e. about 0.67 of them: pass ``mask_ratio=0.67`` to reproduce it. A plain example
still has its tools deduplicated and shuffled (method.md, steps 1 and 3).

Whether and how an example is masked is drawn from its own :class:`ExampleDraw`, keyed by
``(seed, epoch, index)``: the result does not depend on how many processes draw it or in which
order, and a trainer can re-draw any epoch of any shard on its own, with no N-fold copy on disk.

Why a counter-based key rather than one ``random.Random`` per example: seeding a Mersenne
Twister costs 4-6 us (it initialises 624 words whatever the seed), more than rendering a plain
line of ``hammer data prepare``. The key (SplitMix64, a bijective 64-bit mix, so distinct
indices get distinct keys) costs a fraction of that and gives the two draws every example needs
(masked or not, the order of the tools); only a masked view, which draws many names, seeds a
``random.Random`` from it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from hammer_fc.augment.masking import TABLED, dedup_tools, mask_example, permutation
from hammer_fc.augment.released import RELEASED_MASK_RATIO, released_view
from hammer_fc.errors import HammerError
from hammer_fc.schema import Example

DEFAULT_MASK_RATIO = 0.33
MASKINGS = ("hammer", "released")
"""``hammer``: our masking (the default); ``released``: the authors' released script's
(:mod:`hammer_fc.augment.released`)."""


def default_mask_ratio(masking: str) -> float:
    """The ratio a masking means when none is given: the paper's 0.33, the released script's 2/3."""
    check_masking(masking)
    return RELEASED_MASK_RATIO if masking == "released" else DEFAULT_MASK_RATIO


def check_masking(masking: str) -> None:
    if masking not in MASKINGS:
        raise HammerError(f"unknown masking {masking!r} (choose from {', '.join(MASKINGS)})", field="masking")


_MASK64 = 2**64 - 1
_LOW32 = 2**32 - 1


def mix64(x: int) -> int:
    """SplitMix64's finaliser: a bijection of 64-bit integers whose outputs look independent."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def epoch_base(seed: int, epoch: int) -> int:
    """What every key of ``epoch`` starts from (a writer computes it once per epoch)."""
    return mix64(mix64(seed & _MASK64) ^ (epoch & _MASK64))


def line_key(base: int, index: int) -> int:
    """The key of example ``index`` in the epoch of ``base``: distinct for distinct indices."""
    return mix64(base ^ (index & _MASK64))


def is_masked(key: int, mask_ratio: float) -> bool:
    """Whether the example of ``key`` is masked: a uniform draw from the key's high 32 bits."""
    return (key >> 32) * 2.0**-32 < mask_ratio


def plain_order(key: int, n: int) -> list[int]:
    """The shuffled order of ``n`` tools of a plain view, from the key's low 32 bits (the masked
    decision uses the high ones); longer lists than the permutation table holds, rare, are
    shuffled by a ``random.Random`` seeded with the key."""
    if n <= TABLED:
        return permutation(n, key & _LOW32)
    order = list(range(n))
    random.Random(key).shuffle(order)
    return order


class ExampleDraw:
    """Every random choice of one example in one epoch, from its 64-bit ``key``."""

    __slots__ = ("key",)

    def __init__(self, key: int) -> None:
        self.key = key

    def masked(self, mask_ratio: float) -> bool:
        return is_masked(self.key, mask_ratio)

    def order(self, n: int) -> list[int]:
        return plain_order(self.key, n)

    def rng(self) -> random.Random:
        """The stream a masked view draws its names, values and order from."""
        return random.Random(self.key)


def example_rng(seed: int, epoch: int, index: int) -> ExampleDraw:
    """The draws of example ``index`` in ``epoch``: the same wherever they are made."""
    return ExampleDraw(line_key(epoch_base(seed, epoch), index))


def epoch_view(
    example: Example, draw: ExampleDraw, mask_ratio: float, masking: str = "hammer"
) -> tuple[Example, bool]:
    """One epoch's view of ``example``: masked with probability ``mask_ratio``, else only
    deduplicated and shuffled (the ``released`` masking: else left exactly as it is). Returns
    the view and whether it is masked."""
    if masking == "released":
        return released_view(example, draw.rng(), mask_ratio)
    if draw.masked(mask_ratio):
        return mask_example(example, draw.rng()).example, True
    tools = dedup_tools(example.tools)
    return Example(
        messages=example.messages,
        tools=[tools[i] for i in draw.order(len(tools))],
        calls=example.calls,
        id=example.id,
        meta=dict(example.meta),
    ), False


def iter_epoch(
    examples: Sequence[Example],
    epoch: int,
    *,
    mask_ratio: float = DEFAULT_MASK_RATIO,
    seed: int = 0,
    masking: str = "hammer",
) -> Iterator[tuple[Example, bool]]:
    """Every example's view in ``epoch`` (see :func:`epoch_view`), in input order: what a trainer
    calls once per epoch to re-draw the masking without an N-fold copy on disk."""
    base = epoch_base(seed, epoch)
    for index, example in enumerate(examples):
        yield epoch_view(example, ExampleDraw(line_key(base, index)), mask_ratio, masking)
