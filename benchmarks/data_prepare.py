"""How fast is ``hammer data prepare`` against the cost of merely reading and writing the data?

Generates xLAM-shaped data sets (deterministic: 60,000 examples plus 7,500 irrelevance examples
by default, 1-6 tools per example with 1-6 parameters each and descriptions of realistic length)
in two distributions:

* ``pool``: tools drawn from a pool of 3,673 APIs, like the real xLAM-60k (a tool recurs in many
  examples, which the fast path renders once per worker), and
* ``unique``: every example has its own tools, none repeats (synthetic or BFCL-style data), where
  nothing rendered for one example serves another,

then times, each in a fresh process, on the same input files and the same output records:

* the orjson floor: ``orjson.loads`` of every input file, ``orjson.dumps`` of every output record
  (one line each) and one write: a physical floor for a tool built on orjson, in one process;
* the stdlib floor: the same with Python's ``json`` (``json.load``, ``json.dumps``);
* ours: ``hammer data prepare`` over 3 epochs (202,500 output lines by default), as the command
  runs it (start-up, imports, reading, masking, rendering, writing; 2 workers on 2 cores).

Ours uses as many cores as the machine has and the floors one, so both the wall-clock and the
CPU-time ratio are printed: CPU time is the work done, wall time what a user waits. Each repeat
runs the three back to back; the figures are medians over repeats, the ratios medians of the
per-repeat ratios.

    .venv/bin/python benchmarks/data_prepare.py                 # full size, both distributions
    .venv/bin/python benchmarks/data_prepare.py --examples 6000 --irrelevant 750   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from machine import machine_lines


def words(text: str) -> list[str]:
    return text.split()


WORDS = words("""
account address amount analysis api article artist balance bank book brand business calendar camera
category channel chart city code color comment company contact content country coupon course crypto
currency customer data date deal device domain email event exchange file flight forecast game genre
hotel image index invoice item job keyword language league lyrics market match media message movie
music news order page payment photo player playlist podcast post price product profile property
quote rate recipe region report restaurant review route score search season series service shipment
song sport station stock store stream summary symbol team text ticket time token track trade traffic
transaction trend user video weather website
""")
VERBS = words("get fetch search list find retrieve calculate convert check lookup generate validate")
FILLER = words("""
the a of for to and with by in from on that this which returns provides given specified information
details data results including current latest available optional format number list value identifier
name query based using each all its their such as e.g.
""")
PLACES = ["Lyon", "New York", "São Paulo", "Zürich", "Tokyo", "Berlin", "Nairobi", "Toronto", "Kraków"]
TYPES = (
    ("str", 40),
    ("int", 16),
    ("float", 6),
    ("bool", 6),
    ("List[str]", 5),
    ("List[int]", 2),
    ("Dict[str, Any]", 1),
)
N_APIS = 3673


def sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = [rng.choice(WORDS if rng.random() < 0.4 else FILLER) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def value_for(ptype: str, rng: random.Random) -> object:
    if ptype == "int":
        return rng.choice([1, 5, 10, 20, 50, 100, 2023, rng.randint(1, 5000)])
    if ptype == "float":
        return round(rng.uniform(0, 500), rng.choice([1, 2, 4]))
    if ptype == "bool":
        return rng.random() < 0.5
    if ptype == "List[str]":
        return [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
    if ptype == "List[int]":
        return [rng.randint(1, 999) for _ in range(rng.randint(1, 5))]
    if ptype.startswith("Dict"):
        return {rng.choice(WORDS): rng.choice(WORDS)}
    return rng.choice([rng.choice(PLACES), rng.choice(WORDS), f"{rng.choice(WORDS)}_{rng.randint(1, 99)}"])


def make_api(rng: random.Random, index: int) -> dict:
    """One xLAM tool: a flat parameter map with Python-ish type strings and some defaults."""
    name = f"{rng.choice(VERBS)}_{rng.choice(WORDS)}_{rng.choice(WORDS)}"
    if rng.random() < 0.5:
        name += f"_{index}"
    params = {}
    for _ in range(rng.choices(range(1, 7), weights=(22, 26, 22, 14, 9, 7))[0]):
        pname = rng.choice(WORDS) if rng.random() < 0.6 else f"{rng.choice(WORDS)}_{rng.choice(WORDS)}"
        ptype = rng.choices([t for t, _ in TYPES], weights=[w for _, w in TYPES])[0]
        spec = {"description": sentence(rng, 4, 16), "type": ptype}
        if ptype in ("str", "int", "float", "bool") and rng.random() < 0.45:
            default = value_for(ptype, rng)
            spec["type"] = f"{ptype}, optional"
            spec["description"] = spec["description"][:-1] + f". Defaults to {default!r}."
            spec["default"] = default
        params[pname] = spec
    return {"name": name, "description": sentence(rng, 8, 30), "parameters": params}


def make_record(rng: random.Random, tools: list[dict], index: int, *, irrelevant: bool) -> dict:
    answers = []
    if not irrelevant:
        n_calls = min(len(tools), rng.choices((1, 2, 3), weights=(70, 22, 8))[0])
        for tool in rng.sample(tools, n_calls):
            arguments = {}
            for pname, spec in tool["parameters"].items():
                if "default" in spec:
                    if rng.random() < 0.3:  # explicitly passes the default (masking rewrites it)
                        arguments[pname] = spec["default"]
                    elif rng.random() < 0.3:
                        arguments[pname] = value_for(spec["type"].split(",")[0], rng)
                else:
                    arguments[pname] = value_for(spec["type"], rng)
            answers.append({"name": tool["name"], "arguments": arguments})
    mentioned = " ".join(str(v) for a in answers for v in a["arguments"].values() if not isinstance(v, bool))
    query = f"{sentence(rng, 6, 24)[:-1]} {mentioned}".strip() + "?"
    return {"id": index, "query": query, "tools": json.dumps(tools), "answers": json.dumps(answers)}


def _tool_count(rng: random.Random) -> int:
    return rng.choices(range(1, 7), weights=(30, 25, 20, 12, 8, 5))[0]


def _distinct_names(tools: list[dict]) -> list[dict]:
    """Tool names made unique where the draw repeated one (a suffix), as a real tool list has
    them: ``hammer data prepare`` refuses one example offering two different tools of one name."""
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        while tool["name"] in seen:
            tool["name"] += f"_{index}"
        seen.add(tool["name"])
    return tools


def generate(path: Path, n: int, *, irrelevant: bool, seed: int, distribution: str) -> None:
    """Write ``n`` xLAM records (a JSON list, tools and answers as JSON strings, like the release):
    tools sampled from the shared pool, or (``unique``) made afresh for every example."""
    rng = random.Random(seed)
    records = []
    if distribution == "pool":
        apis = _distinct_names([make_api(random.Random(f"api:{i}"), i) for i in range(N_APIS)])
        for i in range(n):
            records.append(make_record(rng, rng.sample(apis, _tool_count(rng)), i, irrelevant=irrelevant))
    else:
        for i in range(n):
            tools = _distinct_names([make_api(rng, N_APIS + 10 * i + k) for k in range(_tool_count(rng))])
            records.append(make_record(rng, tools, i, irrelevant=irrelevant))
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1))


FLOORS = ("orjson", "json")


def floor_seconds(kind: str, inputs: list[Path], output: Path, scratch: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one floor (``orjson`` or ``json``), in a fresh process like ours:
    in this one, the heap the data generation left behind slows parsing down by up to a third."""
    command = [sys.executable, __file__, "--floor", kind, str(output), str(scratch), *map(str, inputs)]
    wall, cpu = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
    return float(wall), float(cpu)


