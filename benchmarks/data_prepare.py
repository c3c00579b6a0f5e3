"""How fast is ``hammer data prepare`` against the cost of merely reading and writing the data?

Generates an xLAM-shaped data set (deterministic: 60,000 examples plus 7,500 irrelevance
examples by default, drawn from a pool of 3,673 APIs like the real xLAM-60k, 1-6 tools per example
with 1-6 parameters each and descriptions of realistic length), then times

* the floor: what Python's ``json`` needs merely to read the input (``json.load``) and write the
  output (``json.dumps`` of every output record, one line each), and
* ours: ``hammer data prepare`` over 3 epochs (202,500 output lines), as the command runs it,

and prints both figures and their ratio. The Hammer authors' own data script does the same job in
about 12x the floor; the target here is at most 1.5x.

    .venv/bin/python benchmarks/data_prepare.py                 # full size
    .venv/bin/python benchmarks/data_prepare.py --examples 6000 --irrelevant 750   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table


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


def make_record(rng: random.Random, apis: list[dict], index: int, *, irrelevant: bool) -> dict:
    tools = rng.sample(apis, rng.choices(range(1, 7), weights=(30, 25, 20, 12, 8, 5))[0])
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


def generate(path: Path, n: int, *, irrelevant: bool, seed: int) -> None:
    """Write ``n`` xLAM records (a JSON list, tools and answers as JSON strings, like the release)."""
    rng = random.Random(seed)
    apis = [make_api(random.Random(f"api:{i}"), i) for i in range(N_APIS)]
    records = [make_record(rng, apis, i, irrelevant=irrelevant) for i in range(n)]
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1))


def floor_seconds(inputs: list[Path], output: Path, scratch: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of ``json.load`` of every input + ``json.dumps`` of every output record
    + writing the lines: the least any Python tool pays to read this input and write this output.
    ``json.dumps`` with its defaults (ASCII escapes), which is faster than ``ensure_ascii=False``
    here: the stricter floor. Measured in a fresh process, like ours: in this one, the heap the
    data generation left behind slows ``json.load`` down by up to a third."""
    command = [sys.executable, __file__, "--floor", str(output), str(scratch), *map(str, inputs)]
    wall, cpu = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
    return float(wall), float(cpu)


def floor_run(output: Path, scratch: Path, inputs: list[Path]) -> None:
    """The floor itself (``--floor``): prints its wall and CPU seconds."""
    records = [orjson.loads(line) for line in output.read_bytes().splitlines()]
    wall, cpu = time.perf_counter(), time.process_time()
    for path in inputs:
        with path.open(encoding="utf-8") as f:
            json.load(f)
    with scratch.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    print(time.perf_counter() - wall, time.process_time() - cpu)


def ours_seconds(inputs: list[Path], output: Path, args: argparse.Namespace) -> tuple[float, float]:
    """(wall, CPU of all its processes) seconds of ``hammer data prepare`` as a user runs it: a
    fresh process, start-up and imports included."""
    hammer = Path(sys.executable).with_name("hammer")
    command = [str(hammer), "data", "prepare", *(str(p) for p in inputs)]
    command += ["--epochs", str(args.epochs), "--mask-ratio", str(args.mask_ratio)]
    command += ["--add-irrelevance", str(args.add_irrelevance), "--seed", "0", "-o", str(output)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    if sys.argv[1:2] == ["--floor"]:
        output, scratch, *inputs = map(Path, sys.argv[2:])
        floor_run(output, scratch, inputs)
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
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs of each, interleaved")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated data here (reused)")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        inputs = [work / f"xlam_{args.examples}.json"]
        if args.irrelevant:
            inputs.append(work / f"irrelevance_{args.irrelevant}.json")
        for k, path in enumerate(inputs):
            if not path.exists():
                with console.status(f"generating {path.name}"):
                    generate(path, (args.examples, args.irrelevant)[k], irrelevant=k == 1, seed=1 + k)
        output = work / "prepared.jsonl"
        floors, ours = [], []
        for _ in range(args.repeats):
            ours.append(ours_seconds(inputs, output, args))
            floors.append(floor_seconds(inputs, output, work / "floor.jsonl"))
        lines = output.read_bytes().count(b"\n")
        input_mb = sum(p.stat().st_size for p in inputs) / 1e6
        output_mb = output.stat().st_size / 1e6

    from hammer_fc.prepare_writer import MIN_PARALLEL_LINES, default_workers

    workers = default_workers() if lines >= MIN_PARALLEL_LINES else 1  # what the command chose
    floor, mine = min(floors), min(ours)
    table = Table(
        title=f"hammer data prepare vs the json floor ({os.cpu_count()} cores, best of {args.repeats})"
    )
    for column in ("", "wall s", "CPU s"):
        table.add_column(column, justify="right")
    table.add_row("floor: json.load + json.dumps + write", f"{floor[0]:.2f}", f"{floor[1]:.2f}")
    table.add_row(f"ours: hammer data prepare (CLI, {workers} workers)", f"{mine[0]:.2f}", f"{mine[1]:.2f}")
    table.add_row(
        "ours / floor", f"[bold]{mine[0] / floor[0]:.2f}x[/]", f"[bold]{mine[1] / floor[1]:.2f}x[/]"
    )
    console.print(table)
    console.print(
        f"input {input_mb:.0f} MB ({', '.join(p.name for p in inputs)}), "
        f"output {lines:,} lines, {output_mb:.0f} MB; "
        f"epochs {args.epochs}, mask ratio {args.mask_ratio}; load average {os.getloadavg()[0]:.1f}. "
        "On a busy machine (Linux autogroup scheduling shares CPU per session, not per process) the "
        "2-process run gets no more CPU than the 1-process floor: compare the CPU column there."
    )


if __name__ == "__main__":
    main()
