"""Jump-forward decoding against token-by-token constrained decoding (goal: whole answers >= 1.5x
faster on the 5-tool call).

Both sides are the llama.cpp backend ``hammer serve`` uses, the same GGUF, the same grammar (the
tools' constrained-decoding grammar, ``tool_choice: auto``) and the bench's 1/5/20-tool prompts
(``hammer bench``'s BFCL prompts); the only difference is ``jump_forward``. Each prompt is timed
two ways:

- **end to end**: a cold prompt (no KV reuse), prefill + the whole constrained answer, what the
  first request with a new tool list costs;
- **answer only**: the prompt's KV cells kept, so the time is the answer's decoding; decode
  tok/s = answer tokens / that time.

Runs alternate (off, on, off, on, ...) so that a change in the machine's load hits both; medians
are reported, and the answers must be identical (checked).

    .venv/bin/python benchmarks/jump_forward.py [--model X.gguf] [--threads N] [--repeats 5] [--tools 1,5,20]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from hammer_fc.bench.prompts import TOOL_COUNTS, bench_examples
from hammer_fc.inference.grammar import grammar_for_tools
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.model_spec import resolve


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def timed(backend: LlamaCppBackend, prompt: str, grammar: str, tokens: int) -> tuple[float, str, int]:
    before = backend.stats.generated_tokens
    start = time.perf_counter()
    text = backend.generate([prompt], max_new_tokens=tokens, grammar=grammar)[0]
    return time.perf_counter() - start, text, backend.stats.generated_tokens - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a .gguf file (default: the embedded model)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=256, help="most answer tokens")
    parser.add_argument("--tools", default=",".join(map(str, TOOL_COUNTS)), help="tool counts, e.g. 1,5,20")
    args = parser.parse_args()

    backend = LlamaCppBackend(resolve(args.model, prefer="gguf"), n_ctx=4096, n_threads=args.threads)
    counts = tuple(int(n) for n in args.tools.split(","))
    examples = {n: e for n, e in bench_examples(TOOL_COUNTS, random.Random(0)).items() if n in counts}
    rows: list[dict[str, Any]] = []
    try:
        for count, example in sorted(examples.items()):
            prompt = backend.format(example, "hammer")
            grammar = grammar_for_tools(example.tools, "auto")
            backend.generate([prompt], max_new_tokens=2, grammar=grammar)  # warm-up
            times: dict[tuple[str, bool], list[float]] = {}
            answers: dict[bool, set[str]] = {False: set(), True: set()}
            n_tokens, jumped = 0, 0
            for _ in range(args.repeats):
                for jump in (False, True):
                    backend.jump_forward = jump
                    backend.reuse_prefix = False
                    cold, text, n = timed(backend, prompt, grammar, args.tokens)
                    backend.reuse_prefix = True
                    before = backend.stats.jumped_tokens
                    warm, again, _ = timed(backend, prompt, grammar, args.tokens)
                    if jump:
                        jumped = backend.stats.jumped_tokens - before
                    times.setdefault(("cold", jump), []).append(cold)
                    times.setdefault(("warm", jump), []).append(warm)
                    answers[jump] |= {text, again}
                    n_tokens = n
            same = len(answers[False] | answers[True]) == 1
            med = {key: statistics.median(values) for key, values in times.items()}
            rows.append(
                {
                    "tools": count,
                    "prompt_tokens": backend.count_tokens(prompt),
                    "answer_tokens": n_tokens,
                    "jumped": jumped,
                    "same": same,
                    **{f"{kind}_{'on' if jump else 'off'}": value for (kind, jump), value in med.items()},
                }
            )
    finally:
        backend.close()

    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, threads={args.threads or 'default'}")
    print(f"versions: llama-cpp-python {version('llama-cpp-python')}, hammer-fc {version('hammer-fc')}")
    print(f"model: {args.model}; grammar-constrained tool call, tool_choice auto; median of {args.repeats}")
    print(
        "| tools | prompt tok | answer tok (jumped) | end to end off / on (s) | speed-up "
        "| answer only off / on (s) | speed-up | decode tok/s off / on | same answer |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for r in rows:
        print(
            f"| {r['tools']} | {r['prompt_tokens']} | {r['answer_tokens']} ({r['jumped']}) "
            f"| {r['cold_off']:.3f} / {r['cold_on']:.3f} | {r['cold_off'] / r['cold_on']:.2f}x "
            f"| {r['warm_off']:.3f} / {r['warm_on']:.3f} | {r['warm_off'] / r['warm_on']:.2f}x "
            f"| {r['answer_tokens'] / r['warm_off']:.1f} / {r['answer_tokens'] / r['warm_on']:.1f} "
            f"| {'yes' if r['same'] else 'NO'} |"
        )


if __name__ == "__main__":
    main()
