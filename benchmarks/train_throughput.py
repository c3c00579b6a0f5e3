"""Training throughput: ``hammer train``'s trainer against a plain ``transformers.Trainer`` + peft.

Same model, same LoRA, same examples (one epoch's masked views), same batch size and steps, in
one process. The baseline is what a straightforward script does: random order, batches padded
to their longest example (``DataCollatorForSeq2Seq``), the model's own loss (logits for every
position). Ours: padding-free flattened batches (block-diagonal attention from position ids) and
the output head only on answer positions. Both count real (non-padding) tokens.

Also prints the share of this machine's fp32 matmul peak each reaches, with the usual estimate
6 x parameters x tokens/s FLOP/s (an upper bound of the work done: LoRA on the top layers skips
most weight gradients, so the true share is lower).

    .venv/bin/python benchmarks/train_throughput.py               # SmolLM2-135M, BFCL live, 4 steps
    .venv/bin/python benchmarks/train_throughput.py --steps 8 --batch-size 4
"""

from __future__ import annotations

import argparse
import copy
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from hammer_fc.models import load_hf, resolve
from hammer_fc.train.config import load_recipe
from hammer_fc.train.data import load_training_data
from hammer_fc.train.dataset import MaskedEpochDataset
from hammer_fc.train.model import parameter_counts, prepare_model
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
    args = parser.parse_args()
    console = Console()

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

    def baseline():
        plain_args = training_arguments(config, Path(tmp) / "baseline")
        plain_args.include_num_input_tokens_seen = "non_padding"
        return Trainer(
            model=prepare_model(copy.deepcopy(base), config, args.model),
            args=plain_args,
            train_dataset=features,
            data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        )

    def ours(batching: str):
        return make_trainer(
            prepare_model(copy.deepcopy(base), config, args.model),
            tokenizer,
            dataset,
            training_arguments(config, Path(tmp) / batching),
            [],
            batching=batching,
            lengths=lengths,
        )

    runs = {
        "transformers.Trainer + peft, padded": baseline,
        "hammer train, grouped, head on answers": lambda: ours("grouped"),
    }
    if args.packed:
        runs["hammer train, packed, head on answers"] = lambda: ours("packed")
    results: dict[str, tuple[float, float, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):  # interleaved, best of: the machine may be shared
            for name, build in runs.items():
                console.print(f"run {repeat + 1}/{args.repeats}: {name}")
                result = timed_train(build())
                if name not in results or result[1] < results[name][1]:
                    results[name] = result
        _, total_params = parameter_counts(base)

    peak = matmul_peak()
    table = Table(title=f"training throughput ({args.model}, fp32 matmul peak {peak / 1e9:.1f} GFLOP/s)")
    columns = (
        "trainer",
        "wall s",
        "CPU s",
        "tokens",
        "tok/s wall",
        "tok/s CPU",
        "speedup (CPU)",
        "share of peak",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "trainer" else "right")
    base_rate = None
    threads = torch.get_num_threads()
    for name, (wall, cpu, tokens) in results.items():
        rate = tokens / cpu * threads  # tokens per second of the process's cores
        base_rate = base_rate or rate
        table.add_row(
            name, f"{wall:.1f}", f"{cpu:.1f}", str(tokens), f"{tokens / wall:.1f}", f"{rate:.1f}",
            f"{rate / base_rate:.2f}x", f"{6 * total_params * rate / peak:.1%}",
        )  # fmt: skip
    console.print(table)
    console.print(
        "tok/s CPU = tokens / (process CPU seconds / threads): the rate with the cores to itself; "
        "share of peak = 6 x params x tok/s CPU / matmul peak."
    )


if __name__ == "__main__":
    main()
