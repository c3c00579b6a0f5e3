"""Training on the authors' rows: template authors-sft and the released masking, drawn per epoch."""

from __future__ import annotations

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.model_spec import load_tokenizer, resolve
from hammer_fc.prompts import get_template
from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from hammer_fc.train.config import load_recipe
from hammer_fc.train.data import IGNORE_INDEX
from hammer_fc.train.dataset import MaskedEpochDataset


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(resolve("smollm2-135m"))


def _example(i: int) -> Example:
    tool = Tool(
        f"lookup_{i}", "Look up.", [Param("city", "string", "The city.", default="Paris", source_type="str")]
    )
    return Example(
        [Message("user", f"Paris weather, case {i}?")], [tool], [ToolCall(tool.name, {"city": "Paris"})]
    )


def test_released_masking_and_authors_template_in_the_dataset(tokenizer) -> None:
    items = [_example(i) for i in range(30)]
    dataset = MaskedEpochDataset(
        items, tokenizer, mask_ratio=2 / 3, seed=1, cutoff=2048, masking="released", template="authors-sft"
    )
    views = [dataset.view(e * len(items) + i) for e in range(3) for i in range(len(items))]
    masked = sum(m for _, m in views)
    assert 40 < masked < 80  # about 2/3 of 90
    assert all(view is items[k % 30] for k, (view, m) in enumerate(views) if not m)  # plain rows as they are
    template = get_template("authors-sft")
    record = dataset[0]
    view = dataset.view(0)[0]
    first = next(k for k, label in enumerate(record["labels"]) if label != IGNORE_INDEX)
    prompt = template.wrap(template.prompt(view))  # LLaMA-Factory's qwen template, as the authors trained
    assert record["input_ids"][:first] == tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer = tokenizer.decode(record["input_ids"][first:])
    assert answer == template.completion(view.calls or []) + "<|im_end|>"


def test_recipe_rejects_unknown_masking_and_template() -> None:
    assert load_recipe(None, masking="released", template="authors-sft").masking == "released"
    with pytest.raises(HammerError, match="masking"):
        load_recipe(None, masking="theirs")
    with pytest.raises(HammerError, match="template"):
        load_recipe(None, template="authors")


def test_the_released_recipe_holds_the_authors_settings() -> None:
    released = load_recipe("hammer-released")
    assert (released.template, released.masking, released.epochs, released.seed) == (
        "authors-sft",
        "released",
        3,
        12,
    )
    assert released.mask_ratio == pytest.approx(2 / 3, abs=1e-3)
    assert (released.lora.r, released.lora.alpha, released.learning_rate, released.warmup_ratio) == (
        32,
        64,
        5e-5,
        0.00833,
    )
    assert (released.batch_size, released.grad_accum, released.cutoff, released.dtype) == (4, 2, 2048, "bf16")
