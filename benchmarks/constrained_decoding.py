"""What does schema-constrained decoding cost? Decode tokens/s with and without the tool grammar.

The same Hammer prompts (BFCL cases, their own tools, the ``hammer`` template) are decoded
greedily by the llama.cpp backend the server uses, once free and once under the grammar
``hammer serve`` would build for the request (``tool_choice: auto``). Each prompt is first
prefilled (a one-token generation), so the timed run finds the whole prompt in the KV cache and
measures decoding alone. Free and constrained runs alternate prompt by prompt so that a busy
machine slows both alike. Target: constrained at most 15% slower.

For scale, ``--naive N`` also decodes N prompts with llama-cpp-python's own grammar sampler
(``create_completion(grammar=...)``), which masks the whole vocabulary at every step.

    .venv/bin/python benchmarks/constrained_decoding.py                # 20 BFCL cases
    .venv/bin/python benchmarks/constrained_decoding.py --cases 40 --naive 5
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.inference.grammar import grammar_for_tools
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.models import resolve


def timed_decode(
    backend: LlamaCppBackend, prompt: str, grammar: str | None, max_new: int
) -> tuple[int, float]:
    """(tokens generated, seconds) for decoding only: the prompt is prefilled first."""
    backend.generate([prompt], max_new_tokens=1)
    before = backend.stats.generated_tokens
    start = time.perf_counter()
    backend.generate([prompt], max_new_tokens=max_new, grammar=grammar)
    return backend.stats.generated_tokens - before, time.perf_counter() - start


def naive_decode(backend: LlamaCppBackend, prompt: str, grammar: str, max_new: int) -> tuple[int, float]:
    """llama-cpp-python's grammar sampler, decoding only (the prompt is prefilled first)."""
    import llama_cpp

    llm = backend.llm
    compiled = llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    llm.create_completion(prompt, max_tokens=1, temperature=0.0)
    start = time.perf_counter()
    out = llm.create_completion(prompt, max_tokens=max_new, temperature=0.0, grammar=compiled)
    return out["usage"]["completion_tokens"], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="GGUF path or embedded alias")
    parser.add_argument("--category", default="simple_python", help="BFCL category for the prompts")
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--naive", type=int, default=0, help="also time N prompts with llama-cpp-python's sampler"
    )
    args = parser.parse_args()

    console = Console()
    backend = LlamaCppBackend(resolve(args.model, prefer="gguf"), n_ctx=4096, n_threads=args.threads)
    cases = load_bfcl(args.category)[: args.cases]
    totals = {"free": [0, 0.0], "constrained": [0, 0.0], "llama-cpp-python grammar": [0, 0.0]}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("decoding", total=len(cases) + min(args.naive, len(cases)))
        for case in cases:
            prompt = backend.format(case, "hammer")
            grammar = grammar_for_tools(case.tools, "auto")
            for name, use in (("free", None), ("constrained", grammar)):
                tokens, seconds = timed_decode(backend, prompt, use, args.max_new_tokens)
                totals[name][0] += tokens
                totals[name][1] += seconds
            progress.advance(task)
        for case in cases[: args.naive]:
            prompt = backend.format(case, "hammer")
            tokens, seconds = naive_decode(
                backend, prompt, grammar_for_tools(case.tools, "auto"), args.max_new_tokens
            )
            totals["llama-cpp-python grammar"][0] += tokens
            totals["llama-cpp-python grammar"][1] += seconds
            progress.advance(task)
    backend.close()

    free_rate = totals["free"][0] / totals["free"][1]
    table = Table(
        title=f"Decode speed, {args.model}, {len(cases)} BFCL {args.category} prompts, {args.threads} threads"
    )
    for column in ("decoding", "tokens", "seconds", "tokens/s", "vs free"):
        table.add_column(column, justify="left" if column == "decoding" else "right")
    for name, (tokens, seconds) in totals.items():
        if tokens:
            rate = tokens / seconds
            table.add_row(name, str(tokens), f"{seconds:.2f}", f"{rate:.1f}", f"{rate / free_rate - 1:+.1%}")
    console.print(table)
    slowdown = 1 - (totals["constrained"][0] / totals["constrained"][1]) / free_rate
    verdict = "meets" if slowdown <= 0.15 else "misses"
    change = f"{slowdown:.1%} slower" if slowdown > 0 else f"{-slowdown:.1%} faster"
    console.print(f"constrained decoding is {change} than free: {verdict} the target (at most 15% slower)")


if __name__ == "__main__":
    main()
