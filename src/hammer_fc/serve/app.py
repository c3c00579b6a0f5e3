"""The OpenAI-compatible tool-calling server: one model, requests answered one at a time.

A request is read into an :class:`~hammer_fc.schema.Example`, rendered with the same Hammer
prompt template evaluation uses, decoded (under a grammar built from its tools unless the
server runs ``--free``), and read back as it is decoded (:class:`AnswerBuilder`). The model
runs on a single worker thread; the event loop stays free to accept, validate and reject.

Abandoned work is dropped: the worker checks between tokens whether the client is still there
and whether the request is past ``request_timeout`` (an OpenAI-style 408), and stops the model
when not. At most ``max_queue`` requests wait behind the running one; more get a 429. Every
failure a client can cause is a 4xx with OpenAI's error body; a failure of ours is a 500 with
the same body, never a hang.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from hammer_fc.errors import HammerError
from hammer_fc.inference.abstain import abstains, no_call_answer, parse_threshold
from hammer_fc.inference.base import (
    DEFAULT_MAX_NEW_TOKENS,
    Backend,
    ContextOverflow,
    ScoringBackend,
    StreamingBackend,
)
from hammer_fc.inference.grammar import GrammarCache, ToolChoice, forced_function
from hammer_fc.inference.preselect import check_max_tools, preselect_example
from hammer_fc.prompts import DEFAULT_TEMPLATE, get_template, render_completion
from hammer_fc.schema import Example
from hammer_fc.serve.protocol import APIError, ChatRequest, validation_error
from hammer_fc.serve.request import read_request, read_response_format
from hammer_fc.serve.responses import (
    DONE,
    Answer,
    AnswerBuilder,
    StopFilter,
    chunk,
    complete_calls,
    completion,
    sse,
    usage_chunk,
)

log = logging.getLogger("hammer_fc.serve")

DEFAULT_MAX_QUEUE = 16
"""Requests that may wait behind the running one (each takes seconds on a CPU)."""
DEFAULT_REQUEST_TIMEOUT = 300.0
"""Seconds from arrival to the last token, queueing included."""

__all__ = ["ChatService", "Job", "complete_calls", "create_app"]


@dataclass
class Job:
    """A validated request, waiting for the model."""

    example: Example
    tool_choice: ToolChoice
    parallel: bool
    max_new_tokens: int
    stop: list[str] = field(default_factory=list)
    response_grammar: str | None = None
    stream: bool = False
    deadline: float = float("inf")
    abstain_threshold: float | str | None = "server"
    """The request's own threshold (``None``: off), or ``"server"``: the server's."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set when the client has gone or its answer timed out: the worker drops the job."""


class _Dropped(Exception):
    """The job was cancelled while the model ran: stop quietly, nobody is listening."""


Emit = Callable[[tuple[str, Any]], None]


def _timeout(limit: float | None) -> APIError:
    return APIError(
        408,
        f"the request was not answered within the server's time limit ({limit:g} s, --request-timeout)",
        type="timeout_error",
        code="request_timeout",
    )


