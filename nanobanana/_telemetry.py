"""OpenTelemetry spans and metrics of one client, costing next to nothing when nothing would record them.

The rest of the SDK calls a handful of hooks, one line at each call site, and each hands back a handle:

- `Telemetry.generation` around one whole generation (``generate``, or one batch item),
- `Telemetry.step` around an upload, a create or a download,
- `Telemetry.wait` around a wait (its ``fetch`` wrapper records each status call),
- `Telemetry.http_request` around one HTTP exchange (one attempt; each retry is its own),
- `Telemetry.batch` for a whole batch, the parent of its items.

Without the ``otel`` extra, or when neither a tracer provider nor a meter provider is configured (the API's own
proxy and no-op providers record nothing), every hook returns the one shared no-op handle `NOOP`: no attribute
is built and no clock is read. Names follow the semantic conventions of version `SEMCONV_VERSION`.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from yarl import URL

from . import _config
from ._exceptions import GenerationFailedError, WaitTimeoutError
from ._redact import bare_url, hide_url_queries
from ._version import __version__
from .types import TaskStatus

if TYPE_CHECKING:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, Tracer, TracerProvider
else:
    otel_context = otel_metrics = otel_trace = None

_T = TypeVar("_T")

SEMCONV_VERSION = "1.37.0"
"""The OpenTelemetry semantic conventions followed (GenAI: development status; HTTP: stable)."""
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

OPERATION = "generate_content"
PROVIDER = "nanobanana"
# The GenAI conventions' advice for gen_ai.client.operation.duration, up to 82 s (a generation takes about 35 s).
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
# Providers defined in the API package itself (the proxy used before any is set, and the no-op) record nothing.
_API_MODULES = ("opentelemetry.trace", "opentelemetry.metrics")
_TRUE = frozenset({"1", "true", "yes", "on"})
# Asking the API for the global providers costs microseconds (it reads the environment each time): a provider
# set after the client was made is looked for at most once per this many seconds.
_RECHECK_SECONDS = 1.0


_api_state: bool | None = None


def _api() -> bool:
    """Whether the OpenTelemetry API (the ``otel`` extra) is there; imported on first need, not with the SDK."""
    global _api_state, otel_context, otel_metrics, otel_trace
    if _api_state is None:
        try:
            from opentelemetry import context, metrics, trace
        except ImportError:
            _api_state = False
        else:
            otel_context, otel_metrics, otel_trace = context, metrics, trace
            _api_state = True
    return _api_state


def _env_flag(*names: str, default: bool) -> bool:
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip():
            return value.strip().lower() in _TRUE
    return default


def _real(provider: object) -> bool:
    return not type(provider).__module__.startswith(_API_MODULES)


def _model(options: Any) -> str:
    pro = options.get("enable_pro", True) if isinstance(options, Mapping) else getattr(options, "enable_pro", True)
    return "nano-banana-pro" if pro else "nano-banana"


def _field(value: Any, name: str, default: Any) -> Any:
    return value.get(name, default) if isinstance(value, Mapping) else getattr(value, name, default)


class _Instruments:
    """The client's metric instruments, made once per meter."""

    def __init__(self, provider: MeterProvider) -> None:
        meter = provider.get_meter("nanobanana", __version__, schema_url=SCHEMA_URL)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Duration of a whole generation: upload, create, wait and download.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.active = meter.create_up_down_counter(
            "nanobanana.client.active_generations", unit="{generation}", description="Generations in flight."
        )
        self.requests = meter.create_counter(
            "nanobanana.client.requests", unit="{request}", description="HTTP requests sent, each retry included."
        )
        self.retries = meter.create_counter(
            "nanobanana.client.retries", unit="{request}", description="HTTP requests that were retries."
        )
        self.rate_limited = meter.create_counter(
            "nanobanana.client.rate_limited", unit="{response}", description="429 answers received."
        )
        self.failures = meter.create_counter(
            "nanobanana.client.failures",
            unit="{operation}",
            description="Failed operations as the caller saw them (a generation, or a step called alone).",
        )


