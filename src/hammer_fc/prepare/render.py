"""Rendering prepared training lines: a plain renderer (the reference) and a fast one (the command's).

* :func:`iter_lines` is the plain one: :func:`~hammer_fc.augment.epochs.iter_epoch` + the
  template's prompt and completion + :func:`~.records.record`, one example at a time.
* :func:`write_prepared` writes the same bytes, fast, built from the pieces
  :mod:`hammer_fc.prompts.training` renders with (``PROMPT_HEAD``, ``param_spec`` ...) and the
  record frame of :mod:`.records`. Each distinct tool is rendered to the
  prompt's JSON once, already escaped for the output line, as a template with holes for the
  function name, the parameter names and each parameter's spec; an epoch then only draws random
  names and fills holes (a parameter whose default a masking rewrites fills a template of its
  own, with holes for the value). A plain line costs one 64-bit key
  (:mod:`hammer_fc.augment.epochs`), a table lookup for the tool order and a list of pre-escaped
  pieces; only a masked line seeds a ``random.Random``. What is per example (its calls by
  position, its masking shape, its answer) is worked out on its first masked line, not
  templated: with the default ratio an example is masked about once a run. The blocks are
  spread over processes by :mod:`.parallel`.
"""

from __future__ import annotations

import _random
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from hammer_fc.augment.compose import Composer, iter_composed_epoch
from hammer_fc.augment.epochs import (
    DEFAULT_MASK_RATIO,
    epoch_base,
    is_masked,
    line_key,
    plain_order,
)
from hammer_fc.augment.masking import (
    DefaultSwap,
    MaskPlan,
    MaskShape,
    dedup_tools,
    draw_plan,
    join_value,
    mask_call,
    mask_messages,
    mask_shape,
    maskable_default,
    masked_tool,
    name_maps,
    replace_value_in_text,
    same_value,
    swap_default,
    value_spans,
)
from hammer_fc.outputs import atomic_output
from hammer_fc.prepare.parallel import (
    BLOCK,
    MIN_PARALLEL_LINES,
    Block,
    Loaded,
    Loader,
    WriteStats,
    default_workers,
    schedule,
)
from hammer_fc.prepare.records import OutputFormat, record, record_frame
from hammer_fc.prompts.training import (
    PROMPT_HEAD,
    PROMPT_MIDDLE,
    PROMPT_TAIL,
    describe_default,
    fence,
    param_spec,
    render_completion,
    render_query,
    to_json,
    tool_to_prompt_dict,
)
from hammer_fc.schema import Example, Param, Tool

_seed_state = _random.Random.seed
"""The C seeding under ``random.Random(int)``: the same state, without the Python-level wrapper
(this runs once per masked line)."""


def iter_lines(
    examples: Sequence[Example],
    *,
    epochs: int,
    mask_ratio: float = DEFAULT_MASK_RATIO,
    seed: int = 0,
    fmt: OutputFormat = "prompt-completion",
    template: str = "hammer",
    masking: str = "hammer",
) -> Iterator[bytes]:
    """The output, line by line, rendered the plain way (the reference :func:`write_prepared`
    matches; the only way for another template or masking)."""
    for line, _, _ in _views(examples, epochs, mask_ratio, seed, fmt, template, masking, 0):
        yield line


def _views(
    examples: Sequence[Example],
    epochs: int,
    mask_ratio: float,
    seed: int,
    fmt: OutputFormat,
    template: str,
    masking: str,
    compose: int,
    variant_share: float = 0.0,
) -> Iterator[tuple[bytes, Example, bool]]:
    composer = Composer(examples, variant_share=variant_share) if compose else None
    for epoch in range(epochs):
        views = iter_composed_epoch(
            examples,
            epoch,
            count=compose,
            mask_ratio=mask_ratio,
            seed=seed,
            masking=masking,
            composer=composer,
        )
        for example, masked in views:
            yield orjson.dumps(record(example, masked, fmt, template)) + b"\n", example, masked