class ChatService:
    """Everything between a validated request and an :class:`Answer` (runs on the worker)."""

    def __init__(
        self,
        backend: Any,
        *,
        template: str,
        constrained: bool,
        model_name: str,
        rng: random.Random,
        request_timeout: float | None = None,
        abstain_threshold: float | None = None,
    ) -> None:
        if abstain_threshold is not None and not isinstance(backend, ScoringBackend):
            raise HammerError(
                f"the {backend.name} backend cannot score the no-call answer: --abstain-threshold off",
                field="abstain_threshold",
            )
        self.abstain_threshold = abstain_threshold
        self.backend = backend
        self.template = template
        self.constrained = constrained
        self.model_name = model_name
        self.rng = rng
        self.request_timeout = request_timeout
        self.grammars = GrammarCache()
        self.count_tokens: Callable[[str], int] | None = getattr(backend, "count_tokens", None)
        self._id_lock = threading.Lock()
        self.running = False
        """Whether the worker is on a job now (a cancelled one keeps it until the model stops)."""

    def new_id(self, prefix: str) -> str:
        with self._id_lock:
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

    def run(self, job: Job, head: dict[str, Any], emit: Emit) -> None:
        """Answer ``job`` through ``emit``: ``("start", delta)`` once decoding begins, then
        ``("deltas", [...])`` (streamed jobs only), and ``("done", Answer)`` or ``("error",
        APIError)``; a job whose client is gone or whose time ran out is dropped (without
        touching the model if it had not started) with a last ``("error", ...)`` that frees its
        handler."""
        self.running = True
        try:
            emit(("done", self._answer(job, head, emit)))
        except _Dropped:
            emit(("error", APIError(499, "the client closed the request", code="client_closed")))
        except APIError as err:
            emit(("error", err))
        except HammerError as err:
            emit(("error", APIError(400, str(err), param=err.field)))
        except Exception as err:  # a bug of ours: a 500 with a body, and the worker lives on
            log.exception("request failed")
            message = f"internal error: {type(err).__name__}: {err}"
            emit(("error", APIError(500, message, type="server_error")))
        finally:
            self.running = False

    def _check(self, job: Job) -> None:
        if job.cancel.is_set():
            raise _Dropped
        if time.monotonic() > job.deadline:
            raise _timeout(self.request_timeout)

    def _answer(self, job: Job, head: dict[str, Any], emit: Emit) -> Answer:
        self._check(job)
        prompt = self.backend.format(job.example, self.template)
        prompt_tokens = self.count_tokens(prompt) if self.count_tokens else None
        room = self._room(prompt_tokens)
        max_new = job.max_new_tokens if room is None else min(job.max_new_tokens, room)
        offered = bool(job.example.tools) and job.tool_choice != "none"
        grammar, mode = job.response_grammar, "text"
        if offered and self.constrained:
            grammar = self.grammars.get(job.example.tools, job.tool_choice, parallel=job.parallel)
            mode = "calls"
        elif offered:
            mode = "held"
        builder = AnswerBuilder(mode, lambda: self.new_id("call_"))
        stop = StopFilter(job.stop)
        finish, tokens = "stop", None

        def take(text: str) -> None:
            deltas = builder.feed(stop.feed(text))
            if deltas and job.stream:
                emit(("deltas", deltas))

        threshold = self.abstain_threshold if job.abstain_threshold == "server" else job.abstain_threshold
        abstain = False
        if offered and job.tool_choice in (None, "auto") and threshold is not None:
            if not isinstance(self.backend, ScoringBackend):
                raise HammerError(
                    f"the {self.backend.name} backend cannot score the no-call answer",
                    field="abstain_threshold",
                )
            try:
                (p_nocall,) = self.backend.answer_probabilities(
                    [prompt], no_call_answer(self.template, self.backend.chat)
                )
            except ContextOverflow as err:
                raise APIError(400, err.message, param="messages", code="context_length_exceeded") from None
            abstain = abstains(p_nocall, threshold)
            log.debug(
                "p_nocall %.4g, threshold %g: %s", p_nocall, threshold, "abstain" if abstain else "call"
            )
            if not abstain and self.constrained:
                grammar = self.grammars.get(job.example.tools, "required", parallel=job.parallel)
        if abstain or (
            self.constrained and job.tool_choice == "none" and grammar is None and job.example.tools
        ):
            # The grammar would allow exactly one answer, no call (or the threshold chose it):
            # no need to ask the model.
            emit(("start", builder.opening()))
            take(render_completion([]))
            tokens = self.count_tokens(builder.text) if self.count_tokens else None
        elif isinstance(self.backend, StreamingBackend):
            try:
                pieces = self.backend.stream(prompt, max_new_tokens=max_new, grammar=grammar)
            except ContextOverflow as err:
                raise APIError(400, err.message, param="messages", code="context_length_exceeded") from None
            emit(("start", builder.opening()))
            try:
                for piece in pieces:
                    self._check(job)
                    take(piece.text)
                    tokens = piece.tokens
                    finish = piece.finish_reason or finish
                    if stop.hit:
                        finish = "stop"
                        break
            finally:
                pieces.close()  # stops the model now if we left early
        else:
            try:
                text = self.backend.generate([prompt], max_new_tokens=max_new, grammar=grammar)[0]
            except ContextOverflow as err:
                raise APIError(400, err.message, param="messages", code="context_length_exceeded") from None
            self._check(job)
            emit(("start", builder.opening()))
            tokens = self.count_tokens(text) if self.count_tokens else None
            finish = "length" if tokens is not None and tokens >= max_new else "stop"
            take(text)
            if stop.hit:
                finish = "stop"
        take(stop.flush())
        deltas, finish = builder.finish(finish)
        if deltas and job.stream:
            emit(("deltas", deltas))
        return Answer(
            id=head["id"],
            created=head["created"],
            model=self.model_name,
            tool_calls=builder.tool_calls,
            content=builder.content,
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=tokens,
        )


