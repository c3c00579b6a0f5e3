"""Value variants: a parallel example made from one single-call example, worded in place.

BFCL's non-live ``parallel`` cases ask for one function several times in one sentence, the
values side by side: "the rise and fall of Christianity in Egypt and Turkey", "the factorials of
5, 8 and 12". BFCL live, the training side, has 16 such examples; composed pairs of real
examples (:mod:`hammer_fc.augment.compose`) are worded as two requests or as "... Do the same
for B", and a model trained on those still answered one call to 91 of 100 parallel cases.

A value variant takes a single-call example whose request says one of the call's values
verbatim, exactly once, gives that parameter one to three other values, and writes them beside
it where the request says it: "What is the weather in Oslo?" becomes "What is the weather in
Oslo and Lima?", answered by the call once per value, in the order said. Two parameters can
vary together ("... 85 and 60 kg, 1.8 and 1.65 m respectively"). The other values are the
parameter's other ``enum`` values where the tool lists them, else values the data's calls pass
to a parameter of that name (of that function first), else, for a number, nearby numbers: each
of them valid where the original was, so every call is answerable from the shown tool.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from hammer_fc.schema import Example, Message, Tool, ToolCall

EXTRA_COUNTS = (1, 1, 1, 2, 2, 3)
"""How many values are added, drawn uniformly from this: mostly one, as in BFCL (whose parallel
cases ask for 2-4 calls)."""
MAX_EXTRA = max(EXTRA_COUNTS)
"""Most values added beside the request's own."""
TWO_PARAMETERS_SHARE = 0.2
"""Probability of varying two parameters together ("... respectively") where two can vary."""
LONGEST_STRING = 40
"""Longest string value varied (also at most :data:`MOST_WORDS` words): a free-text value (a
query, a message) listed beside another reads as nonsense."""
MOST_WORDS = 6
VARIANT_OF = "variant_of"
"""``meta`` key of a variant: the id of the example it was made from."""

_ENDINGS = ".?!"


def _said(value: object) -> str | None:
    """How a request says ``value`` when it says it verbatim; ``None`` for a value that is not a
    short string or a number (a boolean, a list, a mapping)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        short = len(text) <= LONGEST_STRING and len(text.split()) <= MOST_WORDS
        return text if text and text == value and short else None
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return None


def _spans(query: str, text: str) -> list[tuple[int, int]]:
    """Where ``query`` says ``text`` as a whole word or number (not inside a longer one)."""
    pattern = r"(?<![\w.])" + re.escape(text) + r"(?![\w]|\.\d)"
    return [m.span() for m in re.finditer(pattern, query)]


def listed(texts: list[str], rng: random.Random) -> str:
    """``texts`` as a request lists them: "A and B", "A, B and C" (now and then "A, B, and C")."""
    if len(texts) == 2:
        return f"{texts[0]} and {texts[1]}"
    comma = "," if rng.random() < 0.3 else ""
    return ", ".join(texts[:-1]) + f"{comma} and {texts[-1]}"


class ValuePool:
    """The values the data's calls pass, by ``(function, parameter)`` and by parameter name: the
    other values a variant may give a parameter."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.by_function: dict[tuple[str, str], list[object]] = defaultdict(list)
        self.by_name: dict[str, list[object]] = defaultdict(list)
        for example in examples:
            for call in example.calls or ():
                for name, value in call.arguments.items():
                    if _said(value) is None:
                        continue
                    for bucket in (self.by_function[(call.name, name)], self.by_name[name]):
                        if value not in bucket:
                            bucket.append(value)

    def others(self, function: str, name: str, value: object) -> list[object]:
        """Values of ``function``'s ``name`` in the data other than ``value`` (of its type), else
        of any function's parameter ``name``; none that contains or is contained in ``value``'s
        words ("Oslo" beside "Oslo, Norway" would ask for one place twice)."""
        for bucket in (self.by_function.get((function, name), []), self.by_name.get(name, [])):
            found = [v for v in bucket if type(v) is type(value) and _distinct(v, value)]
            if found:
                return found
        return []


def _distinct(a: object, b: object) -> bool:
    if a == b:
        return False
    if isinstance(a, str) and isinstance(b, str):
        x, y = a.casefold(), b.casefold()
        return x not in y and y not in x
    return True


