"""Quantize a GGUF file with llama.cpp's own quantizer (through llama-cpp-python's C API).

llama.cpp chooses per-tensor types inside a mix like Q4_K_M (attention V and FFN down get more
bits, tensors whose rows are not a multiple of 256 fall back to a legacy type); reusing it keeps
our files identical to what ``llama-quantize`` would produce.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hammer_fc.errors import HammerError

# Our names -> llama.cpp's LLAMA_FTYPE_* constant names.
FTYPES = {
    "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "Q5_K_M": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "Q6_K": "LLAMA_FTYPE_MOSTLY_Q6_K",
    "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
}


@contextmanager
def _stderr_to(log: tempfile._TemporaryFileWrapper) -> Iterator[None]:
    """Send file descriptor 2 to ``log``: llama.cpp's quantizer writes straight to it, a line per tensor."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quantize(src: Path, dst: Path, quant: str, *, threads: int | None = None) -> str:
    """Write ``dst`` as ``src`` quantized to ``quant`` (one of :data:`FTYPES`); returns llama.cpp's log."""
    import llama_cpp
    from llama_cpp._logger import set_verbose

    if quant not in FTYPES:
        raise HammerError(f"unknown quantization {quant!r} (choose from {', '.join(FTYPES)})", field="quant")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, FTYPES[quant])
    params.nthread = threads or os.cpu_count() or 1
    set_verbose(False)
    with tempfile.NamedTemporaryFile("w+b") as log:
        with _stderr_to(log):
            status = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
        log.seek(0)
        text = log.read().decode(errors="replace")
    if status != 0:
        tail = " | ".join(text.strip().splitlines()[-3:])
        raise HammerError(
            f"llama.cpp could not quantize {src} to {quant} (status {status}): {tail}", file=str(dst)
        )
    return text
