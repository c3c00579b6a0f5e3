"""Training: the per-epoch masked dataset, data selection, recipes, and real tiny runs
(a randomly initialised 2-layer llama with the SmolLM2 tokenizer, a few steps) incl. resume."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hammer_fc.errors import HammerError
from hammer_fc.formats import write_examples
from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.model_spec import load_tokenizer, resolve
from hammer_fc.schema import Example, Message, Tool
from hammer_fc.train.checkpoints import checkpoint_problem
from hammer_fc.train.config import TrainConfig, load_recipe
from hammer_fc.train.data import IGNORE_INDEX, load_training_data
from hammer_fc.train.dataset import EpochSampler, MaskedEpochDataset
from hammer_fc.train.precision import CPU_BF16_FLAGS, cpu_flags
from hammer_fc.train.trainer import CHECKPOINTS, TrainJob, run_training

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def dtype_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``dtype: auto`` caches its verdict per machine: keep this module's out of the user's cache
    (measured once for the module, shared by every run in it, as on a real machine)."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


def build_tiny(out: Path) -> Path:
    """A tiny random llama (hidden 64, 2 layers) with the SmolLM2 tokenizer, and 8 examples."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer(resolve("smollm2-135m"))
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")
    examples = [e for e in load_bfcl("live_simple") if len(e.tools) == 1][:6] + load_bfcl("live_irrelevance")[
        :2
    ]
    write_examples(examples, out / "data.jsonl", "xlam")
    return out


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tokenizer(tiny: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny / "model")


def tiny_recipe(**overrides) -> TrainConfig:
    base = load_recipe("smollm2-cpu")
    base = replace(base, lora=replace(base.lora, r=4, alpha=8, top_layers=1))
    fields = dict(
        cutoff=1024,
        token_budget=None,
        no_call_share=None,
        batch_size=2,
        grad_accum=1,
        logging_steps=1,
        save_steps=2,
        save_total_limit=None,
        epochs=3,
        learning_rate=1e-3,
        warmup_ratio=0.0,
    )
    return replace(base, **{**fields, **overrides})


def example(name: str, query: str) -> Example:
    from hammer_fc.schema import Param, ToolCall

    tool = Tool(name, "Look something up.", [Param("city", "string", "The city.", required=True)])
    return Example([Message("user", query)], [tool], [ToolCall(name, {"city": "Paris"})], id=name)


def test_recipes_hold_the_paper_defaults_and_reject_typos(tmp_path: Path) -> None:
    paper = load_recipe("hammer-paper")
    assert (paper.lora.r, paper.learning_rate, paper.lr_scheduler, paper.weight_decay, paper.cutoff) == (
        32,
        5e-5,
        "cosine",
        0.01,
        2048,
    )
    assert (paper.batch_size, paper.grad_accum, paper.dtype, paper.lora.top_layers) == (4, 2, "auto", None)
    assert paper == TrainConfig(add_irrelevance=0.1)
    cpu = load_recipe("smollm2-cpu", max_steps=7)
    assert (cpu.dtype, cpu.max_steps, cpu.lora.top_layers) == ("auto", 7, 8)
    with pytest.raises(HammerError, match="dtype"):
        load_recipe(None, dtype="bf32")
    v2 = load_recipe("hammer-smol-v2")  # all of BFCL live: long examples shortened, not dropped
    assert (v2.cutoff, v2.token_budget, v2.compose) == (2048, None, 0.15)
    v4 = load_recipe("hammer-smol-v4")  # shortened to 1,024 where that fits, nothing with calls dropped
    assert (v4.shorten_to, v4.cutoff, v4.no_call_share) == (1024, 2048, 0.1)
    assert (v4.shorten_target, v2.shorten_target) == (1024, 2048)  # without shorten_to: the cut-off
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rte: 1e-4\n")
    with pytest.raises(HammerError, match="learning_rte"):
        load_recipe(str(bad))
    with pytest.raises(HammerError, match="mask_ratio"):
        load_recipe(None, mask_ratio=1.5)


