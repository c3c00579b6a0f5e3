"""``hammer eval report``: many ``hammer eval run`` directories -> one comparison table.

A row is one (model, quantization, decoding, names) of a run directory; its cells are the
per-category accuracies, BFCL's non-live AST and, on a row with renamed functions, the drop.
Every figure is computed from the run's ``predictions.jsonl`` (judged again here, which is
cheap), not from its ``summary.json``: a run directory that is still being written, or that
several ``eval run`` invocations with other ``--limit`` / ``--mask-names`` filled, is read as
what it holds, and each cell says how many cases it counts (``n``), so a subset row is seen
to be one.

- **Model and quantization** come from the run's model: a GGUF named ``NAME-QUANT.gguf``
  (``smollm2-135m-Q4_K_M.gguf``, ``SmolLM2-135M-Instruct.Q4_1.gguf``) gives ``NAME`` and
  ``QUANT``; anything else is its own name and ``-``.
- **Non-live AST** is BFCL's rule (``eval/bfcl_summary.py``): the unweighted mean of
  simple (itself the mean of python, java, javascript), multiple, parallel and
  parallel_multiple; irrelevance is not part of it. It is ``None`` (shown ``–``) unless all
  six categories are present.
- **Drop** (renamed-function drop, points): non-live AST with the names as given minus with
  masked names, both over the same cases (those that have a masked prediction).
- ``common=True`` restricts every row to the cases present in every row, so rows that come
  from runs of different sizes compare on the same cases.

The library returns rows; :func:`markdown_table`, :func:`rich_table` and :func:`plot` render them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from hammer_fc.errors import HammerError
from hammer_fc.eval import failures
from hammer_fc.eval.benches import Bench, load_bench
from hammer_fc.eval.bfcl_summary import NON_LIVE_OTHER, NON_LIVE_SIMPLE, bfcl_summary
from hammer_fc.eval.judge import judge
from hammer_fc.outputs import atomic_output
from hammer_fc.schema import ToolCall

PREDICTIONS = "predictions.jsonl"
SETTINGS = "run.json"
NON_LIVE = (*NON_LIVE_SIMPLE, *NON_LIVE_OTHER, "irrelevance")
"""The column order of BFCL's non-live categories (others follow in the order met)."""
QUANT_RE = re.compile(r"^(?P<name>.+?)[-_.](?P<quant>F16|F32|BF16|Q\d(?:_[A-Z0-9]+)*|IQ\d\w*)$", re.I)
AS_GIVEN, MASKED = "as given", "masked"

CaseKey = tuple[str, str]
"""(bench, case id)."""


@dataclass(frozen=True)
class Cell:
    """One category of one row: how many cases, how many right."""

    correct: int
    cases: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.cases if self.cases else None


@dataclass
class Row:
    """One (model, quantization, decoding, names) of one run directory."""

    model: str
    quant: str
    decoding: str
    """``constrained`` or ``free``."""
    names: str
    """``as given`` or ``masked``."""
    run_dir: str
    cells: dict[str, Cell] = field(default_factory=dict)
    """By bench name (``bfcl:simple_python``, ...)."""
    drop: float | None = None
    """Masked rows: non-live AST as given minus masked, same cases (a fraction, not points)."""
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    """By bench: how many cases failed for each reason (:mod:`hammer_fc.eval.failures`)."""

    @property
    def non_live_ast(self) -> float | None:
        return non_live_ast(self.cells)

    @property
    def cases(self) -> int:
        return sum(cell.cases for cell in self.cells.values())

    @property
    def case_counts(self) -> dict[str, int]:
        """Cases per bench (what the failure tables count against)."""
        return {name: cell.cases for name, cell in self.cells.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "quant": self.quant,
            "decoding": self.decoding,
            "names": self.names,
            "run_dir": self.run_dir,
            "categories": {
                name: {"cases": c.cases, "correct": c.correct, "accuracy": c.accuracy}
                for name, c in self.cells.items()
            },
            "non_live_ast": self.non_live_ast,
            "cases": self.cases,
            "drop": self.drop,
            "failures": self.failures,
        }


