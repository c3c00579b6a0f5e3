"""The OpenAI-compatible tool-calling server: one model, requests answered one at a time.

A request is read into an :class:`~hammer_fc.schema.Example`, rendered with the same Hammer
prompt template evaluation uses, decoded (under a grammar built from its tools unless the
server runs ``--free``), and the text is read back with the same parser evaluation uses. The
model runs on a single worker thread: requests queue there in arrival order while the event
loop stays free to accept, validate and reject others. Every failure a client can cause is a
4xx with OpenAI's error body; a failure of ours is a 500 with the same body, never a hang.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from hammer_fc.errors import HammerError
from hammer_fc.inference.base import DEFAULT_MAX_NEW_TOKENS, Backend, ContextOverflow
from hammer_fc.inference.chat_format import DEFAULT_TEMPLATE, TEMPLATES
from hammer_fc.inference.grammar import GrammarCache, ToolChoice, forced_function
from hammer_fc.prompts import parse_calls, render_completion
from hammer_fc.schema import Example, ToolCall
from hammer_fc.serve.protocol import APIError, ChatRequest, validation_error
from hammer_fc.serve.request import read_request
from hammer_fc.serve.responses import Answer, chunks, completion, sse

log = logging.getLogger("hammer_fc.serve")


@dataclass
class Job:
    """A validated request, waiting for the model."""

    example: Example
    tool_choice: ToolChoice
    parallel: bool
    max_new_tokens: int


def complete_calls(text: str) -> list[ToolCall]:
    """The complete calls at the start of an answer cut off by the token limit.

    Under the grammar a cut-off answer is a prefix of ```` ```\n[call, call, ...````; the
    calls before the cut are whole, and a client is better served by them (with
    ``finish_reason: "length"``) than by the raw fragment.
    """
    body = text.lstrip()
    body = body[3:].lstrip() if body.startswith("```") else body
    if not body.startswith("["):
        return []
    decoder, objects, position = json.JSONDecoder(), [], 1
    while True:
        position += len(body[position:]) - len(body[position:].lstrip())
        try:
            value, position = decoder.raw_decode(body, position)
        except ValueError:
            break
        objects.append(value)
        rest = body[position:].lstrip()
        if not rest.startswith(","):
            break
        position = len(body) - len(rest) + 1
    parsed = parse_calls(json.dumps(objects)) if objects else []
    return parsed if isinstance(parsed, list) else []


class ChatService:
    """Everything between a validated request and an :class:`Answer` (runs on the worker)."""

    def __init__(
        self, backend: Any, *, template: str, constrained: bool, model_name: str, rng: random.Random
    ) -> None:
        self.backend = backend
        self.template = template
        self.constrained = constrained
        self.model_name = model_name
        self.rng = rng
        self.grammars = GrammarCache()
        self.count_tokens: Callable[[str], int] | None = getattr(backend, "count_tokens", None)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{self.rng.getrandbits(96):024x}"

    def _room(self, prompt_tokens: int | None) -> int | None:
        """Tokens left for the answer, or a 400 when the prompt alone fills the context."""
        n_ctx = getattr(self.backend, "n_ctx", None)
        if prompt_tokens is None or not isinstance(n_ctx, int):
            return None
        if prompt_tokens >= n_ctx:
            raise APIError(
                400,
                f"the prompt is {prompt_tokens} tokens, the model's context holds {n_ctx}",
                param="messages",
                code="context_length_exceeded",
            )
        return n_ctx - prompt_tokens

    def grammar(self, job: Job) -> str | None:
        """The job's grammar (cached), or ``None`` when decoding is free; a schema the grammar
        cannot enforce is a :class:`HammerError` (400)."""
        if not self.constrained or not job.example.tools or job.tool_choice == "none":
            return None
        return self.grammars.get(job.example.tools, job.tool_choice, parallel=job.parallel)

    def answer(self, job: Job) -> Answer:
        prompt = self.backend.format(job.example, self.template)
        prompt_tokens = self.count_tokens(prompt) if self.count_tokens else None
        room = self._room(prompt_tokens)
        max_new = job.max_new_tokens if room is None else min(job.max_new_tokens, room)
        offered = bool(job.example.tools) and job.tool_choice != "none"
        grammar = self.grammar(job)
        if self.constrained and job.tool_choice == "none":
            # The grammar would allow exactly one answer, no call: no need to ask the model.
            text = render_completion([])
        else:
            try:
                text = self.backend.generate([prompt], max_new_tokens=max_new, grammar=grammar)[0]
            except ContextOverflow as err:
                raise APIError(400, err.message, param="messages", code="context_length_exceeded") from None
        completion_tokens = self.count_tokens(text) if self.count_tokens else None
        parsed = parse_calls(text)
        # An unreadable answer was cut off by the token limit (under a grammar nothing else can
        # make it unreadable); its complete calls are still worth returning.
        cut_off = not isinstance(parsed, list) and (
            grammar is not None or (completion_tokens is not None and completion_tokens >= max_new)
        )
        if not offered:
            calls = []
        elif isinstance(parsed, list):
            calls = parsed
        else:
            calls = complete_calls(text) if cut_off else []
        finish = "length" if cut_off else "tool_calls" if calls else "stop"
        return Answer(
            id=self._id("chatcmpl-"),
            created=int(time.time()),
            model=self.model_name,
            calls=calls,
            call_ids=[self._id("call_") for _ in calls],
            text=text,
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )


def _job(request: ChatRequest, default_max_new_tokens: int) -> Job:
    """Check everything that needs no model; raise :class:`HammerError` naming the field."""
    example = read_request(request.messages, request.tools)
    forced_function(example.tools, request.tool_choice)  # validates the choice
    tool_choice = request.tool_choice
    if (tool_choice == "required" or isinstance(tool_choice, dict)) and not example.tools:
        raise HammerError("tool_choice asks for a call but no tools are given", field="tool_choice")
    return Job(
        example=example,
        tool_choice=tool_choice,
        parallel=request.parallel_tool_calls,
        max_new_tokens=request.max_completion_tokens or request.max_tokens or default_max_new_tokens,
    )


def create_app(
    backend: Backend,
    *,
    template: str = DEFAULT_TEMPLATE,
    constrained: bool = True,
    model_name: str = "hammer",
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    seed: int = 0,
) -> FastAPI:
    """The ASGI app serving ``backend``: prompts rendered by ``backend.format(example,
    template)``; with the backend's ``count_tokens`` and ``n_ctx`` an over-long prompt is refused
    (400) rather than truncated. ``seed`` makes the completion and call ids reproducible."""
    if template not in TEMPLATES:
        raise HammerError(
            f"unknown prompt template {template!r} (choose from {', '.join(TEMPLATES)})", field="template"
        )
    service = ChatService(
        backend, template=template, constrained=constrained, model_name=model_name, rng=random.Random(seed)
    )
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hammer-model")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        worker.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="hammer-fc", version="1", lifespan=lifespan)
    app.state.service = service

    @app.exception_handler(APIError)
    async def _api_error(_: Request, err: APIError) -> JSONResponse:
        return err.response()

    @app.exception_handler(HammerError)
    async def _hammer_error(_: Request, err: HammerError) -> JSONResponse:
        return APIError(400, str(err), param=err.field).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return APIError(400, str(err.errors()[0].get("msg", "invalid request"))).response()

    @app.exception_handler(HTTPException)
    async def _http(_: Request, err: HTTPException) -> JSONResponse:
        kind = "not_found_error" if err.status_code == 404 else "invalid_request_error"
        return APIError(err.status_code, str(err.detail), type=kind).response()

    @app.exception_handler(Exception)
    async def _crash(_: Request, err: Exception) -> JSONResponse:
        log.exception("request failed")
        return APIError(500, f"internal error: {type(err).__name__}: {err}", type="server_error").response()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": model_name, "constrained": constrained}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        card = {"id": model_name, "object": "model", "created": 0, "owned_by": "hammer-fc"}
        return {"object": "list", "data": [card]}

    @app.post("/v1/chat/completions")
    async def chat_completions(http: Request) -> Any:
        body = await http.body()
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise APIError(400, f"the request body is not valid JSON: {err}", code="invalid_json") from None
        if not isinstance(data, dict):
            raise APIError(400, "the request body must be a JSON object")
        try:
            request = ChatRequest.model_validate(data)
        except ValidationError as err:
            raise validation_error(err) from None
        job = _job(request, max_new_tokens)
        service.grammar(job)  # a schema the grammar cannot enforce: 400 now, not after the queue
        answer = await asyncio.wrap_future(worker.submit(service.answer, job))
        if not request.stream:
            return completion(answer)
        options = data.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        return StreamingResponse(
            sse(chunks(answer, include_usage=include_usage)), media_type="text/event-stream"
        )

    return app
