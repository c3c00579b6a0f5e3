"""``hammer eval calibrate``: the abstain threshold of a model, from training-side data only.

The model scores ``p_nocall`` (:mod:`hammer_fc.inference.abstain`) on a seeded subset of BFCL
``live_irrelevance`` (nothing fits: it should abstain) and one of the live call categories
(``live_simple``, ``live_multiple``, ``live_parallel``, ``live_parallel_multiple``, pooled: it
should call), never on non-live, which is the held-out evaluation set.

The rule: the threshold with the highest *balanced accuracy*, the mean of the abstain rate on
irrelevance and the call rate on calls. The two errors are weighed alike whatever the share of
each kind in the sample (a prompt too long for the context is left out, so the two sets can
differ in size) and in use, where how often nothing fits is not known. Among equally good
thresholds the highest wins (the fewest abstentions on calls); the threshold is then put at the
geometric middle between the lowest score that abstains and the highest that does not, so that
a small shift of the scores (another quantization of the same model) keeps the decisions.

The result goes where the model's calibration is read from: its adapter directory
(:data:`~hammer_fc.model_spec.CALIBRATION_FILE`: the threshold, data, seed, rates and a small
table, and a section in its card ``README.md``), or for a GGUF on its own ``NAME.abstain.json``
beside it. The record names the weights it was scored with (``Q4_K_M``, ``F16``, ``hf``...):
the threshold of one quantization is not another's (for hammer-smol v4, 0.471 at Q4_K_M and
0.205 at F16), so ``hammer export`` carries a calibration only to an export of those weights.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from rich.table import Table

from hammer_fc.errors import HammerError
from hammer_fc.eval.benches import load_bench
from hammer_fc.eval.runner import Progress
from hammer_fc.inference.abstain import abstains, no_call_answer
from hammer_fc.inference.base import ContextOverflow, ScoringBackend
from hammer_fc.inference.load import default_backend, load_backend
from hammer_fc.model_spec import (
    CALIBRATION_FILE,
    ModelSpec,
    calibration_path,
    computed_weights,
    embedded_gguf_path,
    resolve,
)
from hammer_fc.outputs import atomic_output, check_output
from hammer_fc.schema import Example

IRRELEVANT = ("live_irrelevance",)
CALLS = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
"""Thresholds the table shows besides the chosen one."""
CARD_START = "<!-- hammer-fc abstain calibration -->"
CARD_END = "<!-- /hammer-fc abstain calibration -->"


def draw(categories: tuple[str, ...], limit: int | None, seed: int, kind: str) -> list[Example]:
    """``limit`` examples drawn from the pooled categories with ``seed`` (all with ``None``)."""
    pool = [e for c in categories for e in load_bench(f"bfcl:{c}").examples]
    if limit is None or limit >= len(pool):
        return pool
    if limit < 1:
        raise HammerError(f"--limit must be at least 1, got {limit}", field="limit")
    rng = random.Random(f"{seed}:calibrate:{kind}")
    return [pool[i] for i in sorted(rng.sample(range(len(pool)), limit))]


def rates(irrelevant: list[float], calls: list[float], threshold: float) -> dict[str, float]:
    """Abstain rates on each set at ``threshold`` and the balanced accuracy."""
    on_irrelevant = sum(abstains(p, threshold) for p in irrelevant) / len(irrelevant)
    on_calls = sum(abstains(p, threshold) for p in calls) / len(calls)
    return {
        "threshold": threshold,
        "abstain_irrelevance": on_irrelevant,
        "abstain_calls": on_calls,
        "balanced_accuracy": (on_irrelevant + 1 - on_calls) / 2,
    }


def pick_threshold(irrelevant: list[float], calls: list[float]) -> float:
    """The balanced-accuracy rule of the module's docstring."""
    if not irrelevant or not calls:
        raise HammerError("calibration needs scored cases of both kinds", field="limit")
    scores = sorted(set(irrelevant) | set(calls))
    candidates = [*scores, 1.0]  # abstain at p >= s; 1.0: never
    best = max(candidates, key=lambda t: (rates(irrelevant, calls, t)["balanced_accuracy"], t))
    if best == 1.0:
        return 1.0
    below = [s for s in scores if s < best]
    if not below or below[-1] <= 0.0:
        return best
    return math.sqrt(best * below[-1])


