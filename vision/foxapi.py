"""The FoxAPI client: the only module in FoxWeb that talks to FoxAPI.

It speaks the contract in shared/foxapi/CONTRACT.md over httpx and returns typed values.
Every failure becomes a `FoxAPIError` (or a subclass) whose `user_message` can be shown to
a non-technical user as it is. The API key is passed per call, sent only in the
Authorization header, and never logged or put into an error.

Retries: reads (GET) are retried on 429, 500, 503 and connection failures with capped
exponential backoff that honours Retry-After. A submit (POST) is retried only when the
connection could not be opened at all, because a submit whose answer was lost may already
have created a paid task upstream. As the contract says, 400, 401, 402, 404 and 422 are never
retried; a gateway's 502 or 504 to a submit counts as a lost answer (the task may exist).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from vision import debug

log = logging.getLogger(__name__)

SANDBOX = "sandbox"
SANDBOX_BASE_URL = "http://foxapi-sandbox.invalid"
SANDBOX_HEADER = "X-FoxAPI-Sandbox"
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
KNOWN_STATUSES = frozenset({"pending", "processing"}) | TERMINAL_STATUSES
RETRY_STATUSES = frozenset({429, 500, 503})
GATEWAY_STATUSES = frozenset({502, 504})  # a proxy's answer: the service behind it may have done the work
# Other spellings of the contract's statuses that implementations are known to use.
STATUS_ALIASES = {"canceled": "cancelled", "succeeded": "completed", "success": "completed", "error": "failed"}
MAX_TASK_ID_CHARS = 500  # what Task.upstream_id holds
QUICK_TIMEOUT = 10.0  # seconds, for a status poll; a task's refresh lease outlasts it
MAX_PROMPT_CHARS = 100_000  # the contract's limit on `prompt`


# --- Errors -----------------------------------------------------------------------------------


class FoxAPIError(Exception):
    """Anything that went wrong talking to FoxAPI.

    `user_message` is plain language for the person at the screen; `detail` is what the
    service said (already free of the API key); `status`, `type` and `code` are for logic.
    """

    default_message = "Something went wrong while talking to FoxAPI. Please try again."
    retryable = False

    def __init__(
        self,
        user_message: str = "",
        *,
        status: int | None = None,
        type: str = "",
        code: str = "",
        detail: str = "",
        retry_after: float | None = None,
    ):
        self.user_message = user_message or self.default_message
        self.status = status
        self.type = type
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(self.user_message)

    @property
    def short_code(self) -> str:
        """A stable code to store on a task: the service's code, else one of ours."""
        return self.code or self.type or type(self).__name__.lower()


class KeyRejected(FoxAPIError):
    default_message = (
        "FoxAPI did not accept the API key. It may be mistyped, revoked or expired. "
        "Check the key, or choose another one, and try again."
    )


class QuotaExhausted(FoxAPIError):
    default_message = (
        "The FoxAPI account behind this key has run out of balance. Top it up, or choose another key, and try again."
    )


class TaskNotFound(FoxAPIError):
    default_message = "FoxAPI has no record of this task. It may have expired."


class RequestRejected(FoxAPIError):
    default_message = "FoxAPI could not accept this request."


class PromptTooLong(RequestRejected):
    """Refused before sending: FoxAPI takes a prompt of at most MAX_PROMPT_CHARS characters."""

    default_message = (
        "The instructions for this image, with its details added, are longer than the 100,000 characters "
        "FoxAPI accepts. Shorten the prompt (or the row's context) and describe it again."
    )


class RateLimited(FoxAPIError):
    default_message = "FoxAPI is busy with too many requests right now. Wait a moment and try again."
    retryable = True


class ServiceError(FoxAPIError):
    default_message = "FoxAPI had a problem on its side. Please try again in a minute."
    retryable = True


class TimedOut(FoxAPIError):
    default_message = "FoxAPI took too long to answer. Please try again in a minute."
    retryable = True


class Unreachable(FoxAPIError):
    default_message = (
        "FoxWeb could not reach FoxAPI. The service or the network may be down; please try again in a minute."
    )
    retryable = True


class AnswerLost(FoxAPIError):
    """A submit that reached FoxAPI but whose answer never came back: the task may exist and cost."""

    default_message = (
        "FoxAPI may have received this request, but its answer was lost on the way back. "
        "Trying again may describe the images a second time and charge for both."
    )


class WrongAddress(FoxAPIError):
    """FoxAPI's address in FoxWeb's settings leads somewhere else (a redirect, or a 404 to a submit)."""

    default_message = (
        "FoxWeb could not reach FoxAPI at the address in its settings (FOXAPI_BASE_URL). "
        "Nothing was sent. Please tell your administrator."
    )


