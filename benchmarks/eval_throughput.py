"""How much does reusing the prompt prefix's KV cache speed up ``hammer eval run``?

Cases/min of the evaluation runner's generation step (:func:`generate_predictions`, what
``hammer eval run`` times) on BFCL ``simple_python`` cases with the llama.cpp backend on the
embedded SmolLM2-135M GGUF, once with prefix-KV reuse and once recomputing every prompt, in one
process. Every Hammer prompt starts with the chat template's system turn and the task
instruction (about 210 tokens of a 450-600 token prompt), which reuse computes once.

The two modes run on two llama.cpp contexts, alternating in blocks of 10 cases (which one goes
first alternates too), so that load from other processes on a shared machine slows both alike.
Target: reuse at least 1.4x faster.

The answers of both modes are compared and the ones that differ shown. Reuse computes the same
values (the logits at the end of a prompt come out bit-identical), but recomputing a prompt of 513
tokens leaves its last token to a one-token micro-batch after llama.cpp's first 512, and a
one-token batch runs kernels that round differently; where the model's top two tokens are nearly
tied, greedy decoding then takes the other branch. (Measured: the 4 of 100 answers that differ
all come from 513-token prompts, and recomputed in one micro-batch, ``n_ubatch=2048``, each gives
the reused answer again.)

    .venv/bin/python benchmarks/eval_throughput.py                     # 100 cases
    .venv/bin/python benchmarks/eval_throughput.py --cases 20 --max-new-tokens 32
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hammer_fc.eval.benches import load_bench
from hammer_fc.eval.runner import build_cases, generate_predictions
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.model_spec import resolve
from machine import machine_lines

BLOCK = 10
TARGET = 1.4


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--max-new-tokens", type=int, default=64, help="an answer's length cap")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: its own)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    console = Console(stderr=True)
    bench = load_bench("bfcl:simple_python")
    cases = build_cases([bench], limit=args.cases, seed=args.seed, mask_names=False)
    spec = resolve("smollm2-135m", prefer="gguf")
    modes = {
        "reuse": LlamaCppBackend(spec, n_threads=args.threads, reuse_prefix=True),
        "recompute": LlamaCppBackend(spec, n_threads=args.threads, reuse_prefix=False),
    }
    totals = {mode: {"generated": 0, "seconds": 0.0} for mode in modes}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {mode: Path(tmp) / f"{mode}.jsonl" for mode in modes}
        for number, start in enumerate(range(0, len(cases), BLOCK)):
            block = cases[start : start + BLOCK]
            order = list(modes) if number % 2 == 0 else list(reversed(modes))
            for mode in order:
                console.print(f"cases {start}-{start + len(block) - 1}: {mode}")
                figures = generate_predictions(modes[mode], block, "hammer", args.max_new_tokens, paths[mode])
                for key in ("generated", "seconds"):
                    totals[mode][key] += figures[key]
        outputs = {mode: _outputs(path) for mode, path in paths.items()}
    params = modes["reuse"].llm.context_params
    threads, n_ctx = params.n_threads, params.n_ctx
    for backend in modes.values():
        backend.close()

    differ = sorted(i for i, text in outputs["reuse"].items() if outputs["recompute"].get(i) != text)
    rate = {mode: 60 * t["generated"] / t["seconds"] for mode, t in totals.items()}
    ratio = rate["reuse"] / rate["recompute"]
    table = Table(
        title=f"hammer eval run: {len(cases)} BFCL simple_python cases, llama.cpp, SmolLM2-135M Q4_1"
    )
    for column in ("mode", "cases/min", "seconds", "prompt tokens", "computed", "reused"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, backend in modes.items():
        stats = backend.stats
        table.add_row(
            mode,
            f"{rate[mode]:.1f}",
            f"{totals[mode]['seconds']:.1f}",
            str(stats.prompt_tokens),
            str(stats.prompt_tokens - stats.reused_tokens),
            f"{stats.reused_tokens} ({100 * stats.reuse_share:.0f}%)",
        )
    out = Console()
    out.print(table)
    for line in machine_lines("llama-cpp-python"):
        out.print(line)
    out.print(
        f"work on each side: the same {len(cases)} cases in prompt order, greedy, up to "
        f"{args.max_new_tokens} new tokens, threads {threads}, n_ctx {n_ctx}; only reuse_prefix differs"
    )
    out.print(
        f"reuse / recompute: {ratio:.2f}x (target >= {TARGET}x: {'met' if ratio >= TARGET else 'NOT met'}); "
        f"max_new_tokens={args.max_new_tokens}; identical answers: {len(cases) - len(differ)}/{len(cases)}"
    )
    for case_id in differ:
        a, b = outputs["reuse"][case_id], outputs["recompute"][case_id]
        at = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        out.print(f"  {case_id}: answers part at character {at}: {a[at : at + 30]!r} vs {b[at : at + 30]!r}")


def _outputs(path: Path) -> dict[str, str]:
    return {r["id"]: r["output"] for r in map(json.loads, path.read_text().splitlines())}


if __name__ == "__main__":
    main()
