"""Training throughput: ``hammer train``'s trainer against a plain ``transformers.Trainer`` + peft.

Same model, same LoRA, same examples (one epoch's masked views), same batch size and steps, in
one process. The baselines are what a straightforward script does: batches padded to their
longest example (``DataCollatorForSeq2Seq``), the model's own loss (logits for every position),
in random order, and with the stock length grouping (``group_by_length`` / transformers 5's
``train_sampling_strategy="group_by_length"``), so that what our own work adds shows on its own.
Ours: length-grouped batches (:class:`EpochSampler`) with the output head only on answer
positions (``--packed`` adds flattened batches). All count real (non-padding) tokens.

Every trainer runs in fp32 and, where the CPU does bf16 natively, under bf16 autocast over fp32
weights (what ``dtype: auto`` picks there), side by side. Also printed: the machine, the library
versions, and the share of this machine's fp32 matmul peak each fp32 run reaches, with the usual
estimate 6 x parameters x tokens/s FLOP/s (an upper bound of the work done: LoRA on the top
layers skips most weight gradients, so the true share is lower).

    .venv/bin/python benchmarks/train_throughput.py               # SmolLM2-135M, BFCL live, 3 steps
    .venv/bin/python benchmarks/train_throughput.py --steps 8 --batch-size 4 --dtypes fp32
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from hammer_fc.cpu import cpu_flags, cpu_model
from hammer_fc.model_spec import load_hf, resolve
from hammer_fc.train.config import load_recipe
from hammer_fc.train.data import load_training_data
from hammer_fc.train.dataset import MaskedEpochDataset
from hammer_fc.train.model import parameter_counts, prepare_model
from hammer_fc.train.precision import CPU_BF16_FLAGS, Precision
from hammer_fc.train.trainer import make_trainer, training_arguments


def matmul_peak(size: int = 1024, repeats: int = 10) -> float:
    """Best observed fp32 GEMM FLOP/s per second of the process's cores (CPU time / threads, the
    same clock as the training rates, so that other processes on the machine cancel out)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    threads = torch.get_num_threads()
    best = 0.0
    for _ in range(repeats):
        start = time.process_time()
        a @ b
        best = max(best, 2 * size**3 / max((time.process_time() - start) / threads, 1e-9))
    return best


