"""``hammer train``: the glue between the data, the model and ``transformers.Trainer``.

Batches never attend across examples and waste little on padding: ``grouped`` batches hold
examples of similar length padded to their longest; ``packed`` batches flatten a micro-batch into
one row with position ids restarting at every example (``DataCollatorWithFlattening``; transformers
builds a block-diagonal causal mask). The output head runs only where an answer token is
predicted (:mod:`.loss`).

Same command, same seed, same adapter: torch is seeded before the adapter is created, the
sampler and dataset make every item (order, masking) a pure function of the seed and its index,
the Trainer seeds dropout, and ``dtype: auto`` decides once per machine (:mod:`.precision`).
Checkpoints carry the optimizer, scheduler and RNG states and are published whole
(:mod:`.checkpoints`), so ``--resume`` from the newest whole one replays the same order and ends
with the same weights as an uninterrupted run. The final model is written into ``-o`` in place,
under a marker that loaders refuse until it is whole (:mod:`.unfinished`).

Multi-GPU / multi-node: the same entry point under ``accelerate launch`` (configs/accelerate/).
"""

from __future__ import annotations

import copy
import json
import math
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from hammer_fc.errors import HammerError
from hammer_fc.model_spec import load_tokenizer, resolve
from hammer_fc.outputs import mark_finished, mark_unfinished
from hammer_fc.train.checkpoints import STAGING, checkpoints, newest_complete, publish
from hammer_fc.train.config import TrainConfig, dump_recipe, read_saved
from hammer_fc.train.data import DataStats, load_training_data
from hammer_fc.train.dataset import EpochSampler, MaskedEpochDataset
from hammer_fc.train.loss import answer_only_loss
from hammer_fc.train.model import build_model, parameter_counts
from hammer_fc.train.precision import Precision, accelerator
from hammer_fc.train.progress import RichProgress
from hammer_fc.train.report import loss_points, model_card, plot_loss

RUN_FILE = "run.yaml"
CONFIG_FILE = "train_config.yaml"
STATS_FILE = "data_stats.json"
CHECKPOINTS = "checkpoints"


@dataclass
class TrainJob:
    model: str
    data: list[str]
    out_dir: Path
    config: TrainConfig
    resume: bool = False
    command: str = field(default_factory=lambda: shlex.join(["hammer", *sys.argv[1:]]))
    precision: Precision | None = None
    """Set on resume: the precision the run chose when it started (``auto`` is not re-decided)."""


@dataclass
class TrainResult:
    out_dir: Path
    stats: DataStats
    summary: dict[str, Any]
    main_process: bool = True
    """False in the other processes of a distributed run (they print nothing)."""


def _resumed_job(job: TrainJob) -> TrainJob:
    """With ``--resume`` the saved run is the truth: same model, data and recipe."""
    run_file, config_file = job.out_dir / RUN_FILE, job.out_dir / CONFIG_FILE
    if not run_file.is_file() or not config_file.is_file():
        raise HammerError("nothing to resume: no run.yaml / train_config.yaml here", file=str(job.out_dir))
    saved = yaml.safe_load(run_file.read_text())
    for key, given in (("model", job.model), ("data", job.data)):
        if given and given != saved[key]:
            raise HammerError(f"--resume with a different {key} ({given!r}; the run used {saved[key]!r})")
    precision = Precision(**saved["precision"]) if saved.get("precision") else None
    return TrainJob(
        saved["model"], saved["data"], job.out_dir, read_saved(config_file), True, saved["command"], precision
    )