def write_plain(
    examples: Sequence[Example],
    out: Path,
    *,
    epochs: int,
    mask_ratio: float,
    seed: int,
    fmt: OutputFormat,
    template: str,
    masking: str,
    compose: int = 0,
    variant_share: float = 0.0,
    on_progress: Callable[[int], None] | None = None,
) -> WriteStats:
    """Write :func:`iter_lines` to ``out`` one line at a time, in one process (complete or not
    at all): the path of the authors' templates and masking, and of composition (``compose``
    examples drawn per epoch, a ``variant_share`` of them value variants), which the fast
    writer does not know."""
    stats = WriteStats(examples=len(examples) + compose)
    with atomic_output(out) as sink:
        for line, example, masked in _views(
            examples, epochs, mask_ratio, seed, fmt, template, masking, compose, variant_share
        ):
            if on_progress is not None:
                on_progress(1)
            sink.write(line)
            stats.lines += 1
            stats.masked += masked
            stats.irrelevant += example.calls == []
            stats.bytes += len(line)
    return stats


def _escape(text: str) -> bytes:
    """``text`` as it appears inside a JSON string of the output line. JSON escaping is per
    character, so escaped pieces concatenate to the escaped whole."""
    return orjson.dumps(text)[1:-1]


def _tool_json(tool: Tool) -> str:
    """One tool exactly as ``tools_json`` writes it inside the prompt's list."""
    return to_json(tool_to_prompt_dict(tool))


# Probe names stand where masked names will go: "\0F\0" for the function, "\0P<j>\0" for parameter
# j; "\0S<j>\0" stands for the whole spec of parameter j (a JSON string, quotes included, so the
# spec can be swapped), "\0D\0" and "\0V\0" for a spec's description and default value. JSON
# writes them as \u0000F\u0000 etc., which no ordinary text contains; a text that does is caught
# below.
_PROBE = re.compile(rb'\\"\\\\u0000([SDV]\d*)\\\\u0000\\"|\\\\u0000([FP]\d*)\\\\u0000')
"""A probe as it reads once the JSON text is escaped for the output line (``\\"`` for a quote,
``\\\\u0000`` for a NUL)."""


def _split_probes(text: str) -> tuple[list[bytes], list[str]]:
    """``text`` escaped for the output line (``%`` doubled) and cut at its probes: the pieces
    around them and the probes' keys. JSON escapes per character, so probes stay whole."""
    pieces = _PROBE.split(_escape(text).replace(b"%", b"%%"))
    keys = [(quoted or bare).decode() for quoted, bare in zip(pieces[1::3], pieces[2::3], strict=True)]
    return pieces[0::3], keys


@dataclass(slots=True)
class Template:
    """Rendered text with a ``%s`` hole per probe, already escaped for the output line (masked
    names never need escaping); ``order[k]`` is the index, in the flat list of values the caller
    passes, of the value for hole ``k`` (``None``: every value, in hole order)."""

    fmt: bytes
    order: tuple[int, ...] | None

    @classmethod
    def parse(cls, text: str, index: dict[str, int], expected: list[str]) -> Template | None:
        """``text`` with its probes turned into holes; ``None`` if the probes found are not
        exactly ``expected`` (the text itself contained something probe-like)."""
        parts, keys = _split_probes(text)
        if sorted(keys) != sorted(expected):
            return None
        return cls.join(parts, keys, index)

    @classmethod
    def join(cls, parts: list[bytes], keys: list[str], index: dict[str, int]) -> Template:
        """The template of the escaped ``parts`` with a hole for each of ``keys`` between them."""
        order = tuple(index[k] for k in keys)
        return cls(b"%s".join(parts), None if order == tuple(range(len(index))) else order)

    def fill(self, values: list[bytes]) -> bytes:
        if self.order is None:
            return self.fmt % tuple(values)
        return self.fmt % tuple([values[k] for k in self.order])


def _param_spec_json(param: Param) -> str:
    """Parameter ``param``'s spec as the prompt writes it inside its tool."""
    return to_json(param_spec(param))