def non_live_ast(cells: dict[str, Cell]) -> float | None:
    """BFCL's non-live AST over the cells' categories (``None`` unless all six are there)."""
    accuracy = {
        name.removeprefix("bfcl:"): cell.accuracy for name, cell in cells.items() if cell.accuracy is not None
    }
    counts = {name.removeprefix("bfcl:"): cell.cases for name, cell in cells.items()}
    return bfcl_summary(accuracy, counts)["non_live_ast"]


def model_and_quant(model: str) -> tuple[str, str]:
    """``runs/x/hammer-smol-v2-Q4_K_M.gguf`` -> (``hammer-smol-v2``, ``Q4_K_M``)."""
    path = Path(model)
    if path.suffix.lower() != ".gguf":
        return model, "-"
    match = QUANT_RE.match(path.stem)
    if match is None:
        return path.stem, "-"
    return match["name"], match["quant"].upper()


@dataclass
class RunData:
    """What one run directory holds: its settings and a verdict per predicted case."""

    path: Path
    settings: dict[str, Any]
    verdicts: dict[tuple[str, str, bool], bool]
    """(bench, id, masked) -> right or not."""
    reasons: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    """(bench, id, masked) -> why it failed (failed cases only; :mod:`hammer_fc.eval.failures`)."""


class BenchCache:
    """Benches loaded once for all the run directories of a report."""

    def __init__(self) -> None:
        self._benches: dict[str, Bench] = {}
        self._examples: dict[str, dict[str, Any]] = {}

    def example(self, bench: str, case_id: str, where: str, record: int) -> tuple[Bench, Any]:
        if bench not in self._benches:
            self._benches[bench] = load_bench(bench)
            self._examples[bench] = {e.id: e for e in self._benches[bench].examples}
        example = self._examples[bench].get(case_id)
        if example is None:
            raise HammerError(f"no case {case_id!r} in {bench}", file=where, record=record, field="id")
        return self._benches[bench], example


def read_run(path: str | Path, benches: BenchCache | None = None) -> RunData:
    """Read and judge one run directory (read-only: a line still being written is skipped)."""
    path = Path(path)
    settings_file = path / SETTINGS
    if not path.is_dir():
        raise HammerError("no such run directory", file=str(path))
    if not settings_file.is_file():
        raise HammerError(f"not a `hammer eval run` directory (no {SETTINGS})", file=str(path))
    try:
        settings = json.loads(settings_file.read_text())
    except json.JSONDecodeError as err:
        raise HammerError(f"not valid JSON: {err}", file=str(settings_file)) from None
    benches = benches or BenchCache()
    verdicts: dict[tuple[str, str, bool], bool] = {}
    reasons: dict[tuple[str, str, bool], str] = {}
    predictions = path / PREDICTIONS
    data = predictions.read_bytes() if predictions.is_file() else b""
    if data and not data.endswith(b"\n"):  # the last line of a run in progress
        data = data[: data.rfind(b"\n") + 1]
    where = str(predictions)
    for index, line in enumerate(data.splitlines()):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            key = (record["bench"], str(record["id"]), bool(record["masked"]))
            calls = record.get("calls")
            parsed = None if calls is None else [ToolCall(c["name"], c["arguments"]) for c in calls]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise HammerError(
                "not a prediction line of `hammer eval run`", file=where, record=index
            ) from None
        bench, example = benches.example(key[0], key[1], where, index)
        judged = judge(bench, example, parsed, record.get("parse_error", ""))
        verdicts[key] = judged.valid
        if not judged.valid:
            expected = len(example.calls or example.meta.get("ground_truth") or [])
            reasons[key] = failures.reason(judged.error_type, len(parsed or []), expected)
    return RunData(path, settings, verdicts, reasons)