def test_every_epoch_redraws_the_masking_and_labels_only_the_answer(tokenizer) -> None:
    items = [example(f"lookup_{i}", f"Weather in Paris, case {i}?") for i in range(12)]
    dataset = MaskedEpochDataset(items, tokenizer, mask_ratio=0.5, seed=3, cutoff=1024)
    epochs = [[dataset.view(e * len(items) + i) for i in range(len(items))] for e in range(3)]
    masked = [[m for _, m in epoch] for epoch in epochs]
    assert any(masked[0]) and not all(masked[0])
    assert masked[0] != masked[1] != masked[2]  # drawn afresh per epoch ...
    again = MaskedEpochDataset(items, tokenizer, mask_ratio=0.5, seed=3, cutoff=1024)
    assert again[len(items) + 5] == dataset[len(items) + 5]  # ... and reproducible from the seed
    names = {epochs[e][0][0].tools[0].name for e in range(3)}
    assert "lookup_0" in names or len(names) == 3
    record = dataset[0]
    answer = [
        t for t, label in zip(record["input_ids"], record["labels"], strict=True) if label != IGNORE_INDEX
    ]
    first = record["labels"].index(next(label for label in record["labels"] if label != IGNORE_INDEX))
    assert record["labels"][:first] == [IGNORE_INDEX] * first
    text = tokenizer.decode(answer)
    view = dataset.view(0)[0]
    assert text.startswith("```") and text.endswith(tokenizer.eos_token) and '"Paris"' in text
    assert f'"name": "{view.calls[0].name}"' in text  # the answer follows the view's (masked) names
    # Training sees exactly the text evaluation sends (the shared chat formatter):
    from hammer_fc.prompts.chat_format import ChatFormat, render_case

    prompt = render_case(view, "hammer", ChatFormat.from_tokenizer(tokenizer))
    assert record["input_ids"][:first] == tokenizer(prompt, add_special_tokens=False)["input_ids"]


def test_packed_answer_only_loss_equals_the_loss_of_each_example_alone(tiny: Path, tokenizer) -> None:
    """Flattened examples must not attend to each other, and the head-on-answers-only loss must be
    the model's answer-only loss: compare with the examples run one by one."""
    from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq, DataCollatorWithFlattening

    from hammer_fc.train.loss import answer_only_loss

    model = AutoModelForCausalLM.from_pretrained(tiny / "model")
    items = [example(f"lookup_{i}", f"Weather in Paris, case {i}?") for i in range(3)]
    dataset = MaskedEpochDataset(items, tokenizer, mask_ratio=0.5, seed=0, cutoff=1024)
    features = [dataset[i] for i in range(3)]
    total, count = torch.tensor(0.0), 0
    for feature in features:
        labels = torch.tensor([feature["labels"]])
        n = int((labels[:, 1:] != IGNORE_INDEX).sum())
        total += model(input_ids=torch.tensor([feature["input_ids"]]), labels=labels).loss * n
        count += n
    packed = DataCollatorWithFlattening(return_position_ids=True)(features)
    padded = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX)(features)
    with torch.no_grad():
        torch.testing.assert_close(answer_only_loss(model, packed), total / count)
        torch.testing.assert_close(answer_only_loss(model, padded), total / count)
        torch.testing.assert_close(
            answer_only_loss(model, packed, torch.tensor(2 * count)), total / count / 2
        )


def test_sampler_shuffles_each_epoch_over_its_own_indices() -> None:
    sampler = EpochSampler(10, seed=1)
    first = list(sampler)
    sampler.set_epoch(2)
    third = list(sampler)
    assert sorted(first) == list(range(10)) and sorted(third) == list(range(20, 30))
    assert [i - 20 for i in third] != first
    sampler.set_epoch(0)
    assert list(sampler) == first
    lengths = [random.Random(i).randint(10, 1000) for i in range(200)]
    grouped = list(EpochSampler(200, seed=1, lengths=lengths, batch_size=4))
    assert sorted(grouped) == list(range(200))
    spread = [
        max(lengths[i] for i in b) - min(lengths[i] for i in b)
        for b in zip(*[iter(grouped)] * 4, strict=True)
    ]
    assert sum(spread) / len(spread) < 100  # similar lengths per batch (random batches: ~500)
    assert grouped != sorted(grouped, key=lambda i: lengths[i])  # still shuffled


