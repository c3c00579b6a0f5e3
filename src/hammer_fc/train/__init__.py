"""Training (``hammer train``): LoRA or full fine-tuning with function masking re-drawn every epoch.

config (the recipe) -> data (sources -> examples that fit, with stats) -> dataset (per-epoch
masked views, tokenized on demand) -> model (LoRA via peft) -> trainer (``transformers.Trainer``
glue, grouped or packed batches, answer-only loss) -> report (loss curve, model card).
"""