def _cells(run: RunData, masked: bool, keep: set[CaseKey] | None) -> dict[str, Cell]:
    counts: dict[str, list[int]] = {}
    for (bench, case_id, is_masked), valid in run.verdicts.items():
        if is_masked != masked or (keep is not None and (bench, case_id) not in keep):
            continue
        tally = counts.setdefault(bench, [0, 0])
        tally[0] += valid
        tally[1] += 1
    order = {name: i for i, name in enumerate(f"bfcl:{c}" for c in NON_LIVE)}
    names = sorted(counts, key=lambda n: (order.get(n, len(order)), n))
    return {name: Cell(*counts[name]) for name in names}


def _failures(run: RunData, masked: bool, keep: set[CaseKey] | None) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for (bench, case_id, is_masked), why in run.reasons.items():
        if is_masked == masked and (keep is None or (bench, case_id) in keep):
            by_reason = counts.setdefault(bench, {})
            by_reason[why] = by_reason.get(why, 0) + 1
    return counts


def _cases(run: RunData, masked: bool) -> set[CaseKey]:
    return {(bench, case_id) for bench, case_id, m in run.verdicts if m == masked}


def run_rows(run: RunData, keep: set[CaseKey] | None = None) -> list[Row]:
    """The rows of one run: names as given, and masked where it holds masked cases."""
    model, quant = model_and_quant(str(run.settings.get("model", run.path.name)))
    if run.settings.get("adapter"):  # a transformers run of base + adapter
        model = f"{model} + {Path(run.settings['adapter']).name}"
    if run.settings.get("abstain_threshold") is not None:  # the settings that change the answers
        model += f", abstain at {run.settings['abstain_threshold']:.3g}"
    if run.settings.get("max_tools"):
        model += f", top {run.settings['max_tools']} tools"
    decoding = "constrained" if run.settings.get("constrained") else "free"
    rows = []
    plain = Row(model, quant, decoding, AS_GIVEN, str(run.path), _cells(run, False, keep))
    plain.failures = _failures(run, False, keep)
    if plain.cells:
        rows.append(plain)
    masked_cases = _cases(run, True)
    if keep is not None:
        masked_cases &= keep
    if masked_cases:
        masked = Row(model, quant, decoding, MASKED, str(run.path), _cells(run, True, keep))
        masked.failures = _failures(run, True, keep)
        paired = masked_cases & _cases(run, False)
        given, renamed = non_live_ast(_cells(run, False, paired)), non_live_ast(_cells(run, True, paired))
        masked.drop = None if given is None or renamed is None else given - renamed
        rows.append(masked)
    return rows


def collect(run_dirs: Iterable[str | Path], *, common: bool = False) -> list[Row]:
    """Rows of every run directory, in the order given; ``common``: on the cases all rows share."""
    benches = BenchCache()
    runs = [read_run(path, benches) for path in run_dirs]
    if not runs:
        raise HammerError("no run directory given", field="run_dirs")
    keep = None
    if common:
        sets = [s for run in runs for s in (_cases(run, False), _cases(run, True)) if s]
        keep = set.intersection(*sets) if sets else set()
        if not keep:
            raise HammerError("the run directories share no case: drop --common", field="common")
    return [row for run in runs for row in run_rows(run, keep)]


def columns(rows: Sequence[Row]) -> list[str]:
    """Every bench that appears in a row, in BFCL's order."""
    out: list[str] = []
    for row in rows:
        out.extend(name for name in row.cells if name not in out)
    order = {name: i for i, name in enumerate(f"bfcl:{c}" for c in NON_LIVE)}
    return sorted(out, key=lambda n: (order.get(n, len(order)), out.index(n)))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def table_cells(rows: Sequence[Row], *, counts: bool = True) -> tuple[list[str], list[list[str]]]:
    """Header and rows as text: percentages (``n`` cases in parentheses with ``counts``), the
    drop in points. Both renderings use these, so the terminal and the README agree."""
    benches = columns(rows)
    header = ["model", "quant", "decoding", "names"]
    header += [name.removeprefix("bfcl:") for name in benches]
    header += ["non-live AST", "drop"]
    lines = []
    for row in rows:
        line = [row.model, row.quant, row.decoding, row.names]
        for name in benches:
            cell = row.cells.get(name)
            if cell is None:
                line.append("")
            else:
                line.append(_pct(cell.accuracy) + (f" ({cell.cases})" if counts else ""))
        ast = _pct(row.non_live_ast)
        if counts and row.non_live_ast is not None:
            ast += f" ({sum(c.cases for n, c in row.cells.items() if n != 'bfcl:irrelevance')})"
        line.append(ast)
        line.append("" if row.names == AS_GIVEN else _pct(row.drop))
        lines.append(line)
    return header, lines


