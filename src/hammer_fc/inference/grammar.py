"""GBNF grammars that make a model's answer a valid Hammer tool call for the tools at hand.

llama.cpp can restrict sampling to a context-free grammar. We build one per request from the
offered tools, so the output is always the Hammer answer format (the fenced JSON list the
prompt's format instruction asks for) naming only offered functions, using only their
parameter names, with every required argument present and values of the declared JSON type
(enums, nested objects and arrays included). ``tool_choice`` decides whether ``[]`` is allowed
(``auto``), forbidden (``required`` or a named function) or forced (``none``).

Arguments are emitted in the schema's declared order (optional ones may be skipped). Allowing
every permutation would blow the grammar up factorially for no gain: the prompt lists the
parameters in that order and the model follows it.

Building a grammar walks the whole schema, and llama.cpp parses it again per request, so we
cache the text per (tools, tool_choice), keyed by their canonical JSON.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.params import param_from_spec, tool_to_function
from hammer_fc.schema import Param, Tool

FENCE_OPEN = "```\n"
FENCE_CLOSE = "\n```"

# JSON primitives shared by every grammar. Whitespace is bounded so a model cannot spin on it:
# inside a call at most one space (``json.dumps``'s separators, the trained answer format);
# between calls also a newline and indentation (the layout of the format instruction's example).
_PRIMITIVES = r"""
ws ::= | " "
lws ::= | " " | "\n" [ \t]{0,8}
string ::= "\"" char* "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= "-"? ("0" | [1-9] [0-9]{0,17})
number ::= integer ("." [0-9]+)? ([eE] [-+]? [0-9]+)?
boolean ::= "true" | "false"
null ::= "null"
value ::= object | array | string | number | boolean | null
object ::= "{" ws (member ("," ws member)* ws)? "}"
member ::= string ws ":" ws value
array ::= "[" ws (value ("," ws value)* ws)? "]"
""".strip()

_PRIMITIVE_RULES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "null": "null",
    "any": "value",
}

ToolChoice = str | dict[str, Any] | None


def literal(text: str) -> str:
    """``text`` as a GBNF string literal (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def json_literal(value: Any) -> str:
    """A GBNF literal for the JSON text of ``value`` as ``json.dumps`` writes it."""
    return literal(json.dumps(value, ensure_ascii=False))


def forced_function(tools: list[Tool], tool_choice: ToolChoice) -> str | None:
    """The function name a ``{"type": "function", "function": {"name": ...}}`` choice forces.

    Raises :class:`HammerError` (field ``tool_choice``) for a malformed choice or a name that
    is not among the tools, so the server can answer 400 with the offending field.
    """
    if tool_choice is None or isinstance(tool_choice, str):
        if tool_choice not in (None, "auto", "none", "required"):
            raise HammerError(
                f"unknown tool_choice {tool_choice!r}: expected auto, none, required or a function",
                field="tool_choice",
            )
        return None
    if not isinstance(tool_choice, dict):
        raise HammerError("tool_choice must be a string or an object", field="tool_choice")
    function = tool_choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if tool_choice.get("type") != "function" or not isinstance(name, str):
        raise HammerError(
            'tool_choice object must be {"type": "function", "function": {"name": ...}}',
            field="tool_choice",
        )
    if not any(t.name == name for t in tools):
        raise HammerError(f"tool_choice names {name!r}, which is not among the tools", field="tool_choice")
    return name


class _Builder:
    """Collects named rules while walking the tool schemas."""

    def __init__(self) -> None:
        self.rules: list[str] = []
        self._count = 0

    def rule(self, prefix: str, body: str) -> str:
        """Add ``prefix-N ::= body`` and return its name (names are numbered: tool names may
        hold characters GBNF rule names cannot)."""
        self._count += 1
        name = f"{prefix}-{self._count}"
        self.rules.append(f"{name} ::= {body}")
        return name

    def value(self, param: Param) -> str:
        """An expression for one value of ``param``'s declared type."""
        if param.enum:
            expr = "(" + " | ".join(json_literal(v) for v in param.enum) + ")"
        elif param.type == "array":
            item = self.value(param.items) if param.items is not None else "value"
            expr = self.rule("arr", f'"[" ws ({item} ("," ws {item})* ws)? "]"')
        elif param.type == "object":
            expr = self.members(param.properties) if param.properties else "object"
        else:
            expr = _PRIMITIVE_RULES.get(param.type, "value")
        if param.nullable and expr != "value":
            expr = f"({expr} | null)"
        return expr

    def members(self, params: list[Param]) -> str:
        """An object with exactly these keys, in this order, optional ones skippable.

        Two rule chains keep the commas right without ambiguity: ``some[i]`` continues after
        at least one key was written, from key ``i`` on; ``none[i]`` continues from key ``i``
        with nothing written yet (reachable only while every key before ``i`` is optional).
        """
        pairs = [f'{json_literal(p.name)} ws ":" ws {self.value(p)}' for p in params]
        count = len(params)
        some = [""] * count + ["ws"]
        for i in range(count - 1, 0, -1):
            step = f'"," ws {pairs[i]}' if params[i].required else f'("," ws {pairs[i]})?'
            some[i] = self.rule("s", f"{step} {some[i + 1]}")
        last = next((i for i, p in enumerate(params) if p.required), count)
        none = ""
        for i in range(min(last, count - 1), -1, -1):
            first = f"{pairs[i]} {some[i + 1]}"
            if params[i].required:
                none = self.rule("n", first)
            else:
                none = self.rule("n", f"{first} | {none}" if none else f"({first})?")
        return self.rule("obj", f'"{{" ws {none} "}}"' if none else '"{" ws "}"')

    def call(self, tool: Tool) -> str:
        arguments = self.members(tool.params)
        return self.rule(
            "call",
            f'"{{" ws "\\"name\\"" ws ":" ws {json_literal(tool.name)} ws "," ws '
            f'"\\"arguments\\"" ws ":" ws {arguments} ws "}}"',
        )


def build_grammar(tools: list[Tool], tool_choice: ToolChoice = "auto", *, parallel: bool = True) -> str:
    """The GBNF text for one request (uncached; see :func:`grammar_for_tools`).

    ``parallel=False`` (OpenAI's ``parallel_tool_calls: false``) allows at most one call.
    """
    forced = forced_function(tools, tool_choice)
    if tool_choice == "none" or not tools:
        return f"root ::= {literal(FENCE_OPEN + '[]' + FENCE_CLOSE)}"
    builder = _Builder()
    offered = [t for t in tools if forced is None or t.name == forced]
    calls = [builder.call(t) for t in offered]
    call = builder.rule("any-call", " | ".join(calls))
    some = f'{call} ("," lws {call})* lws' if parallel else f"{call} lws"
    body = some if tool_choice == "required" or forced is not None else f"({some})?"
    head = [
        f"root ::= {literal(FENCE_OPEN)} list {literal(FENCE_CLOSE)}",
        f'list ::= "[" lws {body} "]"',
    ]
    return "\n".join([*head, *builder.rules, _PRIMITIVES]) + "\n"


def cache_key(tools: list[Tool], tool_choice: ToolChoice, parallel: bool = True) -> str:
    """Canonical JSON of the tools (as JSON-Schema functions), the choice and the call limit."""
    functions = [tool_to_function(t, "jsonschema") for t in tools]
    return json.dumps([functions, tool_choice, parallel], sort_keys=True, default=repr, ensure_ascii=False)


class GrammarCache:
    """A bounded LRU of grammar texts, safe to share between server threads."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, tools: list[Tool], tool_choice: ToolChoice = "auto", *, parallel: bool = True) -> str:
        key = cache_key(tools, tool_choice, parallel)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        grammar = build_grammar(tools, tool_choice, parallel=parallel)
        with self._lock:
            self.misses += 1
            self._items[key] = grammar
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return grammar


_DEFAULT_CACHE = GrammarCache()


def grammar_for_tools(tools: list[Tool], tool_choice: ToolChoice = "auto", *, parallel: bool = True) -> str:
    """The GBNF grammar for these tools and this ``tool_choice``, cached per tool set."""
    return _DEFAULT_CACHE.get(tools, tool_choice, parallel=parallel)


def schema_grammar(schema: dict[str, Any] | None, *, path: str = "schema") -> str:
    """The GBNF text for one JSON value of ``schema`` (``None``: any JSON object), for
    ``response_format``; the value's rules are the ones tool arguments get."""
    if schema is None:
        return f"root ::= object\n{_PRIMITIVES}\n"
    head, _, name = path.rpartition(".")
    param = param_from_spec(name, schema, path=f"{head}." if head else "")
    builder = _Builder()
    root = builder.value(param)
    return "\n".join([f"root ::= {root}", *builder.rules, _PRIMITIVES]) + "\n"


class CompiledGrammar:
    """A grammar compiled by llama.cpp for one model's vocabulary, stepped one token at a time.

    Greedy decoding only needs to know whether the model's favourite token is allowed, which
    costs one token's check; only when it is not do we mask the whole vocabulary (what
    llama.cpp's own samplers do on every step). That keeps constrained decoding close to free
    when the model already follows the format. Also the ground truth for tests: a text is in
    the language exactly when each of its tokens is allowed in turn and then end-of-generation is.
    """

    def __init__(self, grammar: str, vocab: Any) -> None:
        import llama_cpp
        import numpy as np

        self._llama = llama_cpp
        self._sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
        if not self._sampler:
            raise HammerError("llama.cpp could not parse the grammar", field="grammar")
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        self.eos = llama_cpp.llama_vocab_eos(vocab)
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self._all = (llama_cpp.llama_token_data * self.n_vocab)()
        self._all_view = np.frombuffer(
            self._all, dtype=np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        )
        self._all_view["id"] = np.arange(self.n_vocab, dtype=np.int32)
        self._all_array = llama_cpp.llama_token_data_array(
            data=self._all, size=self.n_vocab, selected=-1, sorted=False
        )
        self._probe_key: Any = None

    def allows(self, token: int) -> bool:
        """Whether ``token`` may come next (end-of-generation: whether the text is complete)."""
        self._one[0].id = token
        self._one[0].logit = 0.0
        self._one_array.size = 1
        self._llama.llama_sampler_apply(self._sampler, self._llama.byref(self._one_array))
        return self._one[0].logit != float("-inf")

    def accept(self, token: int) -> None:
        """Advance past ``token`` (which must be allowed: llama.cpp aborts otherwise)."""
        self._llama.llama_sampler_accept(self._sampler, token)

    def best(self, logits: Any) -> int:
        """The highest-scoring allowed token for these next-token logits."""
        import numpy as np

        top = int(np.argmax(logits))
        if self.allows(top):
            return top
        view = self._all_view
        view["logit"] = logits[: self.n_vocab]
        self._all_array.size = self.n_vocab
        self._all_array.data = self._all
        self._llama.llama_sampler_apply(self._sampler, self._llama.byref(self._all_array))
        return int(np.argmax(view["logit"]))

    def forced_bytes(self, probe: Any, *, limit: int) -> tuple[bytes, bool]:
        """The bytes the grammar allows as the only continuation from here (at most ``limit``),
        and whether nothing but end-of-generation is allowed after them.

        ``probe`` holds one single-byte token per byte value (``tokens``, ``values``) and the
        end-of-text token (``eos``): one apply over them says which next bytes are allowed.
        A clone of the grammar state walks the forced bytes, so this state does not move.
        """
        import numpy as np

        if self._probe_key is not probe:
            self._probe_key = probe
            size = len(probe.tokens) + 1
            self._probe = (self._llama.llama_token_data * size)()
            self._probe_view = np.frombuffer(self._probe, dtype=self._all_view.dtype)
            self._probe_ids = np.array([*probe.tokens, probe.eos], dtype=np.int32)
            self._probe_array = self._llama.llama_token_data_array(
                data=self._probe, size=size, selected=-1, sorted=False
            )
        lib, view = self._llama, self._probe_view
        walker = lib.llama_sampler_clone(self._sampler)
        out = bytearray()
        try:
            while len(out) < limit:
                view["id"] = self._probe_ids
                view["logit"] = 0.0
                self._probe_array.size = len(view)
                lib.llama_sampler_apply(walker, lib.byref(self._probe_array))
                allowed = np.flatnonzero(view["logit"] != -np.inf)
                ids = view["id"][allowed]
                if probe.eos in ids:
                    return bytes(out), len(ids) == 1
                if len(ids) != 1:
                    break
                token = int(ids[0])
                out.append(probe.values[probe.tokens.index(token)])
                lib.llama_sampler_accept(walker, token)
        finally:
            lib.llama_sampler_free(walker)
        return bytes(out), False

    def close(self) -> None:
        if self._sampler:
            self._llama.llama_sampler_free(self._sampler)
            self._sampler = None

    def __enter__(self) -> CompiledGrammar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