def floor_run(kind: str, output: Path, scratch: Path, inputs: list[Path]) -> None:
    """The floor itself (``--floor KIND``): parse every input, serialise every output record of
    ours (one line each), write them; prints its wall and CPU seconds. ``json.dumps`` with its
    defaults (ASCII escapes), faster than ``ensure_ascii=False`` here: the stricter floor."""
    records = [orjson.loads(line) for line in output.read_bytes().splitlines()]
    wall, cpu = time.perf_counter(), time.process_time()
    if kind == "orjson":
        for path in inputs:
            orjson.loads(path.read_bytes())
        with scratch.open("wb") as f:  # one buffered write per line: joining 300 MB first is slower
            for record in records:
                f.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    else:
        for path in inputs:
            with path.open(encoding="utf-8") as f:
                json.load(f)
        with scratch.open("w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
    print(time.perf_counter() - wall, time.process_time() - cpu)


CLI = "from hammer_fc.cli import main; main()"


def prepare_command(inputs: list[Path], output: Path, args: argparse.Namespace) -> list[str]:
    hammer = Path(sys.executable).with_name("hammer")  # the installed entry point, else the same main()
    launcher = [str(hammer)] if hammer.exists() else [sys.executable, "-c", CLI]
    command = [*launcher, "data", "prepare", *(str(p) for p in inputs)]
    command += ["--epochs", str(args.epochs), "--mask-ratio", str(args.mask_ratio)]
    return [*command, "--add-irrelevance", str(args.add_irrelevance), "--seed", "0", "-o", str(output)]


def ours_seconds(inputs: list[Path], output: Path, args: argparse.Namespace) -> tuple[float, float]:
    """(wall, CPU of all its processes) seconds of ``hammer data prepare`` as a user runs it: a
    fresh process, start-up and imports included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(prepare_command(inputs, output, args), check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(distribution: str, work: Path, args: argparse.Namespace, console: Console) -> dict:
    """Generate (or reuse) one distribution's inputs and time ours and both floors, paired."""
    inputs = [work / f"{distribution}_xlam_{args.examples}.json"]
    if args.irrelevant:
        inputs.append(work / f"{distribution}_irrelevance_{args.irrelevant}.json")
    for k, path in enumerate(inputs):
        if not path.exists():
            with console.status(f"generating {path.name}"):
                n = (args.examples, args.irrelevant)[k]
                generate(path, n, irrelevant=k == 1, seed=1 + k, distribution=distribution)
    output = work / f"{distribution}_prepared.jsonl"
    runs: dict[str, list[tuple[float, float]]] = {"ours": [], **{kind: [] for kind in FLOORS}}
    for _ in range(args.repeats):
        runs["ours"].append(ours_seconds(inputs, output, args))
        for kind in FLOORS:
            runs[kind].append(floor_seconds(kind, inputs, output, work / "floor.jsonl"))
    lines = output.read_bytes().count(b"\n")
    names = set()
    for path in inputs:
        for record in orjson.loads(path.read_bytes()):
            names.update(orjson.dumps(t) for t in orjson.loads(record["tools"]))
    return {
        "runs": runs,
        "inputs": inputs,
        "lines": lines,
        "distinct_tools": len(names),
        "input_mb": sum(p.stat().st_size for p in inputs) / 1e6,
        "output_mb": output.stat().st_size / 1e6,
        "command": prepare_command(inputs, output, args),
    }


def report(distribution: str, result: dict, args: argparse.Namespace, console: Console) -> None:
    from hammer_fc.prepare.parallel import MIN_PARALLEL_LINES, default_workers

    runs = result["runs"]
    workers = default_workers() if result["lines"] >= MIN_PARALLEL_LINES else 1  # what the command chose
    title = f"{distribution} tools: hammer data prepare vs the floors (median of {args.repeats} paired runs)"
    table = Table(title=title)
    for column in ("", "wall s", "CPU s", "ours / it, wall", "ours / it, CPU"):
        table.add_column(column, justify="right")
    labels = {
        "ours": f"ours (CLI, {workers} workers)",
        "orjson": "orjson floor (1 process)",
        "json": "stdlib json floor (1 process)",
    }
    for side, label in labels.items():
        wall = statistics.median(r[0] for r in runs[side])
        cpu = statistics.median(r[1] for r in runs[side])
        ratios = ["", ""]
        if side != "ours":
            pairs = list(zip(runs["ours"], runs[side], strict=True))
            ratios = [f"[bold]{statistics.median(o[i] / f[i] for o, f in pairs):.2f}x[/]" for i in (0, 1)]
        table.add_row(label, f"{wall:.2f}", f"{cpu:.2f}", *ratios)
    console.print(table)
    spread = ", ".join(
        f"{side} wall {min(r[0] for r in runs[side]):.2f}-{max(r[0] for r in runs[side]):.2f} s"
        for side in labels
    )
    console.print("floors: parse every input file, serialise each output record of ours to one line, write")
    console.print(
        f"input {result['input_mb']:.0f} MB ({', '.join(p.name for p in result['inputs'])}, "
        f"{result['distinct_tools']:,} distinct tools), output {result['lines']:,} lines, "
        f"{result['output_mb']:.0f} MB; range over runs: {spread}"
    )
    shown = [Path(a).name if "/" in a else a for a in result["command"]]
    console.print("ours ran: " + " ".join(f"'{a}'" if " " in a else a for a in shown))


def main() -> None:
    if sys.argv[1:2] == ["--floor"]:
        kind, output, scratch, *inputs = sys.argv[2:]
        floor_run(kind, Path(output), Path(scratch), [Path(p) for p in inputs])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=60_000)
    parser.add_argument(
        "--irrelevant", type=int, default=7_500, help="irrelevance records in a second input file"
    )
    parser.add_argument("--add-irrelevance", type=float, default=0.0, help="passed to prepare")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--mask-ratio", type=float, default=0.33)
    parser.add_argument(
        "--distribution", choices=("pool", "unique", "both"), default="both", help="which tools"
    )
    parser.add_argument("--repeats", type=int, default=3, help="paired runs of ours and both floors")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated data here (reused)")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 110))
    distributions = ("pool", "unique") if args.distribution == "both" else (args.distribution,)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = {d: measure(d, work, args, console) for d in distributions}
    for line in machine_lines("orjson"):
        console.print(line)
    console.print(
        f"work: epochs {args.epochs}, mask ratio {args.mask_ratio}, add-irrelevance "
        f"{args.add_irrelevance}; load average after the runs {os.getloadavg()[0]:.1f}. On a busy "
        "machine (Linux autogroup scheduling shares CPU per session, not per process) the 2-process "
        "run gets no more CPU than a 1-process floor: compare the CPU column there."
    )
    for distribution, result in results.items():
        report(distribution, result, args, console)


if __name__ == "__main__":
    main()