CAPTION = (
    "Accuracy %, with the number of cases counted (n). non-live AST: BFCL's rule, the "
    "unweighted mean of simple (mean of python, java, javascript), multiple, parallel and "
    "parallel_multiple; irrelevance is not in it. drop: non-live AST with names as given "
    "minus with masked names (`--mask-names`), in points, on the same cases."
)


def markdown_table(rows: Sequence[Row], *, counts: bool = True, caption: bool = True) -> str:
    header, lines = table_cells(rows, counts=counts)
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join([" --- "] * 4 + [" ---: "] * (len(header) - 4)) + "|")
    out += ["| " + " | ".join(line) + " |" for line in lines]
    if caption:
        out += ["", CAPTION]
    return "\n".join(out) + "\n"


SHORT = {
    "simple_python": "py",
    "simple_java": "java",
    "simple_javascript": "js",
    "multiple": "mult",
    "parallel": "par",
    "parallel_multiple": "par_mult",
    "irrelevance": "irrel",
    "non-live AST": "AST",
    "decoding": "dec",
}
"""Column names on a terminal, where a table must fit in about 100 columns."""


def rich_table(rows: Sequence[Row], *, title: str | None = None, counts: bool = True) -> Any:
    """The same cells for a terminal: one label column, the case counts under the figures."""
    from rich.table import Table

    header, lines = table_cells(rows, counts=False)
    table = Table(title=title, caption=CAPTION + " " + _legend(header), caption_justify="left")
    table.add_column("model quant decoding names", overflow="fold", min_width=20)
    for name in header[4:]:
        table.add_column(SHORT.get(name, name), justify="right", no_wrap=True)
    _, counted = table_cells(rows, counts=True)
    for line, with_counts in zip(lines, counted, strict=True):
        if counts:
            line = [_stack(a, b) for a, b in zip(line, with_counts, strict=True)]
        table.add_row(" ".join(line[:4]), *line[4:])
    return table


def _stack(plain: str, counted: str) -> str:
    """``45.0 (400)`` -> ``45.0`` over a dim ``n=400``."""
    extra = counted.removeprefix(plain).strip()
    return plain if not extra else f"{plain}\n[dim]n={extra.strip('()')}[/]"


def _legend(header: Sequence[str]) -> str:
    return "Columns: " + ", ".join(f"{SHORT[h]} = {h}" for h in header if h in SHORT) + "."


def label(row: Row) -> str:
    """A short legend for a row: what distinguishes it."""
    return f"{row.model} {row.quant} {row.decoding}" + ("" if row.names == AS_GIVEN else " masked")


def plot(rows: Sequence[Row], path: str | Path, *, title: str = "BFCL non-live accuracy") -> Path:
    """Grouped bars: one group per category (and non-live AST), one bar per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        raise HammerError("nothing to plot", field="rows")
    benches = columns(rows)
    groups = [name.removeprefix("bfcl:") for name in benches] + ["non-live AST"]
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(max(8.0, 0.35 * len(groups) * len(rows) + 2), 5.5))
    for i, row in enumerate(rows):
        values = [row.cells[n].accuracy if n in row.cells else None for n in benches] + [row.non_live_ast]
        xs = [g + (i - (len(rows) - 1) / 2) * width for g in range(len(groups))]
        heights = [float("nan") if v is None else 100 * v for v in values]
        bars = ax.bar(xs, heights, width, label=f"{label(row)} (n={row.cases})")
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 108)
    ax.set_title(title)
    ax.legend(fontsize="small", ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_output(path) as sink:
        fig.savefig(sink, dpi=120, format="png")
    plt.close(fig)
    return Path(path)