class NotSent(FoxAPIError):
    """The request could not be written at all (a malformed header, an unsupported address)."""

    default_message = (
        "FoxWeb could not send this request to FoxAPI because of its own settings. Nothing was sent. "
        "Please tell your administrator."
    )


class BadResponse(FoxAPIError):
    default_message = (
        "FoxAPI sent an answer FoxWeb could not read. Please try again; if it keeps happening, tell your administrator."
    )
    retryable = True


# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisionRequest:
    """What to ask FoxAPI about which images: the fields of a vision submit."""

    model: str
    prompt: str
    image_urls: list[str]
    max_tokens: int | None = None
    temperature: float | None = None
    system_prompt: str = ""
    include_reasoning: bool = False

    def __post_init__(self):
        # Checked here, before anything is sent: a request FoxAPI must refuse should not cost a call.
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise PromptTooLong(code="prompt_too_long", detail=f"prompt has {len(self.prompt):,} characters")

    def body(self, *, sync: bool, stream: bool) -> dict[str, Any]:
        """The JSON body; optional fields only when set, so FoxAPI's defaults apply."""
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "image_urls": list(self.image_urls),
            "sync": sync,
            "stream": stream,
        }
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.system_prompt:
            body["system_prompt"] = self.system_prompt
        if self.include_reasoning:
            body["include_reasoning"] = True
        return body


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    """An OpenAI-style ChatCompletion, reduced to what FoxWeb uses."""

    id: str = ""
    model: str = ""
    created: datetime | None = None  # when the model finished, by the service's clock
    answer: str = ""
    reasoning: str = ""
    finish_reason: str = ""
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class TaskState:
    """A FoxAPI task as submit or GET /v1/tasks/{id} reports it."""

    id: str
    model: str = ""
    status: str = "pending"
    progress: int = 0
    created: datetime | None = None
    completion: Completion | None = None
    error_code: str = ""
    error_message: str = ""
    stream_url: str = ""
    credits_reserved: float | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def answer(self) -> str:
        return self.completion.answer if self.completion else ""

    @property
    def reasoning(self) -> str:
        return self.completion.reasoning if self.completion else ""

    @property
    def usage(self) -> Usage:
        return self.completion.usage if self.completion else Usage()


@dataclass(frozen=True)
class StreamChunk:
    content: str = ""
    reasoning: str = ""
    finish_reason: str = ""