@dataclass(slots=True)
class DefaultHole:
    """One parameter's spec with holes for its description and default value, and its raw
    description cut around the default (:func:`value_spans`): a masking that rewrites the
    default fills the holes instead of rebuilding and re-encoding the spec (a fifth of the cost
    of a masked line, where a third of them rewrite one)."""

    template: Template
    spans: tuple[list[str], list[int]] | None
    description: str

    @classmethod
    def build(cls, param: Param, rendered: bytes) -> DefaultHole | None:
        """The holes of ``param`` (``rendered``: its escaped spec), or ``None`` where filling
        them would not give what rendering gives. Only the default and the description depend on
        the value (:func:`param_spec`), unless a key of the source overrides them; the template
        is checked on the original value."""
        if "default" in param.extra or "description" in param.extra:
            return None
        spec = param_spec(param)
        if "description" not in spec or "default" not in spec:
            return None
        spec["description"], spec["default"] = "\0D\0", "\0V\0"
        template = Template.parse(to_json(spec), {"D": 0, "V": 1}, ["D", "V"])
        if template is None:
            return None
        hole = cls(template, value_spans(param.description, param.default), param.description)
        return hole if hole.fill(param.default) == rendered else None

    def fill(self, new: Any) -> bytes:
        """The escaped spec with ``new`` as its default, in the spec and in the description."""
        description = self.description if self.spans is None else join_value(*self.spans, new)
        description = describe_default(description, new)
        return self.template.fill([_escape(to_json(description)), _escape(to_json(new))])


_PLAIN_NAME = re.compile(r"[ !#-\[\]-~]*")
r"""Printable ASCII but ``"`` and ``\``: the characters JSON writes as they are."""


def _name_text(name: str) -> bytes:
    """A name as it appears in the prompt's JSON, escaped for the output line."""
    if _PLAIN_NAME.fullmatch(name):
        return name.encode()
    return _escape(to_json(name)[1:-1])


@dataclass(slots=True)
class ToolTemplate:
    """A tool rendered once, with holes: ``masked`` has one for the function name, each parameter
    name and each parameter's spec (``specs``: the escaped specs as rendered), so that a masking
    that rewrites a default re-renders only that spec; ``named``, the same text with the specs
    filled in, serves the common masking that rewrites none; ``plain`` is ``named`` filled with
    the tool's own names. Both are ``None`` when the probe cannot be trusted (the slow way is
    taken). One rendering per tool: each worker renders every tool it meets, and xLAM has
    thousands."""

    plain: bytes
    named: Template | None
    masked: Template | None
    specs: list[bytes]
    positions: dict[str, int] | None
    """Parameter name -> index (``None`` when a name repeats)."""
    defaults: dict[int, Any]
    """Parameter index -> its default, for those a masking may rewrite."""
    after_comma: bytes = b""
    """``, `` + ``plain``: the tool anywhere but first in the list."""
    holes: dict[int, DefaultHole | None] = field(default_factory=dict)
    """Parameter index -> its :class:`DefaultHole` (made on the first masking that rewrites it)."""

    def __post_init__(self) -> None:
        self.after_comma = b", " + self.plain

    @classmethod
    def build(cls, tool: Tool) -> ToolTemplate:
        n = len(tool.params)
        positions: dict[str, int] | None = {p.name: j for j, p in enumerate(tool.params)}
        if len(positions) < n:  # type: ignore[arg-type]
            positions = None  # repeated names collapse in the plain map
        masked, named, specs = _masked_template(tool)
        defaults = {j: p.default for j, p in enumerate(tool.params) if maskable_default(p)}
        if named is None or positions is None:
            return cls(_escape(_tool_json(tool)), named, masked, specs, positions, defaults)
        own = [_name_text(tool.name), *(_name_text(p.name) for p in tool.params)]
        return cls(named.fill(own), named, masked, specs, positions, defaults)

    def rewritten_spec(self, tool: Tool, swap: DefaultSwap) -> bytes:
        """Parameter ``swap.param``'s escaped spec with the default ``swap`` rewrites it to."""
        j = swap.param
        if j not in self.holes:
            self.holes[j] = DefaultHole.build(tool.params[j], self.specs[j])
        hole = self.holes[j]
        if hole is not None:
            return hole.fill(swap.new)
        return _escape(_param_spec_json(swap_default(tool.params[j], swap)))


