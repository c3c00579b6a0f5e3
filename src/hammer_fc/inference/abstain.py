"""The call-or-abstain decision: the model's own probability of the no-call answer, against a
threshold calibrated on training-side data.

Under the grammar a small model nearly always calls something, even where ``[]`` is allowed
and nothing fits: greedy decoding compares one token at a time and a call's first token
usually wins. Here the whole decision is taken once, before decoding: ``p_nocall`` is the
probability the model gives to writing exactly the no-call answer (the template's answer for
no calls and its end-of-turn marker, the tokens training puts behind the prompt, teacher-forced)
right after the prompt. At ``p_nocall >= threshold`` the answer is ``[]`` without decoding;
below it the model must call (under the grammar the empty list is then not allowed; in free
decoding the model decodes as it would anyway). The threshold only applies with
``tool_choice`` ``auto``: ``none``, ``required`` and a named function already decide.

A backend offers the score through :class:`~hammer_fc.inference.base.ScoringBackend`.
``hammer eval calibrate`` (:mod:`hammer_fc.eval.calibrate`) picks the threshold and writes
:data:`~hammer_fc.model_spec.CALIBRATION_FILE` into the adapter directory; ``hammer eval run``
and ``hammer serve``
read it from there (or from ``MODEL.abstain.json`` beside a GGUF, which ``hammer eval calibrate
--model MODEL.gguf`` writes, and ``hammer export`` copies from an adapter calibrated on the
export's weights) unless ``--abstain-threshold`` says otherwise.
"""

from __future__ import annotations

from typing import Literal

from hammer_fc.errors import HammerError
from hammer_fc.model_spec import ModelSpec, calibration_path, read_calibration
from hammer_fc.prompts import get_template
from hammer_fc.prompts.chat_format import ChatFormat

FROM_CARD: Literal["card"] = "card"
"""The default of ``--abstain-threshold``: the model's calibration file where it has one, else off."""
OFF = "off"


def no_call_answer(template: str, chat: ChatFormat) -> str:
    """The no-call answer as training writes it behind the prompt: the template's completion
    for no calls and what closes a target (the tokenizer's end-of-sequence token by default)."""
    chosen = get_template(template)
    end = chat.special_tokens.get("eos_token", "") if chosen.end is None else chosen.end
    return chosen.completion([]) + end


def abstains(p_nocall: float, threshold: float) -> bool:
    """Whether the answer is ``[]``: ``p_nocall >= threshold``. A softmax never gives exactly 1,
    so at threshold 1 nothing abstains, even where float rounding of a near-certain
    answer reads 1.0."""
    return threshold < 1.0 and p_nocall >= threshold


def parse_threshold(value: str | float | None, *, field: str = "abstain_threshold") -> float | None:
    """``"off"`` / ``None`` -> ``None``; a number in [0, 1] -> that float; anything else a
    :class:`HammerError` naming ``field``."""
    if value is None or (isinstance(value, str) and value.strip().lower() == OFF):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HammerError(f"expected a number in [0, 1] or 'off', got {value!r}", field=field) from None
    if not 0.0 <= number <= 1.0:  # also refuses nan
        raise HammerError(f"expected a number in [0, 1] or 'off', got {value!r}", field=field)
    return number


def resolve_threshold(value: str | float | None, spec: ModelSpec | None) -> tuple[float | None, str]:
    """The threshold to apply and where it came from: ``value`` (a number, ``"off"``/``None``,
    or :data:`FROM_CARD`: the model's calibration file if there is one, else off)."""
    if value == FROM_CARD:
        path = calibration_path(spec)
        if path is None or not path.is_file():
            return None, "off (no calibration)"
        return read_calibration(path)["threshold"], str(path)
    threshold = parse_threshold(value)
    return threshold, "off" if threshold is None else "--abstain-threshold"