def _nearby(value: int | float, count: int, rng: random.Random) -> list[int | float]:
    """``count`` other numbers near ``value``, of its type, sign and decimals."""
    if isinstance(value, int):
        spread = max(3, abs(value) // 10)
        low = max(1, value - spread) if value >= 0 else value - spread
        candidates: list[int | float] = sorted(
            {rng.randint(low, value + spread) for _ in range(4 * count + 8)} - {value}
        )
    else:
        decimals = len(repr(value).split(".")[1]) if "." in repr(value) else 1
        step = 10.0**-decimals
        candidates = sorted(
            {round(value * rng.uniform(0.5, 1.5), decimals) for _ in range(4 * count + 8)} - {value}
        )
        candidates = [v for v in candidates if abs(v) >= step and (v > 0) == (value > 0)]
    return rng.sample(candidates, count) if len(candidates) >= count else []


class Variants:
    """Makes value variants of the examples the pool was built from (see the module)."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.pool = ValuePool(examples)

    def varying(self, example: Example) -> list[str]:
        """The parameters of ``example``'s call a variant can vary: said once in the request,
        with other values to give."""
        call = example.calls[0]  # type: ignore[index]
        tool = example.tool(call.name)
        names = []
        for name, value in call.arguments.items():
            text = _said(value)
            if text is None or len(_spans(example.query, text)) != 1:
                continue
            if isinstance(value, int | float) or self._choices(tool, call, name):
                names.append(name)
        return names

    def _choices(self, tool: Tool | None, call: ToolCall, name: str) -> list[object]:
        value = call.arguments[name]
        param = next((p for p in tool.params if p.name == name), None) if tool else None
        if param is not None and param.enum:
            return [v for v in param.enum if type(v) is type(value) and v != value and _said(v)]
        return self.pool.others(call.name, name, value)

    def _values(self, example: Example, name: str, count: int, rng: random.Random) -> list[object]:
        call = example.calls[0]  # type: ignore[index]
        choices = self._choices(example.tool(call.name), call, name)
        if choices:
            return rng.sample(choices, min(count, len(choices)))
        value = call.arguments[name]
        return _nearby(value, count, rng) if isinstance(value, int | float) else []

    def build(self, example: Example, rng: random.Random) -> Example | None:
        """A variant of ``example`` drawn from ``rng``; ``None`` when it has nothing to vary."""
        names = self.varying(example)
        if not names:
            return None
        chosen = rng.sample(names, 2 if len(names) >= 2 and rng.random() < TWO_PARAMETERS_SHARE else 1)
        count = rng.choice(EXTRA_COUNTS)
        extra = {name: self._values(example, name, count, rng) for name in chosen}
        count = min(len(values) for values in extra.values())
        if count == 0:
            return None
        call = example.calls[0]  # type: ignore[index]
        query = example.query
        spans = sorted(((_spans(query, _said(call.arguments[n]))[0], n) for n in chosen), reverse=True)  # type: ignore[arg-type]
        if len(spans) == 2 and spans[0][0][0] < spans[1][0][1]:
            return None  # the two values overlap in the request
        for (start, end), name in spans:
            said = [query[start:end], *(_said(v) for v in extra[name][:count])]
            query = query[:start] + listed(said, rng) + query[end:]  # type: ignore[arg-type]
        if len(chosen) == 2:
            query = _respectively(query)
        calls = [call] + [
            replace(call, arguments={**call.arguments, **{n: extra[n][k] for n in chosen}})
            for k in range(count)
        ]
        return Example(
            messages=[Message("user", query)],
            tools=list(example.tools),
            calls=calls,
            id=f"variant:{example.id}:{'+'.join(chosen)}",
            meta={
                **{k: example.meta[k] for k in ("source", "language") if k in example.meta},
                "category": "composed",
                VARIANT_OF: example.id,
            },
        )


def _respectively(query: str) -> str:
    """``query`` with "respectively" before its final mark: values of two parameters are paired
    in the order said."""
    text = query.rstrip()
    if text and text[-1] in _ENDINGS:
        return text[:-1].rstrip() + " respectively" + text[-1]
    return text + " respectively"