# --- Defensive readers --------------------------------------------------------------------------


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value:  # not NaN
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return default
    return default


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _timestamp(value: Any) -> datetime | None:
    seconds = _int(value, -1)
    if seconds < 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _content_text(content: Any) -> str:
    """Message content is a string, or (in some providers) a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_str(_dict(part).get("text")) for part in content)
    return ""


def parse_usage(data: Any) -> Usage:
    data = _dict(data)
    prompt = max(_int(data.get("prompt_tokens")), 0)
    completion = max(_int(data.get("completion_tokens")), 0)
    total = max(_int(data.get("total_tokens")), 0) or prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def parse_completion(data: Any) -> Completion:
    data = _dict(data)
    choices = data.get("choices")
    first = _dict(choices[0]) if isinstance(choices, list) and choices else {}
    message = _dict(first.get("message"))
    reasoning = _str(message.get("reasoning_content")) or _str(message.get("reasoning"))
    return Completion(
        id=_str(data.get("id")),
        model=_str(data.get("model")),
        created=_timestamp(data.get("created")),
        answer=_content_text(message.get("content")),
        reasoning=reasoning,
        finish_reason=_str(first.get("finish_reason")),
        usage=parse_usage(data.get("usage")),
    )


def parse_task(data: Any) -> TaskState:
    data = _dict(data)
    task_id = _str(data.get("id"))
    if not task_id or len(task_id) > MAX_TASK_ID_CHARS:
        raise BadResponse(detail="task without a usable id")
    status = _str(data.get("status")).strip().lower()
    status = STATUS_ALIASES.get(status, status)
    results = data.get("results")
    completion = None
    if isinstance(results, list) and results:
        completion = parse_completion(results[0])
    error = _dict(data.get("error"))
    if "error" in error and isinstance(error["error"], dict):  # the nested form of the contract
        error = error["error"]
    if status not in KNOWN_STATUSES:  # a status the contract does not name: go by what the task carries
        if completion is not None:
            status = "completed"
        elif error:
            status = "failed"
        else:
            status = "processing" if status else "pending"
    progress = min(max(_int(data.get("progress")), 0), 100)
    if status == "completed":
        progress = 100
    credits = _dict(data.get("usage")).get("credits_reserved")
    return TaskState(
        id=task_id,
        model=_str(data.get("model")),
        status=status,
        progress=progress,
        created=_timestamp(data.get("created")),
        completion=completion,
        error_code=_str(error.get("code")) or _str(error.get("type")),
        error_message=_str(error.get("message")),
        stream_url=_str(_dict(data.get("stream")).get("url")),
        credits_reserved=float(credits) if isinstance(credits, int | float) else None,
    )


def parse_stream_chunk(data: Any) -> StreamChunk:
    choices = _dict(data).get("choices")
    first = _dict(choices[0]) if isinstance(choices, list) and choices else {}
    delta = _dict(first.get("delta"))
    return StreamChunk(
        content=_content_text(delta.get("content")),
        reasoning=_str(delta.get("reasoning_content")) or _str(delta.get("reasoning")),
        finish_reason=_str(first.get("finish_reason")),
    )


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


# --- The client ---------------------------------------------------------------------------------


class FoxAPIClient:
    """One pooled HTTP client for one FoxAPI base URL. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        sync_timeout: float = 300.0,
        submit_timeout: float = 120.0,
        max_retries: int = 3,
        retry_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        # The contract's base URL has no /v1 (the paths carry it): a pasted ".../v1" would double it.
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self.quick_timeout = httpx.Timeout(min(timeout, QUICK_TIMEOUT), connect=min(timeout, 5.0))
        self.sync_timeout = httpx.Timeout(sync_timeout, connect=min(timeout, 10.0))
        # An asynchronous submit answers at once when FoxAPI is well, but may take long under load; giving
        # up early would leave a task FoxAPI created (and charges for) with nobody collecting it.
        self.submit_timeout = httpx.Timeout(max(submit_timeout, timeout), connect=min(timeout, 10.0))
        self.max_retries = max_retries
        self.retry_cap = retry_cap
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            headers={"Accept": "application/json", "User-Agent": "FoxWeb/1.0"},
            follow_redirects=False,
        )

    # Public calls -----------------------------------------------------------------------

    def submit_vision_task(self, request: VisionRequest, *, api_key: str, stream: bool = False) -> TaskState:
        """Submit an asynchronous vision task; returns the new task (pending, with its id)."""
        body = request.body(sync=False, stream=stream)
        try:
            response = self._send(
                "POST", "/v1/llm/generations", api_key=api_key, json=body, timeout=self.submit_timeout
            )
            return parse_task(self._json(response))
        except BadResponse as error:  # FoxAPI said yes in a way we could not read: the task may exist
            raise AnswerLost(detail=error.detail) from None

    def describe_now(self, request: VisionRequest, *, api_key: str) -> Completion:
        """Sync mode: wait for the model and return its ChatCompletion."""
        body = request.body(sync=True, stream=False)
        response = self._send("POST", "/v1/llm/generations", api_key=api_key, json=body, timeout=self.sync_timeout)
        data = self._json(response)
        if data.get("object") not in (None, "chat.completion") or "choices" not in data:
            raise BadResponse(detail="sync answer is not a chat.completion")
        return parse_completion(data)

    def stream_completion(self, request: VisionRequest, *, api_key: str) -> Iterator[StreamChunk]:
        """Sync + stream mode: the POST answer itself is the SSE stream of chunks."""
        body = request.body(sync=True, stream=True)
        yield from self._stream("POST", "/v1/llm/generations", api_key=api_key, body=body)

    def stream_task(self, stream_url: str, *, api_key: str) -> Iterator[StreamChunk]:
        """Follow the SSE stream of an async task submitted with stream=True.

        The URL is resolved against the base URL, and refused if it points anywhere else: the key
        goes only to FoxAPI.
        """
        base = httpx.URL(self.base_url + "/")
        url = base.join(stream_url)
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise BadResponse(detail="stream URL on another host")
        yield from self._stream("GET", str(url), api_key=api_key)

    def get_task(self, task_id: str, *, api_key: str, sync_upstream: bool = False, quick: bool = False) -> TaskState:
        """Read a task's current state (GET /v1/tasks/{id}).

        `quick` is for status polling: one attempt with a short timeout, as the next poll is the retry.
        """
        if not task_id:
            raise TaskNotFound(status=404, detail="no task id")
        params = {"sync_upstream": "true"} if sync_upstream else None
        response = self._send(
            "GET",
            f"/v1/tasks/{quote(task_id, safe='')}",  # the id is opaque: whatever it holds stays one segment
            api_key=api_key,
            params=params,
            timeout=self.quick_timeout if quick else None,
            retries=0 if quick else None,
        )
        return parse_task(self._json(response))

    def check_key(self, api_key: str) -> bool:
        """True when FoxAPI accepts the key: reading a task that cannot exist answers 404.

        Raises KeyRejected for a refused key and other FoxAPIErrors when the answer is unclear.
        """
        with contextlib.suppress(TaskNotFound):  # the expected answer: the key got past authentication
            self.get_task("task-foxweb-key-check-0000000000", api_key=api_key)
        return True

    def close(self) -> None:
        self.http.close()

    # Plumbing ---------------------------------------------------------------------------

    def _headers(self, api_key: str) -> dict[str, str]:
        if not api_key:
            raise KeyRejected(
                "No FoxAPI key is set up for this request. Add a key, or ask your administrator.",
                status=401,
                type="authentication_error",
            )
        debug.remember_secret(api_key)  # whatever its shape, error pages and logs will hide it
        return {"Authorization": f"Bearer {api_key}"}

    def _send(
        self, method: str, url: str, *, api_key: str, timeout=None, retries: int | None = None, **kwargs
    ) -> httpx.Response:
        headers = self._headers(api_key)
        idempotent = method == "GET"
        max_retries = self.max_retries if retries is None else retries
        attempt = 0
        while True:
            try:
                response = self.http.request(method, url, headers=headers, timeout=timeout or self.timeout, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the service, so even a submit is safe to try again.
                if attempt < max_retries:
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise self._transport_error(exc) from None
            except httpx.DecodingError:
                raise BadResponse(detail="body could not be decoded") from None
            except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
                raise NotSent(detail=type(exc).__name__) from None  # refused before anything left FoxWeb
            except httpx.ProxyError as exc:
                if attempt < max_retries:  # the proxy would not connect us: nothing reached FoxAPI
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise Unreachable(detail=type(exc).__name__) from None
            except httpx.TransportError as exc:
                if not idempotent:  # the request went out: FoxAPI may have made the task
                    raise AnswerLost(detail=type(exc).__name__) from None
                if not isinstance(exc, httpx.TimeoutException) and attempt < max_retries:
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise self._transport_error(exc) from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise Unreachable(detail=type(exc).__name__) from None
            log.debug("FoxAPI %s %s -> %s", method, response.url.path, response.status_code)
            if response.status_code in RETRY_STATUSES and idempotent and attempt < max_retries:
                retry_after = _retry_after_seconds(response)
                if retry_after is None or retry_after <= self.retry_cap:
                    response.close()
                    self._backoff(attempt, retry_after)
                    attempt += 1
                    continue
            if response.status_code >= 400:
                response.read()
                raise self._http_error(response, api_key, method)
            if response.status_code >= 300:  # the contract has no redirects: the configured address is wrong
                where = response.headers.get("Location")
                log.warning("FoxAPI redirected %s %s to %s", method, response.url.path, where)
                response.close()
                raise WrongAddress(status=response.status_code, detail="redirect")
            return response

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        delay = min(self.retry_cap, 0.5 * 2**attempt)
        if retry_after is not None:
            delay = min(self.retry_cap, max(delay, retry_after))
        self.sleep(delay)

    @staticmethod
    def _transport_error(exc: httpx.TransportError) -> FoxAPIError:
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return TimedOut(detail=type(exc).__name__)
        return Unreachable(detail=type(exc).__name__)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            raise BadResponse(status=response.status_code, detail="body is not JSON") from None
        if not isinstance(data, dict):
            raise BadResponse(status=response.status_code, detail="body is not a JSON object")
        return data

    @staticmethod
    def _http_error(response: httpx.Response, api_key: str, method: str = "GET") -> FoxAPIError:
        status = response.status_code
        try:
            error = _dict(_dict(response.json()).get("error"))
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            error = {}
        detail = _str(error.get("message"))[:1000]
        if api_key:
            detail = detail.replace(api_key, "[key]")
        common = {
            "status": status,
            "type": _str(error.get("type")),
            "code": _str(error.get("code")),
            "detail": detail,
            "retry_after": _retry_after_seconds(response),
        }
        if status in (401, 403):
            return KeyRejected(**common)
        if status == 402:
            return QuotaExhausted(**common)
        if status == 404:
            return WrongAddress(**common) if method == "POST" else TaskNotFound(**common)
        if status == 413:
            message = (
                "FoxAPI refused these images as too large. Describe fewer at once, or turn off high detail, "
                "and try again."
            )
            return RequestRejected(message, **{**common, "code": common["code"] or "request_too_large"})
        if status == 422:  # never retried (the contract): sending the same request again gets the same answer
            if common["code"].startswith("unsupported"):
                message = (
                    "No FoxAPI channel for this model takes the advanced settings sent (temperature, system "
                    "prompt or reasoning). Clear them under Advanced settings, or pick another model, and try again."
                )
            elif common["type"] == "service_unavailable_error":
                message = "This model is unavailable at FoxAPI right now. Try again later or pick another model."
            else:
                message = f"FoxAPI could not accept this request: {detail}" if detail else ""
            return RequestRejected(message, **common)
        if status == 429:
            return RateLimited(**common)
        if status in GATEWAY_STATUSES and method == "POST":
            return AnswerLost(**common)
        if status in RETRY_STATUSES or status in GATEWAY_STATUSES:
            return ServiceError(**common)
        if status >= 500:
            return FoxAPIError(**common)
        if status == 400:
            return RequestRejected(
                "FoxAPI could not read the request FoxWeb sent. Please tell your administrator.",
                **common,
            )
        return FoxAPIError(**common)

    def _stream(self, method: str, url: str, *, api_key: str, body=None) -> Iterator[StreamChunk]:
        headers = {**self._headers(api_key), "Accept": "text/event-stream"}
        try:
            with self.http.stream(method, url, headers=headers, json=body, timeout=self.sync_timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._http_error(response, api_key, method)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        return
                    try:
                        chunk = parse_stream_chunk(json.loads(payload))
                    except ValueError:
                        raise BadResponse(detail="stream chunk is not JSON") from None
                    yield chunk
        except httpx.DecodingError:
            raise BadResponse(detail="stream could not be decoded") from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise Unreachable(detail=type(exc).__name__) from None


# --- The process-wide door ------------------------------------------------------------------------

_clients: dict[tuple, FoxAPIClient] = {}
_clients_lock = threading.Lock()


def client() -> FoxAPIClient:
    """The pooled client for the configured FoxAPI (the in-process sandbox by default)."""
    base_url = settings.FOXAPI_BASE_URL
    options = (
        settings.FOXAPI_TIMEOUT,
        settings.FOXAPI_SYNC_TIMEOUT,
        settings.FOXAPI_SUBMIT_TIMEOUT,
        settings.FOXAPI_MAX_RETRIES,
    )
    cache_key = (base_url, *options, settings.FOXAPI_RETRY_CAP)
    with _clients_lock:
        existing = _clients.get(cache_key)
        if existing is None:
            transport = None
            url = base_url
            if base_url == SANDBOX:
                from vision.sandbox import SandboxTransport

                transport, url = SandboxTransport(), SANDBOX_BASE_URL
            existing = _clients[cache_key] = FoxAPIClient(
                url,
                transport=transport,
                timeout=settings.FOXAPI_TIMEOUT,
                sync_timeout=settings.FOXAPI_SYNC_TIMEOUT,
                submit_timeout=settings.FOXAPI_SUBMIT_TIMEOUT,
                max_retries=settings.FOXAPI_MAX_RETRIES,
                retry_cap=settings.FOXAPI_RETRY_CAP,
            )
        return existing


_sandbox_probe: dict[str, tuple[bool, float]] = {}
PROBE_AGAIN_AFTER = 30.0  # seconds: a standalone sandbox started after FoxWeb is noticed soon


def is_sandbox() -> bool:
    """True when FoxWeb is pointed at the sandbox (in-process, or the standalone one on loopback)."""
    base_url = settings.FOXAPI_BASE_URL
    if base_url == SANDBOX:
        return True
    cached = _sandbox_probe.get(base_url)
    if cached and (cached[0] or time.monotonic() - cached[1] < PROBE_AGAIN_AFTER):
        return cached[0]
    return _probe(base_url)


def _probe(base_url: str) -> bool:
    answer = False
    try:
        host = httpx.URL(base_url).host
    except httpx.InvalidURL:
        host = ""
    if host in ("127.0.0.1", "localhost", "::1"):
        # The standalone sandbox only listens on loopback, and says who it is.
        try:
            reply = httpx.get(f"{base_url}/v1/sandbox", timeout=2.0, trust_env=False)
            answer = reply.headers.get(SANDBOX_HEADER) == "1"
        except httpx.HTTPError:
            answer = False
    _sandbox_probe[base_url] = (answer, time.monotonic())
    return answer


def sandbox_demo_key() -> str:
    """The key the sandbox hands to anyone trying FoxWeb with no key of their own."""
    from vision.sandbox import DEMO_KEY

    return DEMO_KEY
