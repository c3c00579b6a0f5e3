"""``hammer eval run`` and ``hammer eval score``: cases -> prompts -> outputs -> verdicts -> summary.

A run directory holds

- ``run.json``: the settings that decide the outputs (model, backend, template, seed,
  max_new_tokens); a rerun with other settings is refused rather than mixed in;
- ``predictions.jsonl``: one line per generated case, appended as it is generated
  ``{"bench", "id", "masked", "output", "calls", "parse_error"?, "error"?}`` (``calls`` already
  mapped back to the original names for a masked case; ``null`` when the output could not be read);
- ``verdicts.jsonl``: ``{"bench", "id", "masked", "valid", "error_type", "error"}`` per case;
- ``summary.json`` and ``summary.md``: per-bench results (and BFCL's summary rows, the masked
  results and the drop).

A rerun into the same directory generates only the cases that have no prediction yet, so a run
that was stopped resumes where it was, and a rerun with more benches or a larger ``--limit``
adds to it. Cases are generated in the order of their prompt text, so that consecutive prompts
share the longest prefixes (the llama.cpp backend reuses their KV cache).

``--mask-names`` adds, for every case, a variant whose function and parameter names are random
strings (drawn per case from the seed, the bench and the case id; the tools are also
deduplicated and shuffled, as masking does). The model's answer on it is mapped back to the
original names and judged like the plain case's.

``constrained`` decodes every case under the grammar ``hammer serve`` builds for its tools
(``tool_choice: auto``: a call to an offered function with its declared argument types, or
``[]``), where the backend supports grammars (llama.cpp); the answer format is then always
readable, and what is judged is the model's choice of function and values.

``abstain_threshold`` (default: the model's calibration file, :mod:`hammer_fc.inference.abstain`) takes
the call-or-abstain decision before decoding: at ``p_nocall >= threshold`` the answer is
``[]``, below it a constrained answer must call. Each prediction then records ``p_nocall``,
``abstained`` (the threshold answered ``[]``) and ``forced_call`` (the grammar forbade ``[]``
where the model would have written it), and under ``without`` the model's own answer where it
differs; the summary shows every bench with and without the threshold. The model's own answer
is always decoded, so an abstained case costs the decode that ``hammer serve`` skips.

``max_tools`` shows the model of a case with more tools only the most relevant ones, as
``hammer serve --max-tools`` does (:mod:`hammer_fc.inference.preselect`; ranked on the names the
model sees, masked or not); the case is still judged against its whole gold answer.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from hammer_fc.augment.masking import Masked, mask_example, unmask_calls
from hammer_fc.errors import HammerError
from hammer_fc.eval.authors_f1 import AuthorsCounts
from hammer_fc.eval.benches import Bench, load_benches, select_cases
from hammer_fc.eval.judge import Judged, bench_result, bfcl_rows, drop, judge, read_output
from hammer_fc.eval.report import markdown
from hammer_fc.inference.abstain import FROM_CARD, abstains, no_call_answer, resolve_threshold
from hammer_fc.inference.base import DEFAULT_MAX_NEW_TOKENS, Backend, ContextOverflow, ScoringBackend
from hammer_fc.inference.grammar import grammar_for_tools
from hammer_fc.inference.load import default_backend, load_backend
from hammer_fc.inference.preselect import check_max_tools, preselect_example
from hammer_fc.model_spec import resolve
from hammer_fc.outputs import atomic_output, check_output, check_output_dir
from hammer_fc.prompts import DEFAULT_TEMPLATE, get_template
from hammer_fc.schema import Example, ToolCall

PREDICTIONS = "predictions.jsonl"
VERDICTS = "verdicts.jsonl"
SUMMARY = "summary.json"
SUMMARY_MD = "summary.md"
SETTINGS = "run.json"
METRICS = ("hammer", "authors")
"""``hammer``: our F1 (one-to-one matching); ``authors``: theirs as well (eval/authors_f1.py)."""

Progress = Callable[[str, int], Callable[[int], None]]
"""``(description, total) -> advance(n)``: how a caller shows progress (the CLI draws a bar)."""
ADDED_SETTINGS: dict[str, Any] = {"constrained": False, "abstain_threshold": None, "max_tools": None}
"""Settings added after run directories existed: a ``run.json`` without one used this value."""

Key = tuple[str, str, bool]


@dataclass(frozen=True)
class Case:
    """One case to generate: a bench's example, plain or with masked names."""

    bench: Bench
    example: Example
    masked: Masked | None = None
    selected: Example | None = None
    """What the model sees when ``max_tools`` cut the tool list (of the masked example if masked)."""

    @property
    def key(self) -> Key:
        return (self.bench.name, self.example.id, self.masked is not None)

    @property
    def shown(self) -> Example:
        """What the model sees."""
        if self.selected is not None:
            return self.selected
        return self.example if self.masked is None else self.masked.example