def _job(request: ChatRequest, default_max_new_tokens: int, max_tools: int | None = None) -> Job:
    """Check everything that needs no model; raise :class:`HammerError` naming the field.
    Past ``max_tools`` tools, the model sees (and may call) only the most relevant ones."""
    example = read_request(request.messages, request.tools)
    threshold: float | str | None = "server"
    if "abstain_threshold" in request.model_fields_set:
        threshold = parse_threshold(request.abstain_threshold)
    named = forced_function(example.tools, request.tool_choice)  # validates the choice
    example = preselect_example(example, max_tools, keep=named)
    tool_choice = request.tool_choice
    if (tool_choice == "required" or isinstance(tool_choice, dict)) and not example.tools:
        raise HammerError("tool_choice asks for a call but no tools are given", field="tool_choice")
    response_grammar = read_response_format(request.response_format)
    if response_grammar is not None and example.tools and tool_choice != "none":
        raise HammerError(
            "response_format shapes a text answer: with tools, set tool_choice to none",
            field="response_format",
        )
    if request.stream_options is not None and not request.stream:
        raise HammerError("stream_options needs stream: true", field="stream_options")
    return Job(
        example=example,
        tool_choice=tool_choice,
        parallel=request.parallel_tool_calls,
        max_new_tokens=request.max_completion_tokens or request.max_tokens or default_max_new_tokens,
        stop=request.stop,
        response_grammar=response_grammar,
        stream=request.stream,
        abstain_threshold=threshold,
    )


