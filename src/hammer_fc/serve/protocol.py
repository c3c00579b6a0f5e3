"""The OpenAI chat-completions wire format: the request we accept and the errors we answer.

Only the top level is a pydantic model; messages and tools are read by
:mod:`hammer_fc.serve.request` into the project's schema, where a bad field becomes a
:class:`~hammer_fc.errors.HammerError` naming it. Every failure a client can cause is answered
as OpenAI does, ``{"error": {"message", "type", "param", "code"}}`` with a 4xx status, so the
official client raises its usual typed exceptions.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``: the fields we act on, the ones that cannot change a greedy
    answer (accepted), and nothing else: an unknown or unsupported field is a 400 naming it.

    Decoding is greedy, so ``temperature``, ``top_p`` and ``seed`` are accepted and change
    nothing (the same request always gets the same answer); penalties and ``logprobs`` would
    change it or need what we do not compute, so only their neutral values are accepted.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    response_format: dict[str, Any] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1, le=1)
    seed: int | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=0, le=0)
    presence_penalty: float | None = Field(default=None, ge=0, le=0)
    logprobs: bool | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    abstain_threshold: float | str | None = None
    """Ours (``extra_body`` in the OpenAI client): this request's call-or-abstain threshold, a
    number in [0, 1] or ``"off"``, instead of the server's (``--abstain-threshold``)."""

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: str | list[str] | None) -> list[str]:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > 4 or not all(stops):
            raise ValueError("stop takes up to 4 non-empty strings")
        return stops

    @field_validator("logprobs")
    @classmethod
    def _logprobs(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("log-probabilities are not computed")
        return value


_HINTS = {
    "functions": "use tools",
    "function_call": "use tool_choice",
    "logit_bias": "decoding is greedy under our own grammar",
    "top_logprobs": "log-probabilities are not computed",
}


class APIError(Exception):
    """An error answered to the client with ``status`` and OpenAI's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def response(self) -> JSONResponse:
        body = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return JSONResponse({"error": body}, status_code=self.status)


def validation_error(err: ValidationError) -> APIError:
    """The first problem pydantic found, located as ``messages[0].content``-style param."""
    first = err.errors()[0]
    param = ""
    for part in first["loc"]:
        param += f"[{part}]" if isinstance(part, int) else (f".{part}" if param else str(part))
    if first["type"] == "extra_forbidden":
        hint = _HINTS.get(param)
        message = f"unsupported parameter {param!r}" + (f": {hint}" if hint else "")
        return APIError(400, message, param=param, code="unsupported_parameter")
    if param in ("frequency_penalty", "presence_penalty", "logprobs"):
        message = f"{param}: only its neutral value is supported (decoding is greedy)"
        return APIError(400, message, param=param, code="unsupported_value")
    return APIError(400, f"{param or 'body'}: {first['msg']}", param=param or None)
