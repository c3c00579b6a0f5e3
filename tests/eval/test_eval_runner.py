"""``hammer eval run``: files written, resuming, reproducible subsets, masked names mapped back."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.benches import load_bench, load_benches, select_cases
from hammer_fc.eval.runner import build_cases, run_eval
from hammer_fc.inference.grammar import grammar_for_tools
from hammer_fc.inference.llamacpp_backend import LlamaCppBackend
from hammer_fc.model_spec import resolve
from hammer_fc.prompts import render_completion
from hammer_fc.schema import Example

HAMMER = str(Path(sys.executable).with_name("hammer"))

PAPER = [
    {
        "query": "Weather in Lyon?",
        "tools": "[{'name': 'weather', 'description': 'Weather in a city.', 'parameters': "
        "{'city': {'type': 'str', 'description': 'City.'}}}]",
        "answers": [{"name": "weather", "arguments": {"city": "Lyon"}}],
    },
    {
        "query": "Time in Tokyo?",
        "tools": "[{'name': 'clock', 'description': 'Time in a zone.', 'parameters': "
        "{'zone': {'type': 'str', 'description': 'Zone.'}}}]",
        "answers": [{"name": "clock", "arguments": {"zone": "Asia/Tokyo"}}],
    },
]


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(resolve("smollm2-135m", prefer="gguf"), n_ctx=2048)
    yield engine
    engine.close()


@pytest.fixture
def paper_bench(tmp_path: Path) -> str:
    path = tmp_path / "tiny_bench.json"
    path.write_text(json.dumps(PAPER))
    return str(path)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_writes_predictions_verdicts_summary_and_resumes(
    llama: LlamaCppBackend, paper_bench: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    options = {"backend": llama, "out_dir": out, "max_new_tokens": 4}
    first = run_eval("smollm2-135m", paper_bench, **options)
    assert {p.name for p in out.iterdir()} == {
        "run.json",
        "predictions.jsonl",
        "verdicts.jsonl",
        "summary.json",
        "summary.md",
    }
    predictions = _lines(out / "predictions.jsonl")
    assert sorted(p["id"] for p in predictions) == ["0", "1"]
    assert all(p["bench"] == paper_bench and p["masked"] is False and p["output"] for p in predictions)
    assert [v["id"] for v in _lines(out / "verdicts.jsonl")] == ["0", "1"]
    assert first["throughput"]["generated"] == 2 and first["throughput"]["reused_prompt_tokens"] > 0
    result = first["benches"][paper_bench]
    assert result["kind"] == "f1" and result["cases"] == 2
    assert first["accuracy"] == result["accuracy"]
    assert json.loads((out / "summary.json").read_text())["benches"] == first["benches"]
    assert "| tiny_bench.json | 2 |" in (out / "summary.md").read_text()

    again = run_eval("smollm2-135m", paper_bench, **options)  # nothing left to do
    assert again["throughput"]["generated"] == 0 and again["benches"] == first["benches"]

    # A run killed while writing its last line: that case is generated again, nothing else.
    text = (out / "predictions.jsonl").read_text().splitlines()
    (out / "predictions.jsonl").write_text(text[0] + "\n" + text[1][:20])
    resumed = run_eval("smollm2-135m", paper_bench, **options)
    assert resumed["throughput"]["generated"] == 1 and resumed["benches"] == first["benches"]

    with pytest.raises(HammerError, match="max_new_tokens=4, not 8"):
        run_eval("smollm2-135m", paper_bench, **{**options, "max_new_tokens": 8})


def test_limit_and_seed_pick_a_reproducible_subset() -> None:
    bench = load_bench("bfcl:simple_python")
    ids = [e.id for e in select_cases(bench, 5, seed=1)]
    assert ids == [e.id for e in select_cases(bench, 5, seed=1)]
    assert ids != [e.id for e in select_cases(bench, 5, seed=2)]
    order = [e.id for e in bench.examples]
    assert sorted(ids, key=order.index) == ids  # kept in bench order
    assert len(select_cases(bench, 10_000, seed=1)) == len(bench.examples)


class GoldEcho:
    """A backend that answers every case with its gold calls, as the case is shown: on a masked
    case those carry the masked names, so only a correct mapping back scores them right."""

    name = "gold-echo"
    batch_size = 4

    def format(self, example: Example, template: str) -> str:
        return render_completion(example.calls or [])

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        return list(prompts)

    def close(self) -> None:
        pass


def test_mask_names_maps_the_answer_back_before_scoring(tmp_path: Path) -> None:
    out = tmp_path / "run"
    benches = "bfcl:simple_python,bfcl:parallel"
    summary = run_eval("gold", benches, backend=GoldEcho(), out_dir=out, limit=3, seed=7, mask_names=True)
    for name in ("bfcl:simple_python", "bfcl:parallel"):
        result = summary["benches"][name]
        assert result["accuracy"] == 1.0 and result["masked"]["accuracy"] == 1.0
        assert result["drop"]["accuracy"] == 0.0
    assert "accuracy" not in summary and summary["bfcl"]["non_live_ast"] is None
    predictions = _lines(out / "predictions.jsonl")
    assert len(predictions) == 12 and sum(p["masked"] for p in predictions) == 6
    for p in predictions:
        names = [c["name"] for c in p["calls"]]
        shown = all(f'"name": "{n}"' in p["output"] for n in names)
        assert shown != p["masked"], "masked outputs use other names, mapped back in calls"
    assert "Masked acc." in (out / "summary.md").read_text()


def test_cli_run_prints_the_table(paper_bench: str, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["--bench", paper_bench, "--limit", "1", "--max-new-tokens", "2", "--threads", "1"]
    run = subprocess.run(
        [HAMMER, "eval", "run", *args, "-o", str(out)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert "tiny_bench.json" in run.stdout and "Accuracy" in run.stdout
    assert len(_lines(out / "predictions.jsonl")) == 1
    bad = subprocess.run(
        [HAMMER, "eval", "run", *args, "--template", "chatml", "-o", str(out)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown prompt template 'chatml'" in bad.stderr
    assert "Traceback" not in bad.stderr
    strict = tmp_path / "constrained"
    done = subprocess.run(
        [HAMMER, "eval", "run", *args, "--constrained", "-o", str(strict)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((strict / "run.json").read_text())["constrained"] is True


def test_mask_names_with_the_embedded_model_under_the_grammar(llama: LlamaCppBackend, tmp_path: Path) -> None:
    """The real model on masked names: under the grammar it can only call the masked functions
    it was shown, and every such call is stored under the original name with original
    parameter names; the plain and masked scores and their drop are reported."""
    benches, seed = "bfcl:simple_python,bfcl:multiple", 3
    summary = run_eval(
        "smollm2-135m",
        benches,
        backend=llama,
        out_dir=tmp_path / "run",
        limit=2,
        seed=seed,
        mask_names=True,
        constrained=True,
        max_new_tokens=96,
    )
    assert summary["constrained"] is True
    for name in ("bfcl:simple_python", "bfcl:multiple"):
        result = summary["benches"][name]
        assert result["cases"] == result["masked"]["cases"] == 2
        assert result["drop"]["accuracy"] == result["accuracy"] - result["masked"]["accuracy"]
    cases = {c.key: c for c in build_cases(load_benches(benches), limit=2, seed=seed, mask_names=True)}
    predictions = _lines(tmp_path / "run" / "predictions.jsonl")
    assert sorted((p["bench"], p["id"], p["masked"]) for p in predictions) == sorted(cases)
    read = 0
    for p in predictions:
        case = cases[(p["bench"], p["id"], p["masked"])]
        if p["calls"] is None:  # under the grammar only an answer cut off by the token cap
            assert "parse_error" in p and not p["output"].endswith("```"), p
            continue
        read += 1
        originals = {t.name: {q.name for q in t.params} for t in case.example.tools}
        for call in p["calls"]:
            assert call["name"] in originals  # mapped back (masked) or offered as is (plain)
            assert set(call["arguments"]) <= originals[call["name"]]
            if case.masked is not None:
                shown = case.masked.function_map[call["name"]]
                assert f'"name": "{shown}"' in p["output"] and f'"{call["name"]}"' not in p["output"]
    assert read >= len(predictions) // 2


class RecordingEcho(GoldEcho):
    """GoldEcho that keeps the grammar each generate call was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        self.calls.append((list(prompts), grammar))
        return list(prompts)