def _masked_template(tool: Tool) -> tuple[Template | None, Template | None, list[bytes]]:
    """``tool`` rendered with probe names and probe specs: (the template with name and spec
    holes, the one with name holes only, the escaped specs); ``(None, None, [])`` if the probe
    cannot be trusted."""
    n = len(tool.params)
    probes = [f"\0P{j}\0" for j in range(n)]
    rendered = tool_to_prompt_dict(tool, name="\0F\0", param_names=probes)
    specs = rendered["parameters"]
    texts = [_escape(to_json(spec)) for spec in specs.values()]
    rendered["parameters"] = {name: f"\0S{j}\0" for j, name in enumerate(specs)}
    names = ["F", *(f"P{j}" for j in range(n))]
    keys = names + [f"S{j}" for j in range(n)]
    parts, found = _split_probes(to_json(rendered))
    if sorted(found) != sorted(keys):
        return None, None, []
    if [k for k in found if k[0] != "S"] != names:  # JSON writes the function's name, then each parameter's
        return None, None, []
    masked = Template.join(parts, found, {k: i for i, k in enumerate(keys)})
    # the same text with the specs written in ("%" doubled: it stays a format), the names as holes
    spec_of = {f"S{j}": text.replace(b"%", b"%%") for j, text in enumerate(texts)}
    fmt = [parts[0]]
    for key, part in zip(found, parts[1:], strict=True):
        fmt += (spec_of.get(key, b"%s"), part)
    return masked, Template(b"".join(fmt), None), texts


@dataclass(slots=True)
class _Item:
    """One example ready for the fast renderer."""

    example: Example
    tools: list[Tool]
    """The deduplicated tools (what masking and shuffling work on)."""
    templates: list[ToolTemplate]
    query: bytes
    completion: bytes
    irrelevant: bool
    plain_history: bool
    """No earlier tool calls in the conversation: masking leaves the query text alone unless a
    default value is rewritten."""
    lone_user: bool
    """The conversation is one user turn: its text is the query, a rewritten value is replaced
    in it directly."""
    shape: MaskShape | None = None
    """What every masking of the example draws (made on its first masked line)."""
    calls: _Positions | None = None
    """The gold calls by position (made with ``shape``; ``None`` where a called tool repeats a
    parameter name: the maps are used then)."""


_Positions = list[tuple[int, str, list[tuple[int, str, Any]]]]
"""Calls by position: (tool index or -1, name, [(parameter index or -1, argument name, value)]),
so a masking renames them without building name maps."""


def _call_positions(item: _Item) -> tuple[_Positions, MaskShape] | None:
    """The gold calls by position and the shape of masking the example, in one pass over the
    calls (what :func:`mask_shape` finds by walking every parameter of every called tool);
    ``None`` where a called tool repeats a parameter name."""
    tools = {tool.name: i for i, tool in enumerate(item.tools)}
    positions: _Positions = []
    used = set()
    for call in item.example.calls or []:
        i = tools.get(call.name, -1)
        if i < 0:
            positions.append((i, call.name, [(-1, k, v) for k, v in call.arguments.items()]))
            continue
        params, defaults = item.templates[i].positions, item.templates[i].defaults
        if params is None:
            return None
        arguments = []
        for key, value in call.arguments.items():
            j = params.get(key, -1)
            if j in defaults and same_value(value, defaults[j]):
                used.add((i, j))
            arguments.append((j, key, value))
        positions.append((i, call.name, arguments))
    counts = [len(tool.params) for tool in item.tools]
    rewritten = [(i, j, item.templates[i].defaults[j]) for i, j in sorted(used)]
    return positions, MaskShape(True, counts, sum(counts), rewritten, len(item.tools))


def _masked_calls(positions: _Positions, plan: MaskPlan) -> list[dict[str, Any]]:
    """The gold calls as :func:`mask_call` masks them, from their positions, as the dicts
    :meth:`ToolCall.to_dict` makes (built directly: this runs on every masked line)."""
    functions, params = plan.function_names, plan.param_names
    assert functions is not None and params is not None
    swapped = {(swap.tool, swap.param): swap for swap in plan.defaults}
    calls = []
    for i, name, arguments in positions:
        masked = {}
        for j, key, value in arguments:
            if j >= 0:
                swap = swapped.get((i, j)) if swapped else None
                if swap is not None and same_value(value, swap.old):
                    value = swap.new
                key = params[i][j]
            masked[key] = value
        calls.append({"name": functions[i] if i >= 0 else name, "arguments": masked})
    return calls


