"""Export: merge a LoRA adapter, write GGUF, quantize with llama.cpp.

``export_gguf`` is the one entry point (``hammer export`` calls it); float files are written
directly, quantized ones from an F16 intermediate exactly as llama.cpp's own workflow does.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rich.console import Console

from hammer_fc.errors import HammerError
from hammer_fc.export.convert import write_gguf
from hammer_fc.export.quantize import FTYPES, quantize
from hammer_fc.model_spec import ModelSpec, load_hf
from hammer_fc.outputs import check_output, partial_path

FLOAT_TYPES = ("F16", "F32")
QUANTS = (*FTYPES, *FLOAT_TYPES)


def export_gguf(
    spec: ModelSpec,
    out: Path,
    quant: str = "Q4_K_M",
    *,
    threads: int | None = None,
    console: Console | None = None,
) -> Path:
    """Export ``spec`` (adapter merged) to ``out`` as a GGUF of type ``quant``; returns ``out``.

    The file is written next to ``out`` under a hidden partial name and renamed over it once
    complete, so a failure or a kill leaves the old file or none, never half a model."""
    quant = quant.upper()
    if quant not in QUANTS:
        raise HammerError(f"unknown quantization {quant!r} (choose from {', '.join(QUANTS)})", field="quant")
    if spec.kind != "hf":
        raise HammerError(f"{spec.label} cannot be exported: it names a server, not weights", field="model")
    console = console or Console(quiet=True)  # the caller's console shows progress; none: silent
    out = check_output(out)
    partial = partial_path(out)
    with console.status(f"loading {spec.label or spec.source}"):
        model, tokenizer = load_hf(spec, merge_adapter=True)
    name = spec.label or spec.source
    intermediate = out.with_name(f".{out.stem}.f16.tmp.gguf")
    try:
        if quant in FLOAT_TYPES:
            write_gguf(model, tokenizer, partial, dtype=quant, name=name)  # type: ignore[arg-type]
        else:
            write_gguf(model, tokenizer, intermediate, dtype="F16", name=name)
            del model
            with console.status(f"quantizing to {quant} with llama.cpp"):
                log = quantize(intermediate, partial, quant, threads=threads)
            for line in log.splitlines():
                if "fallback quantization" in line:  # e.g. rows not a multiple of 256 cannot use K-quants
                    console.print(f"[dim]llama.cpp: {line.split('WARNING: ')[-1]}[/]")
        os.replace(partial, out)
        skipped = _carry_calibration(spec, out, quant)
        if skipped is not None:
            console.print(f"[yellow]abstain threshold: {skipped}[/]")
    finally:
        intermediate.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return out


def _carry_calibration(spec: ModelSpec, out: Path, quant: str) -> str | None:
    """The adapter's abstain calibration beside the GGUF (``NAME.abstain.json``, where ``hammer
    serve`` and ``hammer eval run`` look for it) when it was scored with the export's weights;
    otherwise none there (a stale one from an earlier export is removed) and the reason, to
    show: a 135M model's no-call probability moves with quantization (hammer-smol v4: 0.471 at
    Q4_K_M, 0.205 at F16), so another export's threshold would be silently wrong."""
    from hammer_fc.model_spec import calibration_path, gguf_calibration_path, read_calibration

    source = calibration_path(spec)
    target = gguf_calibration_path(out)
    target.unlink(missing_ok=True)
    if source is None or not source.is_file():
        return None
    weights = read_calibration(source).get("weights")
    if weights == quant:
        shutil.copyfile(source, target)
        return None
    return (
        f"{source} was calibrated on {weights or 'unrecorded'} weights, not {quant}: not carried; "
        f"calibrate this export with `hammer eval calibrate --model {out}`"
    )
