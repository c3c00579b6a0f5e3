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
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``; unknown keys (``temperature``, ``seed`` ...) are accepted
    and ignored: decoding is greedy, so sampling settings have nothing to change."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1, le=1)


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
    return APIError(400, f"{param or 'body'}: {first['msg']}", param=param or None)