class Telemetry:
    """The hooks of one client, bound to its providers and settings.

    Args:
        tracer_provider: Where spans go; None for the global one.
        meter_provider: Where metrics go; None for the global one.
        capture_content: Record the prompt and URLs; None reads the environment.
        http_spans: Emit a span per HTTP request; None reads the environment (on by default).
        server: The API's base URL.
        redact: Removes the client's secrets from a text.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        capture_content: bool | None = None,
        http_spans: bool | None = None,
        server: URL,
        redact: Callable[[str], str],
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self.tracer: Tracer | None = None
        self.instruments: _Instruments | None = None
        self._next_check = 0.0
        if capture_content is None:
            capture_content = _env_flag(
                _config.ENV_OTEL_CAPTURE_CONTENT, _config.ENV_GENAI_CAPTURE_CONTENT, default=False
            )
        self.capture_content = capture_content
        self.http_spans = _env_flag(_config.ENV_OTEL_HTTP_SPANS, default=True) if http_spans is None else http_spans
        self.server_address = server.host or ""
        self.server_port = server.port or 0
        self.redact = redact

    def _recording(self) -> bool:
        """Whether a span or a metric would be recorded; settles for good once both providers are real ones."""
        if self.tracer is not None and self.instruments is not None:
            return True
        now = time.monotonic()
        if now < self._next_check:
            return self.tracer is not None or self.instruments is not None
        self._next_check = now + _RECHECK_SECONDS
        if not _api():
            return False
        if self.tracer is None:
            tracer_provider = self._tracer_provider or otel_trace.get_tracer_provider()
            if _real(tracer_provider):
                self.tracer = tracer_provider.get_tracer("nanobanana", __version__, schema_url=SCHEMA_URL)
        if self.instruments is None:
            meter_provider = self._meter_provider or otel_metrics.get_meter_provider()
            if _real(meter_provider):
                self.instruments = _Instruments(meter_provider)
        return self.tracer is not None or self.instruments is not None

    def generation(
        self,
        request: Any,
        *,
        options: Mapping[str, Any] | None = None,
        image_urls: Sequence[str] = (),
        images: Sequence[object] = (),
    ) -> Handle:
        """A generation: the CLIENT span named ``generate_content <model>`` and the GenAI duration metric.

        Nothing is read from the arguments unless something records.

        Args:
            request: A `GenerationRequest`, a batch item, a mapping of its fields, or just the prompt.
            options: With a prompt: the `GenerationOptions`.
            image_urls: With a prompt: the hosted inputs.
            images: With a prompt: the other inputs (local files, bytes, URLs).
        """
        if not self._recording():
            return NOOP
        if isinstance(request, str):
            request = {**(options or {}), "prompt": request, "image_urls": image_urls, "images": images}
        return _Generation(self, request)

    def step(self, name: str, *, url: str | None = None) -> Handle:
        """One step of a generation (``upload``, ``create``, ``download``), or the step called alone."""
        if not self._recording():
            return NOOP
        return _Step(self, name, url)

    def wait(self, task_id: str) -> Handle:
        """A wait for a task: wrap the status call with ``fetch`` and the wait's coroutine with ``run``."""
        if not self._recording():
            return NOOP
        return _Wait(self, task_id)

    def http_request(self, method: str, url: URL, resend_count: int = 0) -> Handle:
        """One HTTP exchange; tell the handle the answer's status with ``status``."""
        if not self._recording():
            return NOOP
        return _Http(self, method, url, resend_count)

    def batch(self, size: int) -> Handle:
        """A batch: its span is the parent of workers started under ``as_parent``; close it with ``end``."""
        if not self._recording():
            return NOOP
        return _Batch(self, size)


