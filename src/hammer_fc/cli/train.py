"""``hammer train``: fine-tune a causal LM with function masking (see :mod:`hammer_fc.train`).

Multi-GPU / multi-node: ``accelerate launch --config_file configs/accelerate/<ddp|fsdp|deepspeed-zero2>.yaml
-m hammer_fc.cli train <the same options>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=False, pretty_exceptions_enable=False)


@app.callback(invoke_without_command=True)
def train(
    out_dir: Annotated[
        Path, typer.Option("-o", "--out", help="Where the model, checkpoints and reports go.")
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="smollm2-135m, a Hugging Face id or a local directory."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help="Comma-separated sources: data files, prepared JSONL, bfcl:live, hf:ORG/NAME[:SPLIT] ...",
        ),
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", "-c", help="Recipe YAML: a path or a name in configs/.")
    ] = None,
    mask_ratio: Annotated[
        float | None, typer.Option(help="Share of examples masked, drawn afresh each epoch (paper: 0.33).")
    ] = None,
    add_irrelevance: Annotated[
        float | None, typer.Option(help="Share of extra no-call examples to add.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs, each with freshly drawn masking.")] = None,
    masking: Annotated[
        str | None,
        typer.Option(help="hammer (ours) or released (the authors' script; use --mask-ratio 0.667)."),
    ] = None,
    template: Annotated[
        str | None, typer.Option(help="Prompt template: hammer (default) or authors-sft (the authors' rows).")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many optimizer steps.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in -o.")
    ] = False,
    full: Annotated[bool, typer.Option("--full", help="Full fine-tuning instead of LoRA.")] = False,
    dtype: Annotated[
        str | None,
        typer.Option(help="auto (the recipe's default: what this machine does fast), bf16, fp16 or fp32."),
    ] = None,
) -> None:
    """Fine-tune with function masking re-drawn every epoch; LoRA by default."""
    from hammer_fc.errors import HammerError
    from hammer_fc.outputs import check_output_dir
    from hammer_fc.train.config import load_recipe
    from hammer_fc.train.trainer import TrainJob, run_training

    if not resume and (model is None or data is None):
        raise HammerError("--model and --data are required (unless --resume)")
    if resume and not out_dir.is_dir():  # not created just to say so
        raise HammerError("nothing to resume: no such folder", file=str(out_dir))
    check_output_dir(out_dir)  # before loading the model and reading the data
    recipe = load_recipe(
        config,
        mask_ratio=mask_ratio,
        add_irrelevance=add_irrelevance,
        epochs=epochs,
        masking=masking,
        template=template,
        max_steps=max_steps,
        finetune="full" if full else None,
        dtype=dtype,
    )
    sources = [s.strip() for s in data.split(",") if s.strip()] if data else []
    result = run_training(
        TrainJob(model or "", sources, out_dir, recipe, resume=resume), Console(stderr=True)
    )
    if not result.main_process:
        return
    table = Table(title=f"trained -> {result.out_dir}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.summary.items():
        table.add_row(key, str(value))
    table.add_row("examples", str(result.stats.examples))
    table.add_row("skipped over cut-off", str(result.stats.over_cutoff))
    Console().print(table)