def _compile(example: Example, templates: dict[int, ToolTemplate]) -> _Item:
    """Render what stays fixed across epochs: the tools (once per ``Tool`` object, cached in
    ``templates`` by ``id``; the fast xLAM reader shares one object per distinct tool, so each is
    rendered once for the whole data set), the query and the unmasked answer."""
    tools = dedup_tools(example.tools)
    compiled = []
    for tool in tools:
        template = templates.get(id(tool))
        if template is None:
            template = templates[id(tool)] = ToolTemplate.build(tool)
        compiled.append(template)
    return _Item(
        example=example,
        tools=tools,
        templates=compiled,
        query=_escape(render_query(example.messages)),
        completion=_escape(render_completion(example.calls or [])),
        irrelevant=example.calls == [],
        plain_history=not any(m.tool_calls or m.role == "tool" for m in example.messages),
        lone_user=len(example.messages) == 1
        and example.messages[0].role == "user"
        and not example.messages[0].tool_calls,
    )


class _Renderer:
    """Renders output lines; identical bytes to :func:`iter_lines`."""

    def __init__(self, *, mask_ratio: float, seed: int, fmt: OutputFormat) -> None:
        self.templates: dict[int, ToolTemplate] = {}
        self.mask_ratio = mask_ratio
        self.seed = seed
        head, between, _ = record_frame(fmt, False, False)
        ends = {(m, i): record_frame(fmt, m, i)[2] for m in (False, True) for i in (False, True)}
        self.before_tools = head + _escape(PROMPT_HEAD) + b"["
        self.after_tools = b"]" + _escape(PROMPT_MIDDLE)
        self.after_query = _escape(PROMPT_TAIL) + between
        self.ends = ends
        self.masked = 0
        self.rng = random.Random()

    def block(self, epoch: int, block: Block) -> list[bytes]:
        """Every line of ``block`` in ``epoch``, as pieces to write in a row (no line is joined:
        ``pwritev`` gathers them). Examples are compiled the first time, by the process that
        renders them (compiling is as parallel as rendering), and kept for later epochs."""
        if block.items is None:
            block.items = [_compile(example, self.templates) for example in block.examples]
        out: list[bytes] = []
        base, start = epoch_base(self.seed, epoch), block.start
        for k, item in enumerate(block.items):
            self.line(line_key(base, start + k), item, out)
        return out

    def line(self, key: int, item: _Item, out: list[bytes]) -> None:
        """Append the pieces of the line of ``item`` drawn from ``key`` to ``out``."""
        if is_masked(key, self.mask_ratio):
            self.masked += 1
            rng = self.rng  # reseeded in place: the stream ``ExampleDraw.rng`` gives, no new object
            _seed_state(rng, key)
            tools, query, completion = self._masked(item, rng)
            out += (self.before_tools, tools, self.after_tools, query, self.after_query, completion)
            out.append(self.ends[True, item.irrelevant])
            return
        templates = item.templates
        out.append(self.before_tools)
        if len(templates) > 1:
            order = plain_order(key, len(templates))
            out.append(templates[order[0]].plain)
            out += [templates[i].after_comma for i in order[1:]]
        elif templates:
            out.append(templates[0].plain)
        out += (self.after_tools, item.query, self.after_query, item.completion)
        out.append(self.ends[False, item.irrelevant])

    @staticmethod
    def _masked(item: _Item, rng: random.Random) -> tuple[bytes, bytes, bytes]:
        """The masked tool list (filling the tool templates), query and answer (rendered: an
        example is masked about once in a run, too rarely for a template of its own to pay)."""
        if item.shape is None:
            found = _call_positions(item)
            if found is None:
                item.shape = mask_shape(item.tools, item.example.calls)
            else:
                item.calls, item.shape = found
        plan = draw_plan(item.shape, rng)
        assert plan.function_names is not None and plan.param_names is not None
        names = plan.function_names + [name for names in plan.param_names for name in names]
        encoded = "\0".join(names).encode().split(b"\0")  # masked names are ASCII without NUL
        tools = _Renderer._masked_tools(item, plan, encoded)
        example = item.example
        if item.calls is not None:
            answer = _escape(fence(to_json(_masked_calls(item.calls, plan))))
        else:
            answer = _escape(
                render_completion([mask_call(c, name_maps(item.tools, plan)) for c in example.calls or []])
            )
        if not plan.defaults and item.plain_history:
            query = item.query
        elif item.lone_user:
            content = example.messages[0].content
            for swap in plan.defaults:
                content = replace_value_in_text(content, swap.old, swap.new)
            query = _escape(content)
        else:
            query = _escape(render_query(mask_messages(example.messages, name_maps(item.tools, plan), plan)))
        return tools, query, answer

    @staticmethod
    def _masked_tools(item: _Item, plan: MaskPlan, encoded: list[bytes]) -> bytes:
        swaps: dict[int, list[DefaultSwap]] = {}
        for swap in plan.defaults:
            swaps.setdefault(swap.tool, []).append(swap)
        parts = []
        start = len(item.tools)
        for i, template in enumerate(item.templates):
            stop = start + len(item.tools[i].params)
            if template.named is not None and i not in swaps:
                parts.append(template.named.fill([encoded[i], *encoded[start:stop]]))
                start = stop
                continue
            tool, masked, specs = item.tools[i], template.masked, template.specs
            if masked is not None and i in swaps:
                specs = list(specs)
                for swap in swaps[i]:
                    specs[swap.param] = template.rewritten_spec(tool, swap)
            if masked is None:
                parts.append(_escape(_tool_json(masked_tool(tool, i, plan))))
            else:
                parts.append(masked.fill([encoded[i], *encoded[start:stop], *specs]))
            start = stop
        return b", ".join([parts[i] for i in plan.order])