def test_data_selection_counts_what_it_leaves_out(tiny: Path, tokenizer) -> None:
    src = str(tiny / "data.jsonl")
    items, _, stats = load_training_data(
        [src], tokenizer, cutoff=640, add_irrelevance_share=0.5, token_budget=None, epochs=1, seed=0
    )
    assert stats.sources[src] == {"read": 8, "skipped_invalid": 0, "skipped_kinds": {}}
    assert stats.irrelevance_added == 4  # round(0.5 x 8)
    assert stats.over_cutoff > 0 and stats.longest_skipped > 640
    assert len(items) == stats.examples == 12 - stats.over_cutoff
    _, _, capped_stats = load_training_data(
        [src],
        tokenizer,
        cutoff=2048,
        add_irrelevance_share=0.5,
        no_call_share=0.2,
        token_budget=None,
        epochs=1,
        seed=0,
    )
    # 6 of 12 answer []: 6 calls allow int(0.2 x 6 / 0.8) = 1
    assert capped_stats.no_call_examples == 1 and capped_stats.over_no_call_share == 5
    _, _, budget_stats = load_training_data(
        [src], tokenizer, cutoff=2048, add_irrelevance_share=0, token_budget=3000, epochs=2, seed=0
    )
    assert 2 * budget_stats.tokens_per_epoch <= 3000 and budget_stats.outside_token_budget > 0
    with pytest.raises(HammerError, match="no usable training example"):
        load_training_data(
            [src], tokenizer, cutoff=64, add_irrelevance_share=0, token_budget=None, epochs=1, seed=0
        )
    with pytest.raises(HammerError, match="no such data file"):
        load_training_data(
            ["missing.json"],
            tokenizer,
            cutoff=64,
            add_irrelevance_share=0,
            token_budget=None,
            epochs=1,
            seed=0,
        )


def test_invalid_records_are_skipped_counted_by_kind_and_said(tmp_path: Path, tokenizer) -> None:
    """Training skips a source's invalid records (BFCL live has two), counts them by kind in
    the stats and the card, says which at the start, and names them when nothing is left."""
    tool = {"name": "f", "description": "", "parameters": {"x": {"type": "str"}}}
    other = {**tool, "parameters": {"y": {"type": "str"}}}
    call = json.dumps([{"name": "f", "arguments": {"x": "1"}}])
    records = [
        {"query": "q", "tools": json.dumps([tool, other]), "answers": call},  # two different 'f'
        {
            "query": "q",
            "tools": json.dumps([{**tool, "parameters": {"x": {"type": "foo"}}}]),
            "answers": call,
        },
    ]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(records))
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"query": "q", "tools": json.dumps([tool]), "answers": call}]))
    options = dict(cutoff=1024, add_irrelevance_share=0, token_budget=None, epochs=1, seed=0)
    _, _, stats = load_training_data([str(bad), str(good)], tokenizer, **options)
    assert stats.examples == 1
    assert stats.sources[str(bad)]["skipped_kinds"] == {"duplicate tool name": 1, "unknown type": 1}
    (line,) = stats.skipped_invalid()
    assert line.startswith(f"skipped 2 invalid record(s) of {bad} (1 duplicate tool name, 1 unknown type)")
    assert f"the first: {bad}: record 0: field 'tools[1].name'" in line
    with pytest.raises(HammerError, match=r"no usable training example in .*bad\.json \(2 invalid, "):
        load_training_data([str(bad)], tokenizer, **options)


