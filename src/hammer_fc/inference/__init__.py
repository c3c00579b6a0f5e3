"""Inference backends behind one interface (:mod:`.base`): transformers, llama.cpp and
OpenAI-compatible servers; the prompt formatter shared with training (:mod:`.chat_format`);
grammars for constrained decoding (:mod:`.grammar`)."""