def timed_train(trainer) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, real tokens). On a shared machine the CPU
    time is the fairer clock: it does not count time other processes held the cores."""
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    result = time.perf_counter() - wall, time.process_time() - cpu, int(trainer.state.num_input_tokens_seen)
    print(f"  wall {result[0]:.1f} s, CPU {result[1]:.1f} s, {result[2]} tokens", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--data", default="bfcl:live_simple,bfcl:live_multiple,bfcl:live_parallel")
    parser.add_argument("--recipe", default="smollm2-cpu")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--cutoff", type=int, default=640)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="Interleaved runs of each; the best counts.")
    parser.add_argument("--packed", action="store_true", help="Also time packed (flattened) batches.")
    native = sorted(set(CPU_BF16_FLAGS) & cpu_flags())
    parser.add_argument(
        "--dtypes",
        default="fp32,bf16" if native else "fp32",
        help="Comma-separated: fp32, bf16 (default: both where the CPU has native bf16).",
    )
    args = parser.parse_args()
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    console = Console(width=None if sys.stdout.isatty() else 160)  # a log file gets the whole table
    import peft
    import transformers

    console.print(
        f"machine: {cpu_model()}, {os.cpu_count()} logical cores, native bf16: "
        f"{', '.join(native) or 'none'}; torch {torch.__version__}, transformers {transformers.__version__}, "
        f"peft {peft.__version__}"
    )

    n = args.steps * args.batch_size
    config = replace(
        load_recipe(args.recipe),
        batch_size=args.batch_size, grad_accum=1, max_steps=args.steps, epochs=1, token_budget=None,
        cutoff=args.cutoff,
        no_call_share=None, save_steps=10**9, logging_steps=10**9, warmup_ratio=0.0, seed=args.seed,
    )  # fmt: skip
    spec = resolve(args.model)
    base, tokenizer = load_hf(spec, dtype=torch.float32)
    items, lengths, _ = load_training_data(
        args.data.split(","), tokenizer, cutoff=config.cutoff, add_irrelevance_share=0.0,
        token_budget=None, epochs=1, seed=args.seed,
    )  # fmt: skip
    chosen = random.Random(args.seed).sample(range(len(items)), n)
    items, lengths = [items[i] for i in chosen], [lengths[i] for i in chosen]
    dataset = MaskedEpochDataset(
        items, tokenizer, mask_ratio=config.mask_ratio, seed=args.seed, cutoff=config.cutoff
    )
    features = [dataset[i] for i in range(n)]  # the same views for the baseline
    sizes = [len(f["input_ids"]) for f in features]
    console.print(
        f"{args.model}: {n} examples ({min(sizes)}-{max(sizes)} tokens, {sum(sizes)} in all), "
        f"{args.steps} steps of {args.batch_size}, {torch.get_num_threads()} threads"
    )

    from transformers import DataCollatorForSeq2Seq, Trainer

    def baseline(dtype: str, grouped: bool):
        plain_args = training_arguments(config, Path(tmp) / "baseline", Precision(dtype, "benchmark"))
        plain_args.include_num_input_tokens_seen = "non_padding"
        if grouped:  # the stock flag, under its name in the installed transformers
            names = {f.name for f in dataclasses.fields(plain_args)}
            if "group_by_length" in names:
                plain_args.group_by_length = True
            else:
                plain_args.train_sampling_strategy = "group_by_length"
        return Trainer(
            model=prepare_model(copy.deepcopy(base), config, args.model),
            args=plain_args,
            train_dataset=features,
            data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        )

    def ours(dtype: str, batching: str):
        return make_trainer(
            prepare_model(copy.deepcopy(base), config, args.model),
            tokenizer,
            dataset,
            training_arguments(config, Path(tmp) / batching, Precision(dtype, "benchmark")),
            [],
            batching=batching,
            lengths=lengths,
        )

    runs = {
        "Trainer+peft, padded": lambda dtype: baseline(dtype, grouped=False),
        "Trainer+peft, padded, group_by_length": lambda dtype: baseline(dtype, grouped=True),
        "hammer: grouped, head on answers": lambda dtype: ours(dtype, "grouped"),
    }
    if args.packed:
        runs["hammer: packed, head on answers"] = lambda dtype: ours(dtype, "packed")
    results: dict[tuple[str, str], tuple[float, float, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):  # interleaved, best of: the machine may be shared
            for dtype in dtypes:
                for name, build in runs.items():
                    console.print(f"run {repeat + 1}/{args.repeats}: {name}, {dtype}")
                    result = timed_train(build(dtype))
                    if (name, dtype) not in results or result[1] < results[name, dtype][1]:
                        results[name, dtype] = result
        _, total_params = parameter_counts(base)

    peak = matmul_peak()
    threads = torch.get_num_threads()
    table = Table(
        title=f"training throughput ({args.model}, {threads} threads, best of {args.repeats}, "
        f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s)"
    )
    table.add_column("trainer")
    for dtype in dtypes:
        table.add_column(f"{dtype} tok/s wall", justify="right")
        table.add_column(f"{dtype} tok/s CPU", justify="right")
        table.add_column(f"{dtype} vs padded", justify="right")
    if "bf16" in dtypes and "fp32" in dtypes:
        table.add_column("bf16 / fp32 (CPU)", justify="right")
    if "fp32" in dtypes:
        table.add_column("fp32 share of peak", justify="right")

    def cpu_rate(name: str, dtype: str) -> float:
        _, cpu, tokens = results[name, dtype]
        return tokens / cpu * threads  # tokens per second of the process's cores

    first = next(iter(runs))
    for name in runs:
        row = [name]
        for dtype in dtypes:
            wall, _, tokens = results[name, dtype]
            rate = cpu_rate(name, dtype)
            row += [f"{tokens / wall:.1f}", f"{rate:.1f}", f"{rate / cpu_rate(first, dtype):.2f}x"]
        if "bf16" in dtypes and "fp32" in dtypes:
            row.append(f"{cpu_rate(name, 'bf16') / cpu_rate(name, 'fp32'):.2f}x")
        if "fp32" in dtypes:
            row.append(f"{6 * total_params * cpu_rate(name, 'fp32') / peak:.1%}")
        table.add_row(*row)
    console.print(table)
    console.print(
        "tok/s CPU = tokens / (process CPU seconds / threads): the rate with the cores to itself; "
        "vs padded = against the first row in the same dtype; bf16 = autocast over fp32 weights; "
        "share of peak = 6 x params x tok/s CPU / fp32 matmul peak."
    )


if __name__ == "__main__":
    main()