def training_arguments(config: TrainConfig, out_dir: Path, precision: Precision) -> Any:
    """``use_cpu`` on a machine without an accelerator makes several ``accelerate launch``
    processes join one gloo group (DDP on CPU) instead of each training alone. bf16 / fp16 are
    mixed precision (autocast); the warm-up is set by :func:`make_trainer` from the ratio."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(out_dir / CHECKPOINTS),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        bf16=precision.dtype == "bf16",
        fp16=precision.dtype == "fp16",
        logging_steps=config.logging_steps,
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",  # from the attention mask ("all" when packed)
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        ddp_find_unused_parameters=False,
        use_cpu=accelerator() is None,
    )


def make_trainer(
    model: Any,
    tokenizer: Any,
    dataset: MaskedEpochDataset,
    args: Any,
    callbacks: list,
    *,
    batching: str = "grouped",
    lengths: list[int] | None = None,
    warmup_ratio: float = 0.0,
) -> Any:
    """A ``Trainer`` with :class:`EpochSampler` order, ``grouped`` (length-grouped, padded) or
    ``packed`` (flattened) batches, the answer-only head (:mod:`.loss`), a warm-up of
    ``warmup_ratio`` of the steps, and checkpoints published whole (:mod:`.checkpoints`)."""
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening, PrinterCallback, Trainer

    n = len(dataset)
    if batching == "packed":
        collator = DataCollatorWithFlattening(return_position_ids=True, separator_id=-100)
        args.include_num_input_tokens_seen = "all"
        lengths = None
    else:  # right padding: the model numbers positions from 0 at the left
        right = copy.copy(tokenizer)
        right.padding_side = "right"
        collator = DataCollatorForSeq2Seq(right, padding=True, label_pad_token_id=-100)

    class HammerTrainer(Trainer):
        _staging = False
        """True while a checkpoint is being written: it goes to the staging folder."""

        def _get_train_sampler(self, train_dataset: Any = None) -> EpochSampler:
            return EpochSampler(
                n, seed=args.seed, lengths=lengths, batch_size=args.per_device_train_batch_size
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = answer_only_loss(model, inputs, num_items_in_batch)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes  # num_items counts every process's tokens
            return (loss, None) if return_outputs else loss

        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            """Warm-up steps from the recipe's ratio: ``warmup_steps`` takes a ratio only from
            transformers 5 on (and ``warmup_ratio`` is gone there), an int in every version."""
            self.args.warmup_steps = math.ceil(warmup_ratio * num_training_steps)
            return super().create_scheduler(num_training_steps, optimizer)

        def _get_output_dir(self, trial: Any) -> str:
            run_dir = super()._get_output_dir(trial)
            return os.path.join(run_dir, STAGING) if self._staging else run_dir

        def _save_checkpoint(self, model: Any, trial: Any) -> None:
            """Write into the staging folder (every process's files), then publish it in one
            rename and only then drop checkpoints over ``save_total_limit``."""
            from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

            self._staging = True
            try:
                super()._save_checkpoint(model, trial)
            finally:
                self._staging = False
            self.accelerator.wait_for_everyone()
            if self.args.should_save:
                run_dir = Path(super()._get_output_dir(trial))
                name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
                publish(run_dir / STAGING / name, run_dir / name)
                if self.args.save_total_limit:  # the oldest go, never one not yet replaced
                    for _, old in checkpoints(run_dir)[self.args.save_total_limit :]:
                        shutil.rmtree(old)
            self.accelerator.wait_for_everyone()

    trainer = HammerTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # RichProgress prints the logs
    return trainer


def run_training(job: TrainJob, console: Console | None = None) -> TrainResult:
    """Train, then write the model (adapter or full), tokenizer, recipe, data stats, loss curve
    and model card to ``job.out_dir``. Progress goes to ``console`` (the CLI's); none is shown
    without one, so a caller embedding the trainer keeps its own output."""
    if job.resume:
        job = _resumed_job(job)
    elif checkpoints(job.out_dir / CHECKPOINTS):
        raise HammerError(
            "already holds checkpoints: pass --resume or choose another -o", file=str(job.out_dir)
        )
    config = job.config
    spec = resolve(job.model)
    if spec.kind != "hf":
        raise HammerError(f"{job.model} cannot be trained with transformers", field="model")
    try:
        tokenizer = load_tokenizer(spec)
    except (OSError, ValueError) as err:
        raise HammerError(f"cannot load a tokenizer for {job.model!r}: {err}", field="model") from err
    items, lengths, stats = load_training_data(
        job.data,
        tokenizer,
        cutoff=config.cutoff,
        add_irrelevance_share=config.add_irrelevance,
        no_call_share=config.no_call_share,
        token_budget=config.token_budget,
        epochs=config.epochs,
        seed=config.seed,
        template=config.template,
        compose=config.compose,
        shorten_to=config.shorten_target,
    )
    from transformers import set_seed

    set_seed(config.seed)  # before the adapter's weights are drawn
    model, precision = build_model(spec, job.model, config, job.precision)
    args = training_arguments(config, job.out_dir, precision)
    checkpoint, skipped = None, []
    notes = [*stats.skipped_invalid(), f"dtype {precision.dtype} ({precision.reason})"]
    if job.resume:
        found, skipped = newest_complete(job.out_dir / CHECKPOINTS)
        notes += [f"skipped {line}" for line in skipped]
        if found is None:
            raise HammerError(
                "no complete checkpoint to resume from" + (f" ({'; '.join(skipped)})" if skipped else ""),
                file=str(job.out_dir / CHECKPOINTS),
            )
        checkpoint = str(found)
        notes.append(f"resuming from {found.name}")
    if args.process_index == 0:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        mark_unfinished(job.out_dir, job.command)  # until the final model is whole (resolve refuses it)
        shutil.rmtree(job.out_dir / CHECKPOINTS / STAGING, ignore_errors=True)  # a killed save's
        (job.out_dir / CONFIG_FILE).write_text(dump_recipe(config))
        run = {"model": job.model, "data": job.data, "command": job.command, "precision": precision.to_dict()}
        (job.out_dir / RUN_FILE).write_text(yaml.safe_dump(run, sort_keys=False))
    dataset = MaskedEpochDataset(
        items,
        tokenizer,
        mask_ratio=config.mask_ratio,
        seed=config.seed,
        cutoff=config.cutoff,
        masking=config.masking,
        template=config.template,
        composed=stats.composed_per_epoch,
        variant_share=config.compose_variants,
        lengths=lengths,
        compose_to=config.shorten_target,
    )
    progress = RichProgress(console, notes=notes)
    trainer = make_trainer(
        model,
        tokenizer,
        dataset,
        args,
        [progress],
        batching=config.batching,
        lengths=dataset.lengths(),
        warmup_ratio=config.warmup_ratio,
    )
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=checkpoint)
    elapsed = time.perf_counter() - started
    trainable, total = parameter_counts(model)
    points = loss_points(trainer.state.log_history)
    summary = {
        "steps": trainer.state.global_step,
        "tokens": trainer.state.num_input_tokens_seen,
        "final_loss": round(points[-1][1], 4) if points else None,
        "train_loss": round(output.training_loss, 4),
        "tokens_per_s": round(progress.tokens_per_s, 1),
        "seconds": round(elapsed, 1),
        "resumed_from": checkpoint,
        "resume_skipped": skipped,
        "dtype": precision.dtype,
        "dtype_reason": precision.reason,
        "masked_views": dataset.masked,
        "masked_views_over_cutoff_replaced": dataset.fell_back,
        "composed_views_over_cutoff_replaced": dataset.composed_over_cutoff,
        "device": str(args.device) + (f" x{args.world_size}" if args.world_size > 1 else ""),
        "trainable_params": trainable,
        "total_params": total,
    }
    trainer.save_model(str(job.out_dir))
    if trainer.is_world_process_zero():
        write_outputs(job, stats, summary, trainer.state.log_history)
        mark_finished(job.out_dir)
    return TrainResult(job.out_dir, stats, summary, trainer.is_world_process_zero())


def write_outputs(job: TrainJob, stats: DataStats, summary: dict[str, Any], log_history: list[dict]) -> None:
    out = job.out_dir
    (out / STATS_FILE).write_text(json.dumps({"data": stats.to_dict(), "run": summary}, indent=2) + "\n")
    (out / "log_history.json").write_text(json.dumps(log_history, indent=1) + "\n")
    plot_loss(log_history, out / "loss.png")
    (out / "README.md").write_text(
        model_card(
            name=out.name,
            base=job.model,
            sources=job.data,
            config=job.config,
            stats=stats,
            summary=summary,
            command=job.command,
        )
    )
