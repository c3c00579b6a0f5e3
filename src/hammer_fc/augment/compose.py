"""Composition: multi-call examples built from single-call ones, drawn afresh every epoch.

BFCL live has about 40 examples with several calls while the non-live evaluation has 400
``parallel`` / ``parallel_multiple`` cases, so a model trained on live alone rarely sees an
answer with more than one call. A composed example joins the queries of two or three
single-call examples in natural wording, offers the union of their tools (deduplicated,
shuffled) and answers with their calls in the order of the queries. When the data holds another
example of the same function with other arguments it is chosen as a partner with probability
:data:`SAME_FUNCTION_SHARE`: two calls of one function, BFCL's ``parallel`` shape. Such a
request is then, with probability :data:`ONE_REQUEST_SHARE`, worded as BFCL's parallel cases
are: one request and the other calls' differing values ("... in Paris? Do the same for Oslo and
Lima."), not several requests one after the other; a model that has only seen the latter
answers "the same for A and B" with one call (v4 did, on 91 of 100 parallel cases).

With ``variant_share`` > 0 a composed example is, with that probability, a value variant of
one source instead (:mod:`hammer_fc.augment.variants`): one request saying several values side
by side ("in Oslo and Lima"), answered by one call per value.

Two tools with one name and different specs (BFCL live has 262 such names: users' functions
differ) are never shown together: a partner whose tools would collide is not chosen. With
``lengths`` and ``max_length`` (the trainer's token counts and cut-off) a partner is chosen only
while the sources' lengths, less ``shared`` tokens for every source after the first (what each
of them counts and a composed example has once: the instruction, the chat template), sum to at
most ``max_length``.

Composed example ``j`` of ``epoch`` is a pure function of ``(seed, epoch, j)`` and the sources,
like masking (:mod:`hammer_fc.augment.epochs`): any process can draw any of them, and every
epoch draws new ones. Masking applies afterwards, to the composed example as to any other:
:func:`iter_composed_epoch` gives the composed examples the indices after the inputs'.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence

import orjson

from hammer_fc.augment.epochs import DEFAULT_MASK_RATIO, epoch_view, example_rng, iter_epoch
from hammer_fc.augment.masking import dedup_tools
from hammer_fc.augment.variants import MAX_EXTRA, Variants
from hammer_fc.errors import HammerError
from hammer_fc.schema import Example, Message, Tool, ToolCall

MAX_CALLS = 3
"""Most calls in one composed example (BFCL's parallel cases mostly have 2-4)."""
SAME_FUNCTION_SHARE = 0.5
"""Probability of looking first for a partner that calls the anchor's function."""
RANDOM_TRIES = 16
"""Random partners tried before scanning every source in a seeded order."""
ONE_REQUEST_SHARE = 0.8
"""Probability that calls of one function with the same parameters are asked for as one request."""
COMPOSED = "composed_from"
"""``meta`` key of a composed example: the ids of its sources, in answer order."""
WORDING = "wording"
"""``meta`` key of a composed example: ``joined`` (every query verbatim) or ``one-request``."""

_ENDINGS = (".", "?", "!", ":", ";", "…")


def _sentence(query: str) -> str:
    """``query`` stripped and ending like a sentence, so that the next one can follow it."""
    text = query.strip()
    return text if text.endswith(_ENDINGS) else text + "."


_ORDINALS = ("First", "Second", "Third", "Fourth", "Fifth")


def _ordinal_lines(queries: list[str], rng: random.Random) -> str:
    if len(queries) > len(_ORDINALS):
        return _numbered(queries, rng)
    return "\n".join(f"{word}: {q}" for word, q in zip(_ORDINALS, queries, strict=False))


def _numbered(queries: list[str], rng: random.Random) -> str:
    head = rng.choice(("I have {n} requests.", "Please do these {n} things.", "{n} tasks for you:"))
    return head.format(n=len(queries)) + "\n" + "\n".join(f"{k}. {q}" for k, q in enumerate(queries, 1))


def _connected(queries: list[str], rng: random.Random) -> str:
    word = rng.choice(("Also:", "And also:", "In addition:", "Then:", "After that:", "Next:"))
    sep = rng.choice((" ", "\n"))
    return f"{sep}{word} ".join(queries)


_JOINS = (_connected, _connected, _numbered, _ordinal_lines)


def join_queries(queries: list[str], rng: random.Random) -> str:
    """The queries as one request, in their order, in one of a few natural wordings. Each query
    is kept verbatim (only stripped and closed with a full stop when it has no final mark), so
    the values the answer uses still appear in it."""
    return rng.choice(_JOINS)([_sentence(q) for q in queries], rng)


def _spoken(value: object) -> str | None:
    """A value as a request would say it; ``None`` for one it would not say in words (a
    boolean, a mapping, an empty or nested list)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and value and all(not isinstance(v, list | dict) for v in value):
        items = [text for text in map(_spoken, value) if text is not None]
        return ", ".join(items) if len(items) == len(value) else None
    return None


def _differences(first: ToolCall, other: ToolCall) -> dict[str, str] | None:
    """What ``other`` asks for beyond ``first``, in words, by parameter: its values that differ
    or are new; ``None`` when "the same" would not say it (``other`` leaves out a parameter
    ``first`` sets, or a value is not said in words)."""
    if not set(first.arguments) <= set(other.arguments):
        return None
    changed = {k: v for k, v in other.arguments.items() if first.arguments.get(k, ...) != v}
    spoken = {k: _spoken(v) for k, v in changed.items()}
    said = {k: text for k, text in spoken.items() if text is not None}
    return said if said and len(said) == len(spoken) else None


def one_request(query: str, calls: list[ToolCall], rng: random.Random) -> str | None:
    """The request for ``calls`` (one function, several values) as BFCL's parallel cases word
    it: ``query`` (the first call's, verbatim), then the other calls' differing values, each
    named by its parameter where a call changes several; ``None`` where the calls differ in
    more than values a request says."""
    groups = [_differences(calls[0], call) for call in calls[1:]]
    said = [group for group in groups if group is not None]
    if not said or len(said) < len(groups):
        return None
    if all(len(group) == 1 for group in said):
        rest = [next(iter(group.values())) for group in said]
        values = rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " and " + rest[-1]
    else:  # several parameters: name them, one call at a time
        values = "; then for ".join(
            " and ".join(f"{k.replace('_', ' ')} {v}" for k, v in group.items()) for group in said
        )
    tail = rng.choice(
        (
            "Do the same for {v}.",
            "Then do the same for {v}.",
            "Also for {v}.",
            "And the same for {v}, please.",
            "Repeat that for {v}.",
            "I need the same for {v} too.",
        )
    )
    return _sentence(query) + rng.choice((" ", "\n")) + tail.format(v=values)


def composable(example: Example) -> bool:
    """A source for composition: one user turn asking for exactly one call of an offered tool."""
    return (
        example.calls is not None
        and len(example.calls) == 1
        and len(example.messages) == 1
        and example.messages[0].role == "user"
        and example.tool(example.calls[0].name) is not None
    )


def compose_count(n_inputs: int, share: float) -> int:
    """How many composed examples ``share`` asks for per epoch: a share of the inputs, rounded."""
    if share < 0:
        raise HammerError(f"the composition share must be >= 0, got {share}", field="compose")
    return round(n_inputs * share)


def check_variant_share(share: float) -> None:
    """Reject a share of value variants outside [0, 1] (before anything is read)."""
    if not 0 <= share <= 1:
        raise HammerError(f"the variant share must be in [0, 1], got {share}", field="compose_variants")


class Composer:
    """Draws composed examples from the composable ones among ``examples``."""

    def __init__(
        self,
        examples: Sequence[Example],
        *,
        lengths: Sequence[int] | None = None,
        max_length: int | None = None,
        shared: int = 0,
        max_calls: int = MAX_CALLS,
        variant_share: float = 0.0,
    ) -> None:
        check_variant_share(variant_share)
        self.examples = examples
        self.lengths = lengths
        self.max_length = max_length
        self.shared = shared
        self.max_calls = max_calls
        self.sources = [
            i for i, e in enumerate(examples) if composable(e) and self.length([i]) <= self._limit
        ]
        self.tools = {i: {t.name: t for t in reversed(examples[i].tools)} for i in self.sources}
        """Per source, its tools by name (the first of a repeated name wins, as in every view)."""
        self.by_function: dict[str, list[int]] = defaultdict(list)
        for i in self.sources:
            self.by_function[examples[i].calls[0].name].append(i)  # type: ignore[index]
        self.variant_share = variant_share
        self.variants = Variants([examples[i] for i in self.sources]) if variant_share else None
        self.variable = (
            [i for i in self.sources if self._room_for_variant(i) and self.variants.varying(examples[i])]
            if self.variants
            else []
        )
        """The sources a value variant can be made of."""

    def _room_for_variant(self, i: int) -> bool:
        """Whether source ``i`` stays within the length limit as a variant: a generous estimate
        of :data:`~hammer_fc.augment.variants.MAX_EXTRA` more calls (two characters of JSON per
        token) and the values said."""
        if self.lengths is None:
            return True
        call = self.examples[i].calls[0]  # type: ignore[index]
        extra = MAX_EXTRA * (len(orjson.dumps(call.arguments)) // 2 + 16)
        return self.lengths[i] + extra <= self._limit

    @property
    def _limit(self) -> float:
        return float("inf") if self.max_length is None else self.max_length

    def length(self, chosen: list[int]) -> int:
        """The estimated length of the composition of ``chosen`` (0 without ``lengths``)."""
        if self.lengths is None:
            return 0
        return sum(self.lengths[i] for i in chosen) - self.shared * (len(chosen) - 1)

    def _fits_with(self, chosen: list[int], candidate: int) -> bool:
        """Whether ``candidate`` can join ``chosen``: another source, within the length limit,
        no tool name shared with a different spec, and not the same call once more."""
        if candidate in chosen or self.length([*chosen, candidate]) > self._limit:
            return False
        mine = self.tools[candidate]
        call = self.examples[candidate].calls[0]  # type: ignore[index]
        for other in chosen:
            theirs = self.tools[other]
            if any(name in theirs and theirs[name] != tool for name, tool in mine.items()):
                return False
            if self.examples[other].calls[0] == call:  # type: ignore[index]
                return False
        return True

    def _partner(self, chosen: list[int], rng: random.Random) -> int | None:
        if rng.random() < SAME_FUNCTION_SHARE:
            name = self.examples[chosen[0]].calls[0].name  # type: ignore[index]
            same = [i for i in self.by_function[name] if self._fits_with(chosen, i)]
            if same:
                return rng.choice(same)
        for _ in range(RANDOM_TRIES):
            candidate = rng.choice(self.sources)
            if self._fits_with(chosen, candidate):
                return candidate
        return None

    def _scan(self, rng: random.Random) -> list[int]:
        """Any composable pair, in a seeded order: for data where random tries rarely find one."""
        order = rng.sample(self.sources, len(self.sources))
        for i in order:
            for j in order:
                if self._fits_with([i], j):
                    return [i, j]
        raise HammerError(
            f"cannot compose multi-call examples: among {len(self.examples)} examples no two "
            "single-call ones (one user turn each) can be joined without a tool-name clash"
            + (f" within {self.max_length} tokens" if self.max_length is not None else ""),
            field="compose",
        )

    def choose(self, rng: random.Random) -> list[int]:
        """The sources (indices into ``examples``, in answer order) of one composed example; one
        source for a value variant."""
        if self.variable and rng.random() < self.variant_share:
            return [rng.choice(self.variable)]
        if len(self.sources) < 2:
            self._scan(rng)  # raises
        chosen = [rng.choice(self.sources)]
        wanted = rng.randint(2, self.max_calls)
        while len(chosen) < wanted:
            partner = self._partner(chosen, rng)
            if partner is None:
                break
            chosen.append(partner)
        return chosen if len(chosen) >= 2 else self._scan(rng)

    def draw(self, rng: random.Random) -> Example:
        """One composed example from ``rng``'s draws."""
        return self.build(self.choose(rng), rng)

    def build(self, chosen: list[int], rng: random.Random) -> Example:
        """The composed example of the sources ``chosen`` (indices into ``examples``), in order;
        of one source, its value variant (or, in the rare case that its draw has no other value to
        give, a composition found by a scan)."""
        if len(chosen) == 1:
            assert self.variants is not None
            variant = self.variants.build(self.examples[chosen[0]], rng)
            return variant if variant is not None else self.build(self._scan(rng), rng)
        sources = [self.examples[i] for i in chosen]
        merged: dict[str, Tool] = {}
        for i in chosen:
            for tool in dedup_tools(self.examples[i].tools):
                merged.setdefault(tool.name, tool)
        tools = list(merged.values())
        rng.shuffle(tools)
        ids = [source.id for source in sources]
        first = sources[0].meta
        meta = {key: first[key] for key in ("source", "language") if key in first}
        calls = [source.calls[0] for source in sources]  # type: ignore[index]
        request = None
        if len({c.name for c in calls}) == 1 and rng.random() < ONE_REQUEST_SHARE:
            request = one_request(sources[0].query, calls, rng)
        return Example(
            messages=[Message("user", request or join_queries([s.query for s in sources], rng))],
            tools=tools,
            calls=calls,
            id="composed:" + "+".join(ids),
            meta={
                **meta,
                "category": "composed",
                COMPOSED: ids,
                WORDING: "joined" if request is None else "one-request",
            },
        )

    def at(self, seed: int, epoch: int, index: int) -> Example:
        """Composed example ``index`` of ``epoch``: the same wherever and whenever it is drawn."""
        return self.draw(compose_rng(seed, epoch, index))


def compose_rng(seed: int, epoch: int, index: int) -> random.Random:
    """The stream composed example ``index`` of ``epoch`` is drawn from (apart from masking's)."""
    return random.Random(f"{seed}:compose:{epoch}:{index}")


def iter_composed_epoch(
    examples: Sequence[Example],
    epoch: int,
    *,
    count: int,
    mask_ratio: float = DEFAULT_MASK_RATIO,
    seed: int = 0,
    masking: str = "hammer",
    composer: Composer | None = None,
) -> Iterator[tuple[Example, bool]]:
    """:func:`~hammer_fc.augment.epochs.iter_epoch` over ``examples``, then the epoch's ``count``
    composed examples (drawn by ``composer``, default: from ``examples``), masked as examples
    ``len(examples) + j`` of the epoch (masking applies after composition)."""
    yield from iter_epoch(examples, epoch, mask_ratio=mask_ratio, seed=seed, masking=masking)
    if count == 0:
        return
    composer = composer or Composer(examples)
    n = len(examples)
    for j in range(count):
        yield epoch_view(composer.at(seed, epoch, j), example_rng(seed, epoch, n + j), mask_ratio, masking)