def build_cases(
    benches: list[Bench], *, limit: int | None, seed: int, mask_names: bool, max_tools: int | None = None
) -> list[Case]:
    """Every (bench, case[, masked]) of a run, in bench order; past ``max_tools`` tools a case
    shows the most relevant ones."""
    cases = []
    for bench in benches:
        for example in select_cases(bench, limit, seed):
            cases.append(_selected(Case(bench, example), max_tools))
            if mask_names:
                rng = random.Random(f"{seed}:{bench.name}:{example.id}:mask")
                masked = mask_example(example, rng, functions=True, params=True, defaults=False)
                cases.append(_selected(Case(bench, example, masked), max_tools))
    return cases


def _selected(case: Case, max_tools: int | None) -> Case:
    shown = case.shown
    kept = preselect_example(shown, max_tools)
    return case if kept is shown else dataclasses.replace(case, selected=kept)


def run_eval(
    model: str,
    benches: str | list[str],
    *,
    out_dir: str | Path,
    backend: str | Backend | None = None,
    adapter: str | None = None,
    template: str = DEFAULT_TEMPLATE,
    limit: int | None = None,
    seed: int = 0,
    mask_names: bool = False,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    constrained: bool = False,
    backend_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    metric: str = "hammer",
    abstain_threshold: float | str | None = FROM_CARD,
    max_tools: int | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``benches`` into ``out_dir`` (resuming what is there); the summary.

    ``backend`` is a backend name (``hf``, ``llamacpp``, ``openai``; default by model kind) or an
    already open :class:`Backend` (left open), which is then used for ``model``.
    ``abstain_threshold``: a number in [0, 1], ``"off"`` / ``None``, or ``"card"`` (the model's
    calibration file where it has one; for an open backend: off).
    ``max_tools`` (``None`` or 0: all) pre-selects each case's tools.
    """
    _check_metric(metric)
    get_template(template)  # the registry's one "unknown prompt template" error
    max_tools = check_max_tools(max_tools, field="max_tools")
    if max_new_tokens < 1:
        raise HammerError(
            f"--max-new-tokens must be at least 1, got {max_new_tokens}", field="max_new_tokens"
        )
    bench_list = load_benches(benches)
    out = Path(out_dir)
    if isinstance(backend, str | None):
        spec = resolve(model, adapter)
        backend_name = backend or default_backend(spec)
        label = spec.label
    else:
        spec, backend_name, label = None, backend.name, model
    threshold, _ = resolve_threshold(abstain_threshold, spec)
    settings = {
        "model": label,
        "adapter": adapter,
        "backend": backend_name,
        "template": template,
        "seed": seed,
        "max_new_tokens": max_new_tokens,
        "constrained": constrained,
        "abstain_threshold": threshold,
        "max_tools": max_tools,
    }
    _claim(out, settings)
    cases = build_cases(bench_list, limit=limit, seed=seed, mask_names=mask_names, max_tools=max_tools)
    done = read_predictions(out / PREDICTIONS)
    todo = [case for case in cases if case.key not in done]
    throughput: dict[str, Any] = {"generated": 0, "seconds": 0.0}
    if todo:
        opened = backend if spec is None else load_backend(spec, backend_name, **(backend_options or {}))
        try:
            advance = None if progress is None else progress(f"generating ({opened.name})", len(todo))
            throughput = generate_predictions(
                opened,
                todo,
                template,
                max_new_tokens,
                out / PREDICTIONS,
                constrained=constrained,
                abstain_threshold=threshold,
                on_progress=advance,
            )
        finally:
            if opened is not backend:
                opened.close()
        done = read_predictions(out / PREDICTIONS)
    summary = {**settings, "limit": limit, "mask_names": mask_names}
    summary.update(_judge_run(bench_list, cases, done, out, mask_names))
    if threshold is not None:
        add_abstain_figures(summary, bench_list, cases, done)
    if metric == "authors":
        add_authors_figures(summary, bench_list, {c.key: (c.example, done[c.key]) for c in cases})
    seconds = throughput["seconds"]
    summary["throughput"] = {
        **throughput,
        "cases_per_min": 60 * throughput["generated"] / seconds if seconds else None,
    }
    _write_summary(out, summary)
    return summary


def _claim(out: Path, settings: dict[str, Any]) -> None:
    """Create the run directory, or check that the run in it used the same settings."""
    check_output_dir(out)
    path = out / SETTINGS
    if path.is_file():
        previous = json.loads(path.read_text())
        for key, value in settings.items():
            held = previous.get(key, ADDED_SETTINGS.get(key))
            if held != value:
                raise HammerError(
                    f"{out} holds a run with {key}={held!r}, not {value!r}: "
                    "use another output directory to compare settings",
                    field=key,
                )
    else:
        path.write_text(json.dumps(settings, indent=2) + "\n")


def read_predictions(path: Path) -> dict[Key, dict[str, Any]]:
    """The predictions a run directory holds, by (bench, id, masked).

    A torn last line (a run killed mid-write) is cut off the file, so that its case is
    generated again and appended cleanly.
    """
    if not path.is_file():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        with path.open("r+b") as f:
            f.truncate(len(data))
    done = {}
    for index, line in enumerate(data.splitlines()):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise HammerError("not valid JSON", file=str(path), record=index) from None
        done[(record["bench"], record["id"], record["masked"])] = record
    return done


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def _generate_chunk(
    backend: Backend, prompts: list[str], max_new_tokens: int, grammar: str | None = None
) -> list[tuple[str, str]]:
    """(output, error) per prompt; a prompt too long for the context gets an empty output and
    the reason, and the others in its chunk are still generated."""
    try:
        texts = backend.generate(prompts, max_new_tokens=max_new_tokens, grammar=grammar)
        return [(text, "") for text in texts]
    except ContextOverflow as err:
        if len(prompts) == 1:
            return [("", str(err))]
    return [
        pair for prompt in prompts for pair in _generate_chunk(backend, [prompt], max_new_tokens, grammar)
    ]


def _read(case: Case, output: str) -> dict[str, Any]:
    """``output`` and its calls (mapped back to the original names for a masked case)."""
    calls, parse_error = read_output(output)
    if calls is not None and case.masked is not None:
        calls = unmask_calls(calls, case.masked)
    read: dict[str, Any] = {
        "output": output,
        "calls": None if calls is None else [c.to_dict() for c in calls],
    }
    if parse_error:
        read["parse_error"] = parse_error
    return read


def _generate_one(backend: Backend, prompt: str, max_new_tokens: int, grammar: str | None) -> tuple[str, str]:
    (result,) = _generate_chunk(backend, [prompt], max_new_tokens, grammar)
    return result


def _prediction(case: Case, output: str, error: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "bench": case.bench.name,
        "id": case.example.id,
        "masked": case.masked is not None,
        **_read(case, output),
    }
    if error:
        record["error"] = error
    return record


def _no_call_scores(backend: ScoringBackend, prompts: list[str], answer: str) -> list[float | None]:
    """``p_nocall`` per prompt; ``None`` for one that does not fit with the answer (its
    generation then reports the overflow)."""
    try:
        return list(backend.answer_probabilities(prompts, answer))
    except ContextOverflow:
        if len(prompts) == 1:
            return [None]
    return [p for prompt in prompts for p in _no_call_scores(backend, [prompt], answer)]


def generate_predictions(
    backend: Backend,
    todo: list[Case],
    template: str,
    max_new_tokens: int,
    path: Path,
    *,
    constrained: bool = False,
    on_progress: Callable[[int], None] | None = None,
    abstain_threshold: float | None = None,
) -> dict[str, Any]:
    """Generate ``todo`` (in prompt order), appending a prediction line per case to ``path``;
    the throughput figures (cases, seconds, and prompt-token reuse where the backend counts it).
    ``constrained``: each case under its own tools' grammar (so one case per call);
    ``on_progress(cases)`` is called as cases are written.
    ``abstain_threshold``: the call-or-abstain decision (see the module's docstring)."""
    scorer: ScoringBackend | None = None
    no_call = ""
    if abstain_threshold is not None:
        if not isinstance(backend, ScoringBackend):
            raise HammerError(
                f"the {backend.name} backend cannot score the no-call answer: use --abstain-threshold off",
                field="abstain_threshold",
            )
        scorer, no_call = backend, no_call_answer(template, backend.chat)
    no_call_text = get_template(template).completion([])

    prompts = [backend.format(case.shown, template) for case in todo]
    order = sorted(range(len(todo)), key=prompts.__getitem__)
    before = _prefix_stats(backend)
    start = time.perf_counter()
    with path.open("ab") as sink:
        for chunk in _chunks(order, 1 if constrained else backend.batch_size):
            grammar = grammar_for_tools(todo[chunk[0]].shown.tools, "auto") if constrained else None
            texts = [prompts[i] for i in chunk]
            scores = _no_call_scores(scorer, texts, no_call) if scorer is not None else [None] * len(chunk)
            results = _generate_chunk(backend, texts, max_new_tokens, grammar)
            for i, p_nocall, (output, error) in zip(chunk, scores, results, strict=True):
                record = _prediction(todo[i], output, error)
                if p_nocall is not None and abstain_threshold is not None:
                    forced = None
                    if constrained:
                        required = grammar_for_tools(todo[i].shown.tools, "required")
                        forced = partial(_generate_one, backend, prompts[i], max_new_tokens, required)
                    record = _decided(record, todo[i], p_nocall, abstain_threshold, forced, no_call_text)
                sink.write(orjson.dumps(record) + b"\n")
            sink.flush()
            if on_progress is not None:
                on_progress(len(chunk))
    seconds = time.perf_counter() - start
    throughput: dict[str, Any] = {"generated": len(todo), "seconds": seconds}
    if before is not None:
        after = _prefix_stats(backend)
        throughput["prompt_tokens"] = after["prompt_tokens"] - before["prompt_tokens"]
        throughput["reused_prompt_tokens"] = after["reused_tokens"] - before["reused_tokens"]
    return throughput


def _decided(
    record: dict[str, Any],
    case: Case,
    p_nocall: float,
    threshold: float,
    forced: Callable[[], tuple[str, str]] | None,
    no_call_text: str,
) -> dict[str, Any]:
    """``record`` (the model's own answer) with the threshold applied: ``[]`` at or above it;
    below it, under the grammar (``forced``: decode with the empty list forbidden), a call where
    the model wrote ``[]``. Where the model's answer was a call, it is also the answer with
    ``[]`` forbidden: greedy under the smaller grammar picks the same tokens."""
    decided = {"p_nocall": p_nocall, "threshold": threshold, "abstained": False, "forced_call": False}
    own = {k: record[k] for k in ("output", "calls", "parse_error", "error") if k in record}
    answer = own
    if abstains(p_nocall, threshold):
        decided["abstained"] = True
        answer = _read(case, no_call_text)
    elif forced is not None and record.get("calls") == [] and not record.get("error"):
        decided["forced_call"] = True
        output, error = forced()
        answer = {**_read(case, output), **({"error": error} if error else {})}
    head = {k: v for k, v in record.items() if k not in own}
    result = {**head, **answer, "abstain": decided}
    if answer != own:
        result["without"] = own
    return result


def _prefix_stats(backend: Backend) -> dict[str, int] | None:
    """The prompt-token counters of a backend that keeps them (llama.cpp's prefix reuse)."""
    stats = getattr(backend, "stats", None)
    return None if stats is None else dataclasses.asdict(stats)


def _stored_calls(record: dict[str, Any]) -> list[ToolCall] | None:
    calls = record.get("calls")
    return None if calls is None else [ToolCall(c["name"], c["arguments"]) for c in calls]


def _judge_run(
    benches: list[Bench], cases: list[Case], done: dict[Key, dict[str, Any]], out: Path, mask_names: bool
) -> dict[str, Any]:
    """Verdicts for every case of the run (from the stored predictions) and the results."""
    judged: dict[Key, Judged] = {}
    with (out / VERDICTS).open("wb") as sink:
        for case in cases:
            record = done[case.key]
            verdict = judge(case.bench, case.example, _stored_calls(record), record.get("parse_error", ""))
            judged[case.key] = verdict
            bench, case_id, masked = case.key
            line = {"bench": bench, "id": case_id, "masked": masked, **verdict.record()}
            sink.write(orjson.dumps(line) + b"\n")
    return summarize(benches, [c.key for c in cases], judged, mask_names)


def summarize(
    benches: list[Bench], keys: list[Key], judged: dict[Key, Judged], mask_names: bool
) -> dict[str, Any]:
    """Per-bench results (with the masked ones and the drop), BFCL rows, and for a single bench
    the top-level ``accuracy``."""
    results: dict[str, dict[str, Any]] = {}
    masked_results: dict[str, dict[str, Any]] = {}
    for bench in benches:
        plain = [judged[k] for k in keys if k[0] == bench.name and not k[2]]
        results[bench.name] = bench_result(bench, plain)
        if mask_names:
            masked = [judged[k] for k in keys if k[0] == bench.name and k[2]]
            masked_results[bench.name] = bench_result(bench, masked)
            results[bench.name]["masked"] = masked_results[bench.name]
            results[bench.name]["drop"] = drop(results[bench.name], masked_results[bench.name])
    summary: dict[str, Any] = {"benches": results}
    if (rows := bfcl_rows(results)) is not None:
        summary["bfcl"] = rows
        if mask_names:
            summary["bfcl_masked"] = bfcl_rows(masked_results)
    if len(results) == 1:
        (only,) = results.values()
        summary["accuracy"] = only["accuracy"]
        if mask_names:
            summary["masked_accuracy"] = only["masked"]["accuracy"]
            summary["accuracy_drop"] = only["drop"]["accuracy"]
    return summary


def add_abstain_figures(
    summary: dict[str, Any], benches: list[Bench], cases: list[Case], done: dict[Key, dict[str, Any]]
) -> None:
    """Per bench, ``abstain``: how often the threshold answered ``[]`` or forbade it, and the
    accuracy of the model's own answers (``without``); for a single bench also at the top."""
    for bench in benches:
        keys = [c for c in cases if c.key[0] == bench.name and not c.key[2]]
        records = [done[c.key] for c in keys]
        scored = [r for r in records if "abstain" in r]
        own = [
            judge(
                bench,
                c.example,
                _stored_calls(r.get("without", r)),
                r.get("without", r).get("parse_error", ""),
            )
            for c, r in zip(keys, records, strict=True)
        ]
        without = bench_result(bench, own)
        summary["benches"][bench.name]["abstain"] = {
            "scored": len(scored),
            "abstained": sum(r["abstain"]["abstained"] for r in scored),
            "forced_call": sum(r["abstain"]["forced_call"] for r in scored),
            "accuracy_without": without.get("accuracy"),
            "correct_without": without.get("correct"),
        }
    if len(benches) == 1:
        summary["accuracy_without_abstain"] = summary["benches"][benches[0].name]["abstain"][
            "accuracy_without"
        ]


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    (out / SUMMARY_MD).write_text(markdown(summary))


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise HammerError(f"unknown metric {metric!r} (choose from {', '.join(METRICS)})", field="metric")


def _authors_prediction(record: dict[str, Any], masked: bool) -> str | list[Any] | None:
    """What the authors' script reads for a case: the raw output (a masked case's calls, which
    are mapped back to the original names; a predictions file's ``calls`` when it has no text)."""
    output = record.get("output")
    if isinstance(output, str) and not masked:
        return output
    return record.get("calls")


def add_authors_figures(
    summary: dict[str, Any], benches: list[Bench], cases: dict[Key, tuple[Example, dict[str, Any]]]
) -> None:
    """The authors' F1 beside ours: per F1 bench (``benches[b]["authors"]``, and for masked
    cases ``benches[b]["masked"]["authors"]``), and over every plain F1 case as their script
    counts a file: ``P_api`` ... ``F1_param`` at the top level (absent where it prints none)."""
    pooled = AuthorsCounts()
    for bench in benches:
        if bench.kind != "f1":
            continue
        per = {False: AuthorsCounts(), True: AuthorsCounts()}
        for (name, case_id, masked), (example, record) in cases.items():
            if name != bench.name:
                continue
            prediction = _authors_prediction(record, masked)
            per[masked].add(example.calls or [], prediction, case_id)
            if not masked:
                pooled.add(example.calls or [], prediction, case_id)
        result = summary["benches"][bench.name]
        result["authors"] = per[False].summary()
        if "masked" in result:
            result["masked"]["authors"] = per[True].summary()
    summary["metric"] = "authors"
    summary["authors"] = pooled.summary()
    summary.update(pooled.figures())


def score_predictions(
    bench: str,
    predictions: str | Path,
    output: str | Path,
    *,
    metric: str = "hammer",
    summary_path: str | Path | None = None,
) -> dict[str, Any]:
    """Judge existing outputs against ``bench`` without running a model.

    A line is ``{"id", "output": "<raw model text>"}`` or ``{"id", "calls": [{"name",
    "arguments"}]}`` (``calls`` wins when both are there, as in a run's ``predictions.jsonl``,
    whose ``bench`` and ``masked`` fields are honoured too). Writes one verdict line per
    prediction to ``output`` and returns the summary (also written to
    ``summary_path`` if given); cases without a prediction are counted as ``missing``, not
    scored. ``metric="authors"`` adds the authors' F1 (:func:`add_authors_figures`).
    """
    _check_metric(metric)
    check_output(output)
    benches = {b.name: b for b in load_benches(bench)}
    examples = {(b.name, e.id): e for b in benches.values() for e in b.examples}
    owners: dict[str, list[str]] = {}
    for name, case_id in examples:
        owners.setdefault(case_id, []).append(name)
    path = Path(predictions)
    judged: dict[Key, Judged] = {}
    records: dict[Key, tuple[Example, dict[str, Any]]] = {}
    for index, record in _prediction_lines(path):
        key = _key_of(record, owners, str(path), index)
        if key in judged:
            raise HammerError(
                f"a second prediction for case {key[1]!r}", file=str(path), record=index, field="id"
            )
        calls, parse_error = _record_calls(record, str(path), index)
        judged[key] = judge(benches[key[0]], examples[key[:2]], calls, parse_error)
        records[key] = (examples[key[:2]], record)
    if not judged:
        raise HammerError("no predictions to score", file=str(path))
    with atomic_output(output) as sink:
        for (name, case_id, masked), verdict in judged.items():
            line = {"bench": name, "id": case_id, "masked": masked, **verdict.record()}
            sink.write(orjson.dumps(line) + b"\n")
    mask_names = any(key[2] for key in judged)
    scored = [b for b in benches.values() if any(key[0] == b.name for key in judged)]
    summary = {"model": str(path), "backend": "predictions", "template": "-", "mask_names": mask_names}
    summary.update(summarize(scored, list(judged), judged, mask_names))
    for b in scored:
        predicted = sum(1 for key in judged if key[0] == b.name and not key[2])
        summary["benches"][b.name]["missing"] = len(b.examples) - predicted
    if metric == "authors":
        add_authors_figures(summary, scored, records)
    if summary_path is not None:
        Path(summary_path).parent.mkdir(parents=True, exist_ok=True)
        Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _prediction_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise HammerError("no such predictions file", file=str(path))
    for index, line in enumerate(path.read_bytes().splitlines()):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise HammerError(f"not valid JSON: {err}", file=str(path), record=index) from None
        if not isinstance(record, dict):
            raise HammerError("a prediction must be a JSON object", file=str(path), record=index)
        yield index, record


def _key_of(record: dict[str, Any], owners: dict[str, list[str]], file: str, index: int) -> Key:
    """Which case a prediction is for: its ``id`` (and ``bench`` where ids repeat across benches)."""
    raw = record.get("id")
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise HammerError("missing or not a string", file=file, record=index, field="id")
    case_id = str(raw)
    names = owners.get(case_id, [])
    if "bench" in record:
        names = [n for n in names if n == record["bench"]]
    if not names:
        raise HammerError(f"no case {case_id!r} in the benchmark", file=file, record=index, field="id")
    if len(names) > 1:
        raise HammerError(
            f'case {case_id!r} is in {", ".join(names)}: add a "bench" field',
            file=file,
            record=index,
            field="id",
        )
    masked = record.get("masked", False)
    if not isinstance(masked, bool):
        raise HammerError("must be true or false", file=file, record=index, field="masked")
    return names[0], case_id, masked


def _record_calls(record: dict[str, Any], file: str, index: int) -> tuple[list[ToolCall] | None, str]:
    """A prediction's calls: its ``calls`` list, or its ``output`` text parsed."""
    if "calls" in record:
        calls = record["calls"]
        if calls is None:
            return None, str(record.get("parse_error") or "the output could not be read")
        if not isinstance(calls, list):
            raise HammerError("must be a list of calls", file=file, record=index, field="calls")
        out = []
        for i, call in enumerate(calls):
            if not (isinstance(call, dict) and isinstance(call.get("name"), str)):
                raise HammerError("a call needs a string name", file=file, record=index, field=f"calls[{i}]")
            arguments = call.get("arguments", {})
            if not isinstance(arguments, dict):
                raise HammerError("arguments must be an object", file=file, record=index, field=f"calls[{i}]")
            out.append(ToolCall(call["name"], arguments))
        return out, ""
    output = record.get("output")
    if not isinstance(output, str):
        raise HammerError(
            'a prediction needs "output" (text) or "calls"', file=file, record=index, field="output"
        )
    return read_output(output)
