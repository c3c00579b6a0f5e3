"""Inference backends behind one interface (:mod:`.base`), chosen by :mod:`.load`: transformers,
llama.cpp and OpenAI-compatible servers; grammars for constrained decoding (:mod:`.grammar`).
The prompt text comes from :mod:`hammer_fc.prompts` (the formatter shared with training)."""
