"""Measure one GGUF file through the serving path; runs in a fresh process per model.

Everything goes through the llama.cpp backend the server uses (``backend.format`` renders the
prompt with the model's chat template, ``backend.generate`` decodes greedily, with the tools'
grammar for the tool call as ``hammer serve`` does by default), so the figures are what a user
of ``hammer serve`` gets minus HTTP. Prefix KV reuse is switched off: every prompt is
processed cold (what the first request with a new tool list costs), except when decode speed is
measured: there the prompt's KV cache is reused so that the timing holds decode steps only.

A fresh process per model keeps memory figures apart: the peak resident set is the process's
own high-water mark (``VmHWM``), and ``model_rss_mib`` is that peak less the resident set
measured after imports and before loading, i.e. weights touched, KV cache and compute buffers.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hammer_fc.schema import Example

TEMPLATE = "hammer"


@dataclass(frozen=True)
class BenchSettings:
    """What every model is measured with (recorded in the output next to the figures)."""

    threads: int | None = None
    """llama.cpp threads (``None``: llama.cpp's default)."""
    n_ctx: int = 4096
    """Context size: fits the 20-tool prompt and its answer; the KV cache is sized by it."""
    repeats: int = 3
    """Timed runs per figure; the median is reported."""
    decode_tokens: int = 128
    """Most tokens generated when measuring decode speed (greedy stops earlier at end of turn)."""
    call_tokens: int = 256
    """Most tokens of the one tool call."""


def _median_time(fn: Any, repeats: int) -> tuple[float, Any]:
    """Median wall time of ``fn()`` over ``repeats`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mib() -> float:
    """This process image's high-water mark. Linux keeps ``ru_maxrss`` across fork + exec, so a
    spawned child of a large parent (the quickstart has trained a model) would report the
    parent's peak; ``VmHWM`` belongs to the current address space only."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _first_delta(backend: Any, prompt: str, grammar: str, max_new_tokens: int) -> float:
    """Seconds until the stream's first tool-call delta (the call's id and name, what a client
    can act on), read by the server's own answer builder; the whole answer's time if none."""
    from hammer_fc.serve.responses import AnswerBuilder

    builder = AnswerBuilder("calls", lambda: "call")
    start = time.perf_counter()
    stream = backend.stream(prompt, max_new_tokens=max_new_tokens, grammar=grammar)
    try:
        for piece in stream:
            if any("tool_calls" in delta for delta in builder.feed(piece.text)):
                break
    finally:
        stream.close()
    return time.perf_counter() - start


def measure_model(path: str, examples: dict[int, Example], call_tools: int, settings: BenchSettings) -> dict:
    """All figures for one model file (see the module docstring for what each one means)."""
    from hammer_fc.inference.grammar import grammar_for_tools
    from hammer_fc.inference.load import load_backend
    from hammer_fc.model_spec import resolve
    from hammer_fc.prompts import parse_calls
    from hammer_fc.prompts.chat_format import ChatFormat
    from hammer_fc.serve.responses import AnswerBuilder

    ChatFormat(template="{{ messages[0]['content'] }}").wrap("x")  # import the renderer before the baseline
    AnswerBuilder("calls", str)  # and the server's code (the first-delta figure reads with it)
    baseline = _rss_mib()
    start = time.perf_counter()
    backend = load_backend(
        resolve(path, prefer="gguf"),
        "llamacpp",
        n_ctx=settings.n_ctx,
        n_threads=settings.threads,
        reuse_prefix=False,
    )
    load_s = time.perf_counter() - start
    try:
        backend.generate([backend.format(examples[min(examples)], TEMPLATE)], max_new_tokens=2)  # warm-up
        rows = []
        for count, example in sorted(examples.items()):
            prompt = backend.format(example, TEMPLATE)
            n_prompt = backend.count_tokens(prompt)
            backend.reuse_prefix = False  # cold: the whole prompt is processed
            first_s, _ = _median_time(
                lambda p=prompt: backend.generate([p], max_new_tokens=1), settings.repeats
            )
            # Warm: the prompt's KV cells are kept, only its last token is evaluated again, then the
            # answer is decoded; so the time is (1 + fed-back tokens) single-token steps.
            backend.reuse_prefix = True
            before = backend.stats.generated_tokens
            decode_s, _ = _median_time(
                lambda p=prompt: backend.generate([p], max_new_tokens=settings.decode_tokens),
                settings.repeats,
            )
            n_new = (backend.stats.generated_tokens - before) // settings.repeats
            steps = n_new if n_new < settings.decode_tokens else n_new - 1  # the last token is not fed back
            rows.append(
                {
                    "tools": count,
                    "prompt_tokens": n_prompt,
                    "prefill_tok_s": n_prompt / first_s,
                    "decode_tokens": n_new,
                    "decode_tok_s": (steps + 1) / decode_s,
                }
            )
        backend.reuse_prefix = False
        example = examples[call_tools]
        prompt = backend.format(example, TEMPLATE)
        grammar = grammar_for_tools(example.tools, "auto")
        ttft_s, _ = _median_time(
            lambda: backend.generate([prompt], max_new_tokens=1, grammar=grammar), settings.repeats
        )
        first_delta_s, _ = _median_time(
            lambda: _first_delta(backend, prompt, grammar, settings.call_tokens), settings.repeats
        )
        before = backend.stats.generated_tokens
        latency_s, texts = _median_time(
            lambda: backend.generate([prompt], max_new_tokens=settings.call_tokens, grammar=grammar),
            settings.repeats,
        )
        calls = parse_calls(texts[0])
        gold = [c.name for c in example.calls or []]
        tool_call = {
            "tools": call_tools,
            "prompt_tokens": backend.count_tokens(prompt),
            "output_tokens": (backend.stats.generated_tokens - before) // settings.repeats,
            "ttft_s": ttft_s,
            "first_delta_s": first_delta_s,
            "latency_s": latency_s,
            "output": texts[0],
            "calls": [c.name for c in calls] if isinstance(calls, list) else None,
            "right_function": isinstance(calls, list) and [c.name for c in calls] == gold,
        }
    finally:
        backend.close()
    peak = _peak_rss_mib()
    return {
        "load_s": load_s,
        "peak_rss_mib": peak,
        "model_rss_mib": peak - baseline,
        "prompts": rows,
        "tool_call": tool_call,
    }
