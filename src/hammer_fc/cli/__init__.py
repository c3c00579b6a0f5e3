"""The ``hammer`` command line (:mod:`.root` assembles one module per command group).

``python -m hammer_fc.cli ARGS`` is ``hammer ARGS``; ``accelerate launch -m hammer_fc.cli train
...`` is the form multi-device training runs in."""

from hammer_fc.cli.root import app, main

__all__ = ["app", "main"]
