"""``hammer data prepare`` and the training-record formats.

- :mod:`.run`: the command (read the sources, augment, write), with the xLAM reading fast path;
- :mod:`.records`: the records a training set holds (prompt/completion JSONL, LLaMA-Factory
  alpaca), written and read back here only, and the plain (reference) writer;
- :mod:`.render`: the templating fast path, built from :mod:`hammer_fc.prompts`' public pieces;
- :mod:`.parallel`: the fork/``pwrite`` scheduler that splits loading and rendering over cores.
"""

from hammer_fc.prepare.run import PrepareResult, prepare, summary_rows

__all__ = ["PrepareResult", "prepare", "summary_rows"]