class Handle:
    """What a hook hands back. This base records nothing: its one instance, `NOOP`, stands for every hook."""

    __slots__ = ()

    def __enter__(self) -> Handle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def status(self, code: int) -> None:
        """The HTTP answer's status code."""

    def set_task_id(self, task_id: str) -> None:
        """The task the step or generation is about."""

    def fail(self, error: BaseException | None) -> None:
        """An error the code caught and reported otherwise (a batch item's outcome); None for none."""

    def fetch(self, fetch: Callable[[str], Awaitable[TaskStatus]]) -> Callable[[str], Awaitable[TaskStatus]]:
        """The status call of a wait, wrapped to record each call and each change of state."""
        return fetch

    def run(self, wait: Coroutine[Any, Any, _T]) -> Coroutine[Any, Any, _T]:
        """The wait's coroutine, run inside the wait's span."""
        return wait

    def as_parent(self) -> Handle:
        """A context in which tasks created (they copy the context) become children of this span."""
        return self

    def end(self, *, succeeded: int = 0, failed: int = 0) -> None:
        """End a batch, with its counts."""


NOOP = Handle()

_GENERATION: ContextVar[_Generation | None] = ContextVar("nanobanana_generation", default=None)


def record_error(span: Span, error: BaseException, redact: Callable[[str], str]) -> None:
    """Mark ``span`` failed by ``error``; the message and stack trace are scrubbed of secrets and URL queries."""
    message = hide_url_queries(redact(str(error)))
    # The whole chain of causes, whose messages (aiohttp's among them) may name a signed URL.
    stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    span.set_attribute("error.type", type(error).__qualname__)
    span.set_status(otel_trace.Status(otel_trace.StatusCode.ERROR, message))
    span.record_exception(
        error, attributes={"exception.message": message, "exception.stacktrace": hide_url_queries(redact(stack))}
    )


class _Recording(Handle):
    """A handle that records: the span (when tracing) and the context it is current in."""

    __slots__ = ("_context", "_span", "_telemetry")

    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry
        self._span: Span | None = None
        self._context: object = None

    def _start(self, name: str, attributes: dict[str, Any], *, client: bool = False, current: bool = True) -> None:
        tracer = self._telemetry.tracer
        if tracer is None:
            return
        kind = otel_trace.SpanKind.CLIENT if client else otel_trace.SpanKind.INTERNAL
        self._span = tracer.start_span(name, kind=kind, attributes=attributes)
        if current:
            self._context = otel_context.attach(otel_trace.set_span_in_context(self._span))

    def _finish(self, error: BaseException | None) -> None:
        span = self._span
        if span is None:
            return
        if error is not None:
            record_error(span, error, self._telemetry.redact)
        span.end()
        if self._context is not None:
            otel_context.detach(self._context)  # type: ignore[arg-type]
            self._context = None

    def _set(self, key: str, value: Any) -> None:
        if self._span is not None:
            self._span.set_attribute(key, value)

    def _failed_alone(self, operation: str, error: BaseException) -> None:
        """Count a failure the caller sees: a generation's, or a step's outside any generation."""
        instruments = self._telemetry.instruments
        if instruments is not None:
            instruments.failures.add(1, {"nanobanana.operation": operation, "error.type": type(error).__qualname__})