def test_constrained_runs_give_each_case_its_own_tools_grammar_and_are_not_resumed_free(
    tmp_path: Path,
) -> None:
    out, bench = tmp_path / "run", "bfcl:multiple"
    echo = RecordingEcho()
    summary = run_eval("gold", bench, backend=echo, out_dir=out, limit=3, seed=1, constrained=True)
    assert summary["constrained"] is True and summary["accuracy"] == 1.0
    cases = select_cases(load_bench(bench), 3, seed=1)
    expected = {render_completion(e.calls or []): grammar_for_tools(e.tools, "auto") for e in cases}
    assert len(echo.calls) == 3  # one case per call: each has its own grammar
    assert {prompts[0]: grammar for prompts, grammar in echo.calls} == expected
    with pytest.raises(HammerError, match="constrained=True, not False"):
        run_eval("gold", bench, backend=GoldEcho(), out_dir=out, limit=3, seed=1)

    free = RecordingEcho()
    run_eval("gold", bench, backend=free, out_dir=tmp_path / "free", limit=3, seed=1)
    assert [grammar for _, grammar in free.calls] == [None]  # one batch of 3, no grammar
    settings = json.loads((tmp_path / "free" / "run.json").read_text())
    del settings["constrained"]  # a run directory from before the setting existed was free
    (tmp_path / "free" / "run.json").write_text(json.dumps(settings))
    run_eval("gold", bench, backend=GoldEcho(), out_dir=tmp_path / "free", limit=3, seed=1)