def score(
    backend: ScoringBackend, examples: list[Example], template: str, progress: Progress | None, what: str
) -> tuple[list[float], int]:
    """``p_nocall`` per example that fits the context, and how many did not."""
    answer = no_call_answer(template, backend.chat)
    prompts = sorted(backend.format(e, template) for e in examples)  # shared prefixes in a row
    out: list[float] = []
    skipped = 0
    advance = None if progress is None else progress(f"scoring {what}", len(prompts))
    size = max(1, backend.batch_size)
    for start in range(0, len(prompts), size):
        chunk = prompts[start : start + size]
        try:
            out.extend(backend.answer_probabilities(chunk, answer))
        except ContextOverflow:
            for prompt in chunk:
                try:
                    out.extend(backend.answer_probabilities([prompt], answer))
                except ContextOverflow:
                    skipped += 1
        if advance is not None:
            advance(len(chunk))
    return out, skipped


def calibrate(
    model: str,
    out_dir: str | Path | None = None,
    *,
    adapter: str | None = None,
    backend: str | ScoringBackend | None = None,
    template: str = "hammer",
    limit: int | None = 200,
    seed: int = 0,
    backend_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score, pick the threshold, write it into ``out_dir`` (an adapter directory; by default
    where the model's calibration is read from); the record.

    ``backend``: a backend name (default by model kind) or an open backend (left open), which
    is then used for ``model``. ``progress`` as in :func:`~hammer_fc.eval.runner.run_eval`."""
    if isinstance(backend, str | None):
        spec: ModelSpec | None = resolve(model, adapter)
        name = backend or default_backend(spec)
    else:
        spec, name = None, backend.name
    target = _target(out_dir, spec, model)
    irrelevant_cases = draw(IRRELEVANT, limit, seed, "irrelevance")
    call_cases = draw(CALLS, limit, seed, "calls")
    if spec is not None:
        label, weights = spec.label, computed_weights(spec, name)
        engine = load_backend(spec, name, **(backend_options or {}))
    else:
        label, weights, engine = model, None, backend
    try:
        if not isinstance(engine, ScoringBackend):
            raise HammerError(f"the {name} backend cannot score the no-call answer", field="backend")
        irrelevant, skipped_irrelevant = score(
            engine, irrelevant_cases, template, progress, "live_irrelevance"
        )
        calls, skipped_calls = score(engine, call_cases, template, progress, "live calls")
    finally:
        if engine is not backend:
            engine.close()
    threshold = pick_threshold(irrelevant, calls)
    table = [rates(irrelevant, calls, t) for t in sorted({*GRID, threshold})]
    record = {
        "threshold": threshold,
        "rule": "max balanced accuracy (mean of abstain rate on irrelevance and call rate on calls); "
        "ties to the higher threshold; placed at the geometric middle of the gap",
        "decision": "answer [] when p_nocall >= threshold (tool_choice auto only)",
        "model": label,
        "adapter": adapter,
        "backend": name,
        "weights": weights,
        "template": template,
        "data": {
            "irrelevance": [f"bfcl:{c}" for c in IRRELEVANT],
            "calls": [f"bfcl:{c}" for c in CALLS],
            "limit": limit,
            "seed": seed,
            "scored": {"irrelevance": len(irrelevant), "calls": len(calls)},
            "skipped_over_context": {"irrelevance": skipped_irrelevant, "calls": skipped_calls},
        },
        "rates": rates(irrelevant, calls, threshold),
        "table": table,
    }
    with atomic_output(target) as sink:
        sink.write((json.dumps(record, indent=2) + "\n").encode())
    if target.name == CALIBRATION_FILE:  # an adapter directory: its card says it too
        _write_card(target.parent / "README.md", record)
    return record


def _target(out_dir: str | Path | None, spec: ModelSpec | None, model: str) -> Path:
    """The calibration file to write: in the adapter directory ``out_dir``, or where ``spec``'s
    calibration is read from (its adapter directory; ``NAME.abstain.json`` beside a GGUF)."""
    if out_dir is not None:
        out = Path(out_dir)
        if not (out / "adapter_config.json").is_file():
            raise HammerError(f"{out} is not an adapter directory (no adapter_config.json)", field="output")
        target = out / CALIBRATION_FILE
    else:
        found = calibration_path(spec)
        if found is None or (
            spec is not None and spec.adapter is None and spec.gguf_path == embedded_gguf_path()
        ):
            raise HammerError(
                f"{model} has no adapter directory or GGUF file of its own to keep a calibration "
                "beside: pass -o ADAPTER_DIR",
                field="output",
            )
        target = found
    check_output(target)
    return target


def rich_table(record: dict[str, Any]) -> Table:
    table = Table(title=f"abstain threshold of {record['model']}: {record['threshold']:.4g}")
    for column in ("threshold", "abstain on irrelevance", "abstain on calls", "balanced acc."):
        table.add_column(column, justify="right")
    for row in record["table"]:
        mark = " *" if row["threshold"] == record["threshold"] else ""
        table.add_row(
            f"{row['threshold']:.4g}{mark}",
            f"{100 * row['abstain_irrelevance']:.1f}%",
            f"{100 * row['abstain_calls']:.1f}%",
            f"{100 * row['balanced_accuracy']:.1f}%",
        )
    return table


def card_section(record: dict[str, Any]) -> str:
    """The adapter card's section (markdown), between markers so a recalibration replaces it."""
    data = record["data"]
    rows = "\n".join(
        f"| {r['threshold']:.4g}{' (chosen)' if r['threshold'] == record['threshold'] else ''} "
        f"| {100 * r['abstain_irrelevance']:.1f}% | {100 * r['abstain_calls']:.1f}% "
        f"| {100 * r['balanced_accuracy']:.1f}% |"
        for r in record["table"]
    )
    skipped = data["skipped_over_context"]
    scored = (
        f"{data['scored']['irrelevance']} `live_irrelevance` and {data['scored']['calls']} live call "
        f"examples, seeded subsets (`--limit {data['limit']} --seed {data['seed']}`), "
        f"{skipped['irrelevance']} and {skipped['calls']} left out as over the context"
    )
    adapter = f" --adapter {record['adapter']}" if record.get("adapter") else ""
    command = (
        f"hammer eval calibrate --model {record['model']}{adapter} --backend {record['backend']} "
        f"--limit {data['limit']} --seed {data['seed']} -o ADAPTER_DIR"
    )
    return f"""{CARD_START}
## Call or abstain

`hammer eval run` and `hammer serve` answer `[]` when the model's probability of the no-call
answer is at least **{record["threshold"]:.4g}** (`{CALIBRATION_FILE}`; `--abstain-threshold`
overrides it, `off` disables it); below it a constrained answer must call.

Calibrated on training-side data only (BFCL live, never non-live): {scored}. Backend
{record["backend"]}, template `{record["template"]}`. Rule: {record["rule"]}.

| threshold | abstain on irrelevance | abstain on calls | balanced accuracy |
|---:|---:|---:|---:|
{rows}

Reproduce: `{command}`
{CARD_END}
"""


def _write_card(path: Path, record: dict[str, Any]) -> None:
    text = path.read_text() if path.is_file() else ""
    section = card_section(record)
    if CARD_START in text and CARD_END in text:
        head, rest = text.split(CARD_START, 1)
        tail = rest.split(CARD_END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    with atomic_output(path) as sink:
        sink.write(text.encode())