def create_app(
    backend: Backend,
    *,
    template: str = DEFAULT_TEMPLATE,
    constrained: bool = True,
    model_name: str = "hammer",
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    seed: int = 0,
    max_queue: int = DEFAULT_MAX_QUEUE,
    request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
    abstain_threshold: float | None = None,
    max_tools: int | None = None,
) -> FastAPI:
    """The ASGI app serving ``backend``: prompts rendered by ``backend.format(example,
    template)``; with the backend's ``count_tokens`` and ``n_ctx`` an over-long prompt is refused
    (400) rather than truncated. ``seed`` makes the completion and call ids reproducible.
    ``max_queue`` requests may wait behind the running one (429 beyond); ``request_timeout``
    seconds (``None``: no limit) bound each request from arrival to its last token (408).
    ``abstain_threshold`` (``None``: off) takes the call-or-abstain decision of
    :mod:`hammer_fc.inference.abstain` for requests with tools and ``tool_choice`` auto; a request's
    ``abstain_threshold`` field overrides it. A request with more than ``max_tools`` tools
    (``None`` or 0: no limit) shows the model only the most relevant ones
    (:mod:`hammer_fc.inference.preselect`), and only those can be called."""
    max_tools = check_max_tools(max_tools)
    if max_queue < 0:
        raise HammerError("max_queue must be 0 or more", field="max_queue")
    if request_timeout is not None and request_timeout <= 0:
        raise HammerError("request_timeout must be positive", field="request_timeout")
    get_template(template)  # the registry's one "unknown prompt template" error
    service = ChatService(
        backend,
        template=template,
        constrained=constrained,
        model_name=model_name,
        rng=random.Random(seed),
        request_timeout=request_timeout,
        abstain_threshold=abstain_threshold,
    )
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hammer-model")
    in_flight = [0]  # requests admitted and not yet answered (touched on the event loop only)

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
        return {
            "status": "ok",
            "model": model_name,
            "constrained": constrained,
            "in_flight": in_flight[0],
            "running": service.running,
            "max_queue": max_queue,
            "abstain_threshold": abstain_threshold,
            "max_tools": max_tools,
        }

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
        job = _job(request, max_new_tokens, max_tools)
        service.grammar(job)  # a schema the grammar cannot enforce: 400 now, not after the queue
        if in_flight[0] > max_queue:
            raise APIError(
                429,
                f"the server is busy: {in_flight[0] - 1} requests are already waiting "
                f"(--max-queue {max_queue})",
                type="rate_limit_error",
                code="queue_full",
            )
        if request_timeout is not None:
            job.deadline = time.monotonic() + request_timeout
        in_flight[0] += 1
        head = {"id": service.new_id("chatcmpl-"), "created": int(time.time()), "model": model_name}
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        emit: Emit = lambda event: loop.call_soon_threadsafe(events.put_nowait, event)  # noqa: E731
        worker.submit(service.run, job, head, emit)
        handed_over = False
        try:
            watcher = asyncio.create_task(_watch_disconnect(http, job, events))
            try:
                kind, value = await _next(events, job, request_timeout)
                while not request.stream and kind != "done":
                    kind, value = await _next(events, job, request_timeout)
            finally:
                watcher.cancel()
            if not request.stream:
                return completion(value)
            options = request.stream_options or {}
            stream = _stream(head, value, events, job, request_timeout, bool(options.get("include_usage")))
            handed_over = True
            return StreamingResponse(_released(stream, job, in_flight), media_type="text/event-stream")
        finally:
            if not handed_over:
                job.cancel.set()
                in_flight[0] -= 1

    return app


async def _watch_disconnect(http: Request, job: Job, events: asyncio.Queue[tuple[str, Any]]) -> None:
    """When the client hangs up (the body is read: the next message says so), cancel ``job``
    and free its handler at once (a queued job is skipped when the worker reaches it)."""
    while True:
        message = await http.receive()
        if message["type"] == "http.disconnect":
            job.cancel.set()
            events.put_nowait(("error", APIError(499, "the client closed the request", code="client_closed")))
            return


async def _next(events: asyncio.Queue[tuple[str, Any]], job: Job, limit: float | None) -> tuple[str, Any]:
    """The worker's next event for ``job``; an error or the time limit raises :class:`APIError`."""
    try:
        kind, value = await asyncio.wait_for(events.get(), max(job.deadline - time.monotonic(), 0.0))
    except TimeoutError:
        job.cancel.set()
        raise _timeout(limit) from None
    if kind == "error":
        raise value
    return kind, value


async def _stream(
    head: dict[str, Any],
    opening: dict[str, Any],
    events: asyncio.Queue[tuple[str, Any]],
    job: Job,
    limit: float | None,
    include_usage: bool,
) -> AsyncIterator[str]:
    """The server-sent events of a streamed answer, each delta as the worker produces it; an
    error after the first byte is an ``{"error": ...}`` event (the client raises it)."""
    yield sse(chunk(head, opening))
    try:
        while True:
            kind, value = await _next(events, job, limit)
            if kind == "deltas":
                for delta in value:
                    yield sse(chunk(head, delta))
            elif kind == "done":
                yield sse(chunk(head, {}, value.finish_reason))
                if include_usage and (usage := value.usage()) is not None:
                    yield sse(usage_chunk(head, usage))
                yield DONE
                return
    except APIError as err:
        yield sse({"error": {"message": err.message, "type": err.type, "param": err.param, "code": err.code}})


async def _released(stream: AsyncIterator[str], job: Job, in_flight: list[int]) -> AsyncIterator[str]:
    """``stream``, then (finished, failed or cancelled by a disconnect) the job's slot freed and
    the model told to stop."""
    try:
        async for event in stream:
            yield event
    finally:
        job.cancel.set()
        in_flight[0] -= 1