class _Generation(_Recording):
    __slots__ = ("_error", "_metric_attributes", "_request", "_started", "_token", "state")

    def __init__(self, telemetry: Telemetry, request: Any) -> None:
        super().__init__(telemetry)
        self._request = request
        self._error: BaseException | None = None
        self._token: Token[_Generation | None] | None = None
        self.state: str | None = None
        self._started = 0.0
        self._metric_attributes: dict[str, Any] = {}

    def __enter__(self) -> Handle:
        request, telemetry = self._request, self._telemetry
        prompt = request if isinstance(request, str) else str(_field(request, "prompt", ""))
        options = {} if isinstance(request, str) else request
        model = _model(options)
        urls = [url for url in _field(options, "image_urls", ()) or () if isinstance(url, str)]
        others = _field(options, "images", ()) or ()
        images = len(urls) + (len(others) if isinstance(others, Sequence) and not isinstance(others, str) else 1)
        self._metric_attributes = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": model,
            "server.address": telemetry.server_address,
            "server.port": telemetry.server_port,
        }
        attributes = {
            **self._metric_attributes,
            "gen_ai.output.type": "image",
            "nanobanana.request.resolution": str(_field(options, "resolution", "1K")),
            "nanobanana.request.image_count": images,
        }
        if telemetry.capture_content:
            attributes.update(_content(prompt, urls))
        self._start(f"{OPERATION} {model}", attributes, client=True)
        self._token = _GENERATION.set(self)
        if telemetry.instruments is not None:
            telemetry.instruments.active.add(1, self._metric_attributes)
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        error = exc if isinstance(exc, Exception) else self._error
        if self._token is not None:
            _GENERATION.reset(self._token)
        instruments = self._telemetry.instruments
        if instruments is not None:
            attributes = dict(self._metric_attributes)
            instruments.active.add(-1, attributes)
            if self.state is not None:
                attributes["nanobanana.task.final_state"] = self.state
            if error is not None:
                attributes["error.type"] = type(error).__qualname__
                self._failed_alone(OPERATION, error)
            instruments.duration.record(time.perf_counter() - self._started, attributes)
        self._finish(error)

    def set_task_id(self, task_id: str) -> None:
        self._set("gen_ai.response.id", task_id)
        self._set("nanobanana.task.id", task_id)

    def fail(self, error: BaseException | None) -> None:
        self._error = error

    def report(self, status: TaskStatus | None, calls: int, fail_message: str | None) -> None:
        """What the wait learned: the task's last state, the status calls spent, the failure message."""
        if status is not None:
            self.state = status.state.value
            self._set("nanobanana.task.final_state", self.state)
            if self._telemetry.capture_content and status.url:
                self._set("nanobanana.response.url", bare_url(status.url))
        self._set("nanobanana.status_calls", calls)
        if fail_message:
            self._set("nanobanana.task.fail_message", fail_message)


def _content(prompt: str, urls: Sequence[str]) -> dict[str, Any]:
    """The opt-in content attributes: the prompt as GenAI input messages, and the input URLs without queries."""
    message = {"role": "user", "parts": [{"type": "text", "content": prompt}]}
    return {
        "gen_ai.input.messages": json.dumps([message], ensure_ascii=False),
        "nanobanana.request.image_urls": [bare_url(url) for url in urls],
    }


class _Step(_Recording):
    __slots__ = ("_name", "_url")

    def __init__(self, telemetry: Telemetry, name: str, url: str | None) -> None:
        super().__init__(telemetry)
        self._name = name
        self._url = url

    def __enter__(self) -> Handle:
        attributes: dict[str, Any] = {"nanobanana.operation": self._name}
        if self._url is not None and self._telemetry.capture_content:
            attributes["nanobanana.response.url"] = bare_url(self._url)
        self._start(f"nanobanana.{self._name}", attributes)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        error = exc if isinstance(exc, Exception) else None
        if error is not None and _GENERATION.get() is None:
            self._failed_alone(self._name, error)
        self._finish(error)

    def set_task_id(self, task_id: str) -> None:
        self._set("nanobanana.task.id", task_id)
        generation = _GENERATION.get()
        if generation is not None:
            generation.set_task_id(task_id)