def test_a_prepared_jsonl_is_used_as_rendered(tmp_path: Path, tokenizer) -> None:
    path = tmp_path / "prepared.jsonl"
    lines = [
        {"prompt": f"Q{i}", "completion": "```\n[]\n```", "masked": False, "irrelevant": True}
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    items, lengths, stats = load_training_data(
        [str(path)], tokenizer, cutoff=512, add_irrelevance_share=0.0, token_budget=None, epochs=1, seed=0
    )
    assert stats.categories == {"prepared": 3} and len(lengths) == 3
    dataset = MaskedEpochDataset(items, tokenizer, mask_ratio=1.0, seed=0, cutoff=512)
    assert dataset[3] == dataset[0]  # already rendered: every epoch sees the same text
    path.write_text(json.dumps(lines[0]) + "\n{not json}\n")
    with pytest.raises(HammerError, match="record 1"):
        load_training_data(
            [str(path)], tokenizer, cutoff=512, add_irrelevance_share=0.0, token_budget=None, epochs=1, seed=0
        )


def test_a_bad_model_path_is_a_clear_error(tmp_path: Path, tiny: Path) -> None:
    (tmp_path / "empty").mkdir()
    job = TrainJob(str(tmp_path / "empty"), [str(tiny / "data.jsonl")], tmp_path / "out", tiny_recipe())
    with pytest.raises(HammerError, match=r"no config\.json"):
        run_training(job)


def adapter(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "adapter_model.safetensors")


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Bit for bit: same names, dtypes, shapes and values."""
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key


def folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_train_writes_everything_and_resume_ends_with_the_same_adapter(tmp_path: Path, tiny: Path) -> None:
    data = [str(tiny / "data.jsonl")]
    config = tiny_recipe(max_steps=6)
    base_before = folder_hash(tiny / "model")
    full = run_training(TrainJob(str(tiny / "model"), data, tmp_path / "full", config, command="test"))
    out = full.out_dir
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "tokenizer.json",
        "train_config.yaml",
        "data_stats.json",
        "loss.png",
        "README.md",
    ):
        assert (out / name).is_file(), name
    stats = json.loads((out / "data_stats.json").read_text())
    assert (
        stats["run"]["steps"] == 6
        and stats["run"]["tokens"] > 0
        and stats["data"]["examples"] == 8 - stats["data"]["over_cutoff"]
    )
    card = (out / "README.md").read_text()
    assert "xlam" in card
    assert f"| precision | {stats['run']['dtype']}: auto: " in card  # which dtype, and why
    assert json.loads((out / "adapter_config.json").read_text())["layers_to_transform"] == [1]
    assert folder_hash(tiny / "model") == base_before  # the base stays untouched, byte for byte
    # the adapter moved away from its zero init:
    assert any(t.abs().sum() > 0 for k, t in adapter(out).items() if "lora_B" in k)
    assert sorted(p.name for p in (out / CHECKPOINTS).iterdir()) == [
        ".staging",
        "checkpoint-2",
        "checkpoint-4",
        "checkpoint-6",
    ]
    assert not any((out / CHECKPOINTS / ".staging").iterdir())  # every save was published

    def killed_copy(name: str, steps: tuple[int, ...]) -> Path:
        """What a run killed after (or during) these checkpoints leaves behind."""
        killed = tmp_path / name
        for step in steps:
            shutil.copytree(
                out / CHECKPOINTS / f"checkpoint-{step}", killed / CHECKPOINTS / f"checkpoint-{step}"
            )
        for file in ("run.yaml", "train_config.yaml"):
            shutil.copy(out / file, killed / file)
        return killed

    # Killed after its step-4 checkpoint: resumed, the same adapter as the uninterrupted run.
    killed = killed_copy("killed", (4,))
    resumed = run_training(TrainJob("", [], killed, TrainConfig(), resume=True))
    assert resumed.summary["resumed_from"].endswith("checkpoint-4") and resumed.summary["steps"] == 6
    assert resumed.summary["dtype"] == stats["run"]["dtype"]  # the run's own choice, not re-decided
    assert_identical(adapter(out), adapter(killed))

    # Killed while writing checkpoint-6 in place (an older transformers, a copy): the newest
    # checkpoint is incomplete, so --resume says so and takes checkpoint-4.
    truncated = killed_copy("truncated", (4, 6))
    weights = truncated / CHECKPOINTS / "checkpoint-6" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    no_state = killed_copy("no-state", (4, 6))
    (no_state / CHECKPOINTS / "checkpoint-6" / "trainer_state.json").unlink()
    for folder, why in (
        (truncated, "adapter_model.safetensors is truncated"),
        (no_state, "trainer_state.json"),
    ):
        result = run_training(TrainJob("", [], folder, TrainConfig(), resume=True))
        assert result.summary["resumed_from"].endswith("checkpoint-4")
        (skipped,) = result.summary["resume_skipped"]
        assert skipped.startswith("checkpoint-6: ") and why in skipped
        assert_identical(adapter(out), adapter(folder))
        # the broken folder was replaced by a whole checkpoint of step 6
        assert checkpoint_problem(folder / CHECKPOINTS / "checkpoint-6", 6) is None

    only_broken = killed_copy("only-broken", (6,))
    (only_broken / CHECKPOINTS / "checkpoint-6" / "optimizer.pt").write_bytes(b"PK")
    with pytest.raises(
        HammerError, match=r"no complete checkpoint.*checkpoint-6: optimizer\.pt is truncated"
    ):
        run_training(TrainJob("", [], only_broken, TrainConfig(), resume=True))

    with pytest.raises(HammerError, match="--resume"):
        run_training(TrainJob(str(tiny / "model"), data, out, config))


def test_a_kill_during_a_save_leaves_the_previous_checkpoint_whole(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save interrupted after the weights and optimizer are written (the RNG state is next)
    publishes nothing and deletes nothing (even with ``save_total_limit: 1``): the step-2
    checkpoint is the newest, and resuming from it ends where an uninterrupted run ends."""
    from transformers import Trainer

    data = [str(tiny / "data.jsonl")]
    config = tiny_recipe(max_steps=4, save_total_limit=1)
    whole = run_training(TrainJob(str(tiny / "model"), data, tmp_path / "whole", config))
    assert [p.name for p in (whole.out_dir / CHECKPOINTS).glob("checkpoint-*")] == ["checkpoint-4"]
    save_rng = Trainer._save_rng_state

    def killed_at_step_4(self, output_dir: str) -> None:
        if self.state.global_step == 4:
            raise KeyboardInterrupt  # what a Ctrl-C there does
        save_rng(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_rng_state", killed_at_step_4)
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_training(TrainJob(str(tiny / "model"), data, out, config))
    monkeypatch.undo()
    assert [p.name for p in (out / CHECKPOINTS).glob("checkpoint-*")] == ["checkpoint-2"]
    assert (out / CHECKPOINTS / ".staging" / "checkpoint-4" / "optimizer.pt").is_file()  # the torn save
    resumed = run_training(TrainJob("", [], out, TrainConfig(), resume=True))
    assert (
        resumed.summary["resumed_from"].endswith("checkpoint-2") and resumed.summary["resume_skipped"] == []
    )
    assert_identical(adapter(whole.out_dir), adapter(out))


def train_cli(tiny: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "hammer_fc.cli", "train", "--model", str(tiny / "model"),
        "--data", str(tiny / "data.jsonl"), "--max-steps", "2", "-o", str(out), *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_same_command_same_seed_same_adapter_bit_for_bit(tmp_path: Path, tiny: Path) -> None:
    """Two ``hammer train`` processes, then a third run in this process after other work has
    used torch's random generator: identical adapters. The seed covers the adapter's initial
    weights, the data order, the masking and dropout (on here: LoRA dropout 0.1)."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        (ROOT / "configs/smollm2-cpu.yaml").read_text()
        .replace("dropout: 0.0", "dropout: 0.1").replace("top_layers: 8", "top_layers: 1")
        .replace("token_budget: 140000", "token_budget: null")
        .replace("no_call_share: 0.2", "no_call_share: null").replace("cutoff: 768", "cutoff: 1024")
    )  # fmt: skip
    runs = []
    for name in ("first", "second"):
        done = train_cli(tiny, tmp_path / name, "--config", str(recipe))
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(adapter(tmp_path / name))
    assert_identical(runs[0], runs[1])
    torch.rand(1000)  # this process's generator is now somewhere else
    config = replace(load_recipe(str(recipe)), max_steps=2)
    run_training(TrainJob(str(tiny / "model"), [str(tiny / "data.jsonl")], tmp_path / "third", config))
    assert_identical(runs[0], adapter(tmp_path / "third"))
    other_seed = replace(config, seed=1)
    run_training(TrainJob(str(tiny / "model"), [str(tiny / "data.jsonl")], tmp_path / "seed1", other_seed))
    assert not torch.equal(next(iter(runs[0].values())), next(iter(adapter(tmp_path / "seed1").values())))


@pytest.mark.skipif(
    not set(CPU_BF16_FLAGS) & cpu_flags(),
    reason=f"this CPU has no native bf16 ({'/'.join(CPU_BF16_FLAGS)} flag): bf16 would be emulated",
)
def test_a_short_bf16_autocast_run_on_cpu_trains(tmp_path: Path, tiny: Path) -> None:
    """bf16 autocast over fp32 master weights: the linear layers really compute in bf16, the
    loss is finite and goes down, the adapter stays fp32, and the card says bf16."""
    from torch.nn.modules.module import register_module_forward_hook

    data = [str(tiny / "data.jsonl")]
    config = tiny_recipe(max_steps=8, dtype="bf16", learning_rate=1e-2, save_steps=100)
    linear_outputs: set[torch.dtype] = set()

    def record(module: torch.nn.Module, _args: object, output: object) -> None:
        if isinstance(module, torch.nn.Linear) and isinstance(output, torch.Tensor):
            linear_outputs.add(output.dtype)

    handle = register_module_forward_hook(record)
    try:
        result = run_training(TrainJob(str(tiny / "model"), data, tmp_path / "bf16", config))
    finally:
        handle.remove()
    assert linear_outputs == {torch.bfloat16}
    log = json.loads((result.out_dir / "log_history.json").read_text())
    losses = [entry["loss"] for entry in log if "loss" in entry]
    assert len(losses) == 8 and all(loss == loss and abs(loss) != float("inf") for loss in losses)
    assert sum(losses[-2:]) < sum(losses[:2])
    assert result.summary["dtype"] == "bf16" and result.summary["dtype_reason"] == "set in the recipe"
    assert {t.dtype for t in adapter(result.out_dir).values()} == {torch.float32}
    assert "| precision | bf16: set in the recipe |" in (result.out_dir / "README.md").read_text()


def test_full_fine_tuning_saves_a_whole_model(tmp_path: Path, tiny: Path) -> None:
    config = tiny_recipe(max_steps=1, finetune="full", save_steps=100)
    result = run_training(TrainJob(str(tiny / "model"), [str(tiny / "data.jsonl")], tmp_path / "ft", config))
    assert (result.out_dir / "model.safetensors").is_file() and (result.out_dir / "config.json").is_file()
    assert result.summary["trainable_params"] == result.summary["total_params"]


def test_the_warmup_is_the_recipes_share_of_the_steps(tmp_path: Path, tiny: Path, tokenizer) -> None:
    """``warmup_ratio`` becomes whole steps (a float ``warmup_steps`` means a ratio only from
    transformers 5 on): 5% of 100 steps = 5 steps of linear warm-up, then the peak rate."""
    from transformers import AutoModelForCausalLM

    from hammer_fc.train.model import prepare_model
    from hammer_fc.train.precision import Precision
    from hammer_fc.train.trainer import make_trainer, training_arguments

    config = tiny_recipe(warmup_ratio=0.05)
    model = prepare_model(AutoModelForCausalLM.from_pretrained(tiny / "model"), config, "tiny")
    dataset = MaskedEpochDataset([example("f", "q?")], tokenizer, mask_ratio=0.0, seed=0, cutoff=1024)
    args = training_arguments(config, tmp_path, Precision("fp32", "test"))
    trainer = make_trainer(model, tokenizer, dataset, args, [], warmup_ratio=config.warmup_ratio)
    trainer.create_optimizer()
    scheduler = trainer.create_scheduler(num_training_steps=100)
    rates = []
    for _ in range(7):
        rates.append(scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        scheduler.step()
    assert trainer.args.warmup_steps == 5
    peak = config.learning_rate
    assert rates[:6] == pytest.approx([0, peak / 5, 2 * peak / 5, 3 * peak / 5, 4 * peak / 5, peak])
    assert rates[6] < peak  # cosine decay after the warm-up