def write_prepared(
    examples: Sequence[Example],
    out: Path,
    *,
    epochs: int,
    mask_ratio: float = DEFAULT_MASK_RATIO,
    seed: int = 0,
    fmt: OutputFormat = "prompt-completion",
    workers: int | None = None,
    block: int = BLOCK,
    on_progress: Callable[[int], None] | None = None,
) -> WriteStats:
    """Write the output of :func:`iter_lines` for ``examples`` to ``out``, fast.

    ``workers`` defaults to every core for large jobs; the output depends neither on it nor on
    ``block`` (examples per block, the unit of work). ``on_progress(lines)`` is called as lines are
    written. The file appears complete or not at all (written next to ``out``, then renamed).
    """
    n_blocks = -(-len(examples) // block)
    if workers is None:
        workers = default_workers() if epochs * len(examples) >= MIN_PARALLEL_LINES else 1
    return write_blocks(
        n_blocks,
        lambda b: Loaded(list(examples[b * block : (b + 1) * block])),
        out,
        epochs=epochs,
        mask_ratio=mask_ratio,
        seed=seed,
        fmt=fmt,
        workers=workers,
        on_progress=on_progress,
    )


def write_blocks(
    n_blocks: int,
    load: Loader,
    out: Path,
    *,
    epochs: int,
    mask_ratio: float = DEFAULT_MASK_RATIO,
    seed: int = 0,
    fmt: OutputFormat = "prompt-completion",
    workers: int = 1,
    on_loaded: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> WriteStats:
    """Load ``n_blocks`` blocks of examples with ``load`` and write their prepared lines to
    ``out``: block after block, epoch after epoch, as :func:`iter_lines` would over the loaded
    examples in block order. Loading happens in the workers too, so reading the inputs is as
    parallel as rendering. ``on_loaded(examples)`` is called once everything is loaded (it may
    raise to stop the run)."""
    renderer = _Renderer(mask_ratio=mask_ratio, seed=seed, fmt=fmt)
    return schedule(
        n_blocks,
        load,
        renderer,
        out,
        epochs=epochs,
        workers=workers,
        on_loaded=on_loaded,
        on_progress=on_progress,
    )