class _Wait(_Step):
    __slots__ = ("_calls", "_last", "_task_id", "_word")

    def __init__(self, telemetry: Telemetry, task_id: str) -> None:
        super().__init__(telemetry, "wait", None)
        self._task_id = task_id
        self._calls = 0
        self._last: TaskStatus | None = None
        self._word: str | None = None

    def fetch(self, fetch: Callable[[str], Awaitable[TaskStatus]]) -> Callable[[str], Awaitable[TaskStatus]]:
        async def counted(task_id: str) -> TaskStatus:
            self._calls += 1
            try:
                status = await fetch(task_id)
            except Exception as exc:
                self._event("nanobanana.status_call", {"error.type": type(exc).__qualname__})
                raise
            self._last = status
            self._event("nanobanana.status_call", {"nanobanana.task.state": status.state_word})
            if status.state_word != self._word:
                change = {"nanobanana.task.state": status.state_word}
                if self._word is not None:
                    change["nanobanana.task.previous_state"] = self._word
                self._event("nanobanana.state_change", change)
                self._word = status.state_word
            return status

        return counted

    def _event(self, name: str, attributes: dict[str, Any]) -> None:
        if self._span is not None:
            self._span.add_event(name, {"nanobanana.status_call.number": self._calls, **attributes})

    def run(self, wait: Coroutine[Any, Any, _T]) -> Coroutine[Any, Any, _T]:
        return self._run(wait)

    async def _run(self, wait: Coroutine[Any, Any, _T]) -> _T:
        with self:
            self.set_task_id(self._task_id)
            try:
                return await wait
            except (GenerationFailedError, WaitTimeoutError) as exc:
                self._last = exc.status if isinstance(exc, GenerationFailedError) else exc.last_status or self._last
                raise
            finally:
                self._report()

    def _report(self) -> None:
        last = self._last
        fail_message = last.fail_msg if last is not None and last.state.is_failure else None
        self._set("nanobanana.status_calls", self._calls)
        if last is not None:
            self._set("nanobanana.task.final_state", last.state.value)
        if fail_message:
            self._set("nanobanana.task.fail_message", fail_message)
        generation = _GENERATION.get()
        if generation is not None:
            generation.report(last, self._calls, fail_message)


class _Http(_Recording):
    __slots__ = ("_attributes", "_code", "_method", "_resend", "_url")

    def __init__(self, telemetry: Telemetry, method: str, url: URL, resend_count: int) -> None:
        super().__init__(telemetry)
        self._method = method
        self._url = url
        self._resend = resend_count
        self._code = 0
        self._attributes: dict[str, Any] = {}

    def __enter__(self) -> Handle:
        telemetry, url = self._telemetry, self._url
        self._attributes = {
            "http.request.method": self._method,
            "server.address": url.host or "",
            "server.port": url.port or 0,
        }
        if telemetry.http_spans and telemetry.tracer is not None:
            attributes = dict(self._attributes)
            name = self._method
            if self._resend:
                attributes["http.request.resend_count"] = self._resend
            if telemetry.capture_content:
                attributes["url.full"] = bare_url(url)
            if url.host == telemetry.server_address and url.port == telemetry.server_port:
                # The API's few paths are fixed routes that name no secret; a file host's path names a result.
                attributes["url.template"] = url.path
                name = f"{name} {url.path}"
            self._start(name, attributes, client=True, current=False)
        return self

    def status(self, code: int) -> None:
        self._code = code
        if self._span is not None:
            self._span.set_attribute("http.response.status_code", code)
            if code >= 400:
                self._span.set_attribute("error.type", str(code))
                self._span.set_status(otel_trace.Status(otel_trace.StatusCode.ERROR))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        error = exc if isinstance(exc, Exception) else None
        instruments = self._telemetry.instruments
        if instruments is not None:
            attributes = self._attributes
            if self._code:
                attributes["http.response.status_code"] = self._code
            if error is not None or self._code >= 400:
                attributes["error.type"] = type(error).__qualname__ if error is not None else str(self._code)
            instruments.requests.add(1, attributes)
            if self._resend:
                instruments.retries.add(1, attributes)
            if self._code == 429:
                instruments.rate_limited.add(1, attributes)
        self._finish(error)


class _Batch(_Recording):
    __slots__ = ()

    def __init__(self, telemetry: Telemetry, size: int) -> None:
        super().__init__(telemetry)
        self._start("nanobanana.batch", {"nanobanana.batch.size": size}, current=False)

    def as_parent(self) -> Handle:
        return _Parent(self._span)

    def end(self, *, succeeded: int = 0, failed: int = 0) -> None:
        self._set("nanobanana.batch.succeeded", succeeded)
        self._set("nanobanana.batch.failed", failed)
        self._finish(None)


class _Parent(Handle):
    """Makes a span current for a moment, without ending it."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span | None) -> None:
        self._span = span
        self._token: object = None

    def __enter__(self) -> Handle:
        if self._span is not None:
            self._token = otel_context.attach(otel_trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
