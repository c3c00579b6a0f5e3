"""What does schema-constrained decoding cost? Grammar vs no grammar inside the same pipeline.

The same Hammer prompts (BFCL cases, their own tools, the ``hammer`` template) are decoded
greedily, free and under the grammar ``hammer serve`` builds for the request (``tool_choice:
auto``), by two pipelines on the same ``Llama`` object, every case through all four runs:

* ``llama-cpp-python``: its own ``create_completion`` (sampler chain at temperature 0,
  detokenisation, stop checks), free and with ``grammar=LlamaGrammar`` (llama.cpp's grammar
  sampler, which masks the whole vocabulary at every step);
* ``ours``: the loop ``hammer serve`` runs (``LlamaCppBackend.generate``: ``Llama.eval`` per
  token, argmax in numpy), free and with our grammar stepping (the greedy token is checked
  first; the vocabulary is masked only when it is rejected).

Each prompt is first prefilled (a one-token generation), so every timed run finds the prompt in
the KV cache and measures decoding alone. Within a case the four runs go back to back, in an
order that rotates from case to case, so that a busy machine slows all four alike. The figure
that answers the question is each pipeline's grammar/free ratio; the free rows of the two
pipelines side by side give the cost of the pipelines themselves. Target: our constrained
decoding at most 15% slower than our free decoding.

    .venv/bin/python benchmarks/constrained_decoding.py                # 20 BFCL cases
    .venv/bin/python benchmarks/constrained_decoding.py --cases 40 --threads 1
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import llama_cpp
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.inference.grammar import grammar_for_tools
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.model_spec import resolve
from machine import machine_lines

RUNS = ("llama-cpp-python free", "llama-cpp-python grammar", "ours free", "ours grammar")


def ours(backend: LlamaCppBackend, prompt: str, grammar: str | None, max_new: int) -> tuple[int, float, str]:
    """(tokens generated, seconds, text) for decoding only: the prompt is prefilled first."""
    backend.generate([prompt], max_new_tokens=1)
    before = backend.stats.generated_tokens
    start = time.perf_counter()
    text = backend.generate([prompt], max_new_tokens=max_new, grammar=grammar)[0]
    return backend.stats.generated_tokens - before, time.perf_counter() - start, text


def theirs(
    backend: LlamaCppBackend, prompt: str, grammar: llama_cpp.LlamaGrammar | None, max_new: int
) -> tuple[int, float, str]:
    """The same through llama-cpp-python's ``create_completion`` (its prompt cache keeps the
    prefilled prompt: only the last prompt token is evaluated again, as in ours)."""
    llm = backend.llm
    llm.create_completion(prompt, max_tokens=1, temperature=0.0)
    start = time.perf_counter()
    out = llm.create_completion(prompt, max_tokens=max_new, temperature=0.0, grammar=grammar)
    seconds = time.perf_counter() - start
    return out["usage"]["completion_tokens"], seconds, out["choices"][0]["text"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="GGUF path or embedded alias")
    parser.add_argument("--category", default="simple_python", help="BFCL category for the prompts")
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    console = Console(width=max(Console().width, 110))
    backend = LlamaCppBackend(resolve(args.model, prefer="gguf"), n_ctx=4096, n_threads=args.threads)
    cases = load_bfcl(args.category)[: args.cases]
    totals = {name: [0, 0.0] for name in RUNS}
    same_free = same_grammar = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("decoding", total=len(cases))
        for index, case in enumerate(cases):
            prompt = backend.format(case, "hammer")
            text = grammar_for_tools(case.tools, "auto")
            compiled = llama_cpp.LlamaGrammar.from_string(text, verbose=False)
            jobs = {
                RUNS[0]: partial(theirs, backend, prompt, None, args.max_new_tokens),
                RUNS[1]: partial(theirs, backend, prompt, compiled, args.max_new_tokens),
                RUNS[2]: partial(ours, backend, prompt, None, args.max_new_tokens),
                RUNS[3]: partial(ours, backend, prompt, text, args.max_new_tokens),
            }
            order = RUNS[index % 4 :] + RUNS[: index % 4]
            texts = {}
            for name in order:
                tokens, seconds, texts[name] = jobs[name]()
                totals[name][0] += tokens
                totals[name][1] += seconds
            same_free += texts[RUNS[0]] == texts[RUNS[2]]
            same_grammar += texts[RUNS[1]] == texts[RUNS[3]]
            progress.advance(task)
    params = backend.llm.context_params
    backend.close()

    rates = {name: tokens / seconds for name, (tokens, seconds) in totals.items()}
    table = Table(
        title=f"Decode speed, {args.model}, {len(cases)} BFCL {args.category} prompts, {args.threads} threads"
    )
    for column in ("pipeline, decoding", "tokens", "seconds", "tokens/s", "vs same pipeline free"):
        table.add_column(column, justify="left" if column.startswith("pipeline") else "right")
    for name, (tokens, seconds) in totals.items():
        free = rates[name.replace("grammar", "free")]
        change = "" if name.endswith("free") else f"{rates[name] / free - 1:+.1%}"
        table.add_row(name, str(tokens), f"{seconds:.2f}", f"{rates[name]:.1f}", change)
    console.print(table)
    for line in machine_lines("llama-cpp-python", "numpy"):
        console.print(line)
    console.print(
        f"work: each case prefilled once per run, then up to {args.max_new_tokens} tokens decoded "
        f"greedily; n_ctx {params.n_ctx}, n_batch {params.n_batch}; same text, llama-cpp-python vs "
        f"ours: free {same_free}/{len(cases)}, grammar {same_grammar}/{len(cases)}"
    )
    slowdown = 1 - rates["ours grammar"] / rates["ours free"]
    verdict = "meets" if slowdown <= 0.15 else "misses"
    change = f"{slowdown:.1%} slower" if slowdown > 0 else f"{-slowdown:.1%} faster"
    theirs_change = rates["llama-cpp-python grammar"] / rates["llama-cpp-python free"] - 1
    console.print(
        f"ours: constrained decoding is {change} than free: {verdict} the target (at most 15% slower); "
        f"llama-cpp-python's grammar changes its own speed by {theirs_change:+.1%}"
    )


if __name__ == "__main__":
    main()
