"""A FoxAPI-compatible sandbox: a test double of the real service, honest about being one.

It implements the contract in shared/foxapi/CONTRACT.md: auth and validation rules, the async
task lifecycle (pending -> processing -> completed/failed as time passes), sync mode, and SSE
streaming. Its answers are simulated, and say so: they are computed from the images it is sent
(size, format, orientation, dominant colours, brightness), never from a model.

It runs inside FoxWeb's process as an httpx transport (`SandboxTransport`, used when
FOXAPI_BASE_URL is "sandbox") and as a standalone server on loopback
(`python manage.py foxapi_sandbox`). Tasks live in a small SQLite file, so they survive a
restart the way real FoxAPI tasks do.

Test helpers: `inject_faults()` (or POST /_sandbox/faults on the standalone server) makes the
next requests fail in chosen ways: an HTTP status with Retry-After, a dropped connection, a
delay, or a malformed body; `finish_all_now()` ends every running task at once. A prompt
containing "sandbox:fail" makes the task fail; one containing "sandbox:slow" makes it take five
times as long. Keys: anything starting with "sk-" is accepted, except keys containing "invalid",
"revoked" or "expired" (401) and "nobalance" (402).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import re
import secrets
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from PIL import Image, ImageStat

from vision import alttext, catalog

DEMO_KEY = "sk-sandbox-demo"
SANDBOX_HEADER = "X-FoxAPI-Sandbox"
# The vision models of the contract are the catalogue's; their image limits, max_tokens rules and
# token counts come from there too (other names by their family: claude-, gpt-5, gemini-).
VISION_MODELS = tuple(catalog.MODELS)
OTHER_MODELS = (
    "gpt-5.4",
    "kimi-k2.6",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "gemini-3-pro-preview",
    "gemini-3.1-pro-preview",
)
MAX_BODY_BYTES = 20 * 1024 * 1024
DATA_URI = re.compile(r"^data:image/([a-zA-Z0-9.+-]+);base64,(.*)$", re.DOTALL)
SIMULATED_LABEL = "Simulated answer from the FoxWeb sandbox: no model looked at this image."
SIMULATED_LABEL_MANY = "Simulated answer from the FoxWeb sandbox: no model looked at these images."


@dataclass
class Reply:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


def _json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status,
        json.dumps(data).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, type_: str, message: str, code: str = "") -> Reply:
    error = {"message": message, "type": type_}
    if code:
        error["code"] = code
    return _json_reply(status, {"error": error})


# --- Faults, for tests ------------------------------------------------------------------------

_faults: list[dict] = []
_faults_lock = threading.Lock()


def inject_faults(faults: list[dict]) -> None:
    """Queue faults for the next requests, in order.

    Each fault is a dict: {"status": 429, "retry_after": "1"} (refused), {"drop": True}
    (connection closed before anything is done), {"lose_answer": True} (done, then the
    connection drops), {"delay": 2.5}, {"malformed": True}; "method": "GET" or "POST" limits
    it to that method.
    """
    with _faults_lock:
        _faults.extend(faults)


def clear_faults() -> None:
    with _faults_lock:
        _faults.clear()


def _next_fault(method: str) -> dict | None:
    with _faults_lock:
        for index, fault in enumerate(_faults):
            if fault.get("method", method) == method:
                return _faults.pop(index)
    return None


# --- Storage ------------------------------------------------------------------------------------

_initialised: set[str] = set()
_init_lock = threading.Lock()


def _db() -> sqlite3.Connection:
    path = Path(settings.FOXAPI_SANDBOX_DB)
    connection = sqlite3.connect(path if path.parent.exists() else _make_parent(path), timeout=10)
    connection.row_factory = sqlite3.Row
    with _init_lock:
        if str(path) not in _initialised:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL,"
                " model TEXT NOT NULL, created REAL NOT NULL, duration REAL NOT NULL,"
                " outcome TEXT NOT NULL)"
            )
            _initialised.add(str(path))
    return connection


def _make_parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _save_task(task_id: str, key: str, model: str, created: float, duration: float, outcome: dict):
    with _db() as connection:
        connection.execute(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
            (task_id, _key_hash(key), model, created, duration, json.dumps(outcome)),
        )
    connection.close()


def finish_all_now() -> int:
    """Test control: every task the sandbox holds is finished as of now; returns how many."""
    with _db() as connection:
        changed = connection.execute(
            "UPDATE tasks SET duration = MAX(0, ? - created) WHERE created + duration > ?",
            (time.time(), time.time()),
        ).rowcount
    connection.close()
    return changed


def _load_task(task_id: str, key: str) -> sqlite3.Row | None:
    connection = _db()
    try:
        return connection.execute(
            "SELECT * FROM tasks WHERE id = ? AND key_hash = ?", (task_id, _key_hash(key))
        ).fetchone()
    finally:
        connection.close()


# --- Request handling ---------------------------------------------------------------------------


def handle(method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Reply:
    """Answer one HTTP request the way FoxAPI would (or with the next queued fault)."""
    fault = _next_fault(method) if not path.startswith("/_sandbox/") else {}
    fault = fault or {}
    if fault.get("delay"):
        time.sleep(float(fault["delay"]))
    if fault.get("drop"):
        return Reply(0, drop=True)
    if fault.get("status"):
        status = int(fault["status"])
        types = {429: "rate_limit_error", 500: "server_error", 503: "server_error"}
        reply = _error(status, types.get(status, "server_error"), f"Simulated {status}.")
        if "retry_after" in fault:
            reply.headers["Retry-After"] = str(fault["retry_after"])
    else:
        reply = _route(method, path, query, headers, body)
    if fault.get("lose_answer"):  # processed, then the connection drops before the answer
        return Reply(0, drop=True)
    if fault.get("malformed"):
        reply = Reply(200, b'{"id": "task-', {"Content-Type": "application/json"})
    reply.headers[SANDBOX_HEADER] = "1"
    return reply


def _route(method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Reply:
    if path == "/v1/sandbox" and method == "GET":
        return _json_reply(200, {"sandbox": True, "models": list(VISION_MODELS)})
    if path == "/_sandbox/faults" and method == "POST":
        inject_faults(json.loads(body or b"[]"))
        return _json_reply(200, {"queued": True})
    if path == "/_sandbox/faults" and method == "DELETE":
        clear_faults()
        return _json_reply(200, {"cleared": True})

    key_or_error = _authenticate(headers)
    if isinstance(key_or_error, Reply):
        return key_or_error
    key = key_or_error

    if path == "/v1/llm/generations":
        if method != "POST":
            return _error(405, "invalid_request_error", "Use POST.")
        return _submit(key, headers, body)
    match = re.fullmatch(r"/v1/tasks/([^/]+)", path)
    if match and method == "GET":
        return _get_task(key, match.group(1))
    match = re.fullmatch(r"/v1/llm/generations/([^/]+)/stream", path)
    if match and method == "GET":
        row = _load_task(match.group(1), key)
        if row is None:
            return _error(404, "not_found", "Task not found.")
        return _sse_reply(row["id"], row["model"], json.loads(row["outcome"]), _remaining(row))
    return _error(404, "not_found", "No such endpoint.")


def _authenticate(headers: Any) -> str | Reply:
    authorization = headers.get("authorization") or ""
    if not authorization.startswith("Bearer ") or not authorization[7:].strip():
        return _error(401, "authentication_error", "API key missing.")
    key = authorization[7:].strip()
    lowered = key.lower()
    if not key.startswith("sk-") or any(word in lowered for word in ("invalid", "revoked", "expired")):
        return _error(401, "authentication_error", "Invalid API key.")
    if "nobalance" in lowered:
        return _error(402, "insufficient_quota", "Your balance is too low. Top up and retry.")
    return key


def _submit(key: str, headers: Any, body: bytes) -> Reply:
    if not (headers.get("content-type") or "").startswith("application/json"):
        return _error(400, "invalid_request_error", "Content-Type must be application/json.")
    if len(body) > MAX_BODY_BYTES:
        return _error(422, "invalid_request_error", "Request is larger than 20 MB.", "request_too_large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_request_error", "Malformed JSON body.")
    if not isinstance(data, dict):
        return _error(400, "invalid_request_error", "The body must be a JSON object.")
    problem = validate(data)
    if problem:
        message, code = problem
        return _error(422, "invalid_request_error", message, code)

    model = data["model"]
    prompt = data["prompt"]
    created = time.time()
    duration = float(settings.FOXAPI_SANDBOX_DURATION)
    if "sandbox:slow" in prompt:
        duration *= 5
    outcome = simulate(data)
    task_id = f"task-llmrouter-{int(created)}-{secrets.token_hex(4)}"
    _save_task(task_id, key, model, created, duration, outcome)

    if data.get("sync"):
        if data.get("stream"):
            return _sse_reply(task_id, model, outcome, duration)
        time.sleep(max(duration, 0))
        if outcome.get("error"):
            error = outcome["error"]
            return _error(500, "server_error", error["message"], error["code"])
        return _json_reply(200, _completion(task_id, model, outcome, created + duration))
    task = _task_json(task_id, model, created, duration, outcome, now=created)
    if data.get("stream"):
        task["stream"] = {"url": f"/v1/llm/generations/{task_id}/stream"}
    return _json_reply(200, task)


def validate(data: dict) -> tuple[str, str] | None:
    """The contract's validation rules; returns (message, code) for the first broken one."""
    model = data.get("model")
    if not isinstance(model, str) or not model:
        return "model is required.", "invalid_parameter"
    if model not in VISION_MODELS + OTHER_MODELS:
        return f"The model {model!r} does not exist.", "model_not_supported"
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt is required.", "invalid_parameter"
    if len(prompt) > 100_000:
        return "prompt must be at most 100,000 characters.", "invalid_parameter"
    urls = data.get("image_urls")
    if not isinstance(urls, list) or not urls:
        return "image_urls must be a list of 1 to 10 images.", "invalid_parameter"
    if len(urls) > 10:
        return "image_urls accepts at most 10 images.", "invalid_parameter"
    for index, url in enumerate(urls):
        if not isinstance(url, str):
            return f"image_urls[{index}] must be a string.", "invalid_parameter"
        if url.startswith("data:"):
            match = DATA_URI.match(url)
            if not match:
                return f"image_urls[{index}] is not a data:image/...;base64 URI.", "invalid_parameter"
            try:
                base64.b64decode(match.group(2), validate=True)
            except (binascii.Error, ValueError):
                return f"image_urls[{index}] is not valid base64.", "invalid_parameter"
        elif not re.match(r"^https?://[^\s/]+", url):
            return f"image_urls[{index}] must be an http(s) URL or a data URI.", "invalid_parameter"
    rules = catalog.get(model)
    if len(urls) > rules.max_images:
        noun = "image" if rules.max_images == 1 else "images"
        return f"model {model} accepts {rules.max_images} {noun}", "model_rule_violation"
    for flag in ("sync", "stream", "include_reasoning"):
        if data.get(flag) is not None and not isinstance(data[flag], bool):
            return f"{flag} must be true or false.", "invalid_parameter"
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        return "max_tokens must be a whole number of at least 1.", "invalid_parameter"
    if rules.max_tokens_required and max_tokens is None:
        return f"max_tokens is required for {model}.", "model_rule_violation"
    if max_tokens is not None and max_tokens < rules.min_max_tokens:
        return f"max_tokens must be at least {rules.min_max_tokens} for {model}.", "model_rule_violation"
    temperature = data.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2
    ):
        return "temperature must be a number from 0 to 2.", "invalid_parameter"
    system_prompt = data.get("system_prompt")
    if system_prompt is not None and (not isinstance(system_prompt, str) or len(system_prompt) > 10_000):
        return "system_prompt must be text of at most 10,000 characters.", "invalid_parameter"
    return None


def _get_task(key: str, task_id: str) -> Reply:
    row = _load_task(task_id, key)
    if row is None:
        return _error(404, "not_found", "Task not found.")
    outcome = json.loads(row["outcome"])
    return _json_reply(200, _task_json(row["id"], row["model"], row["created"], row["duration"], outcome, time.time()))


def _remaining(row: sqlite3.Row) -> float:
    return max(row["created"] + row["duration"] - time.time(), 0.0)


def _task_json(task_id: str, model: str, created: float, duration: float, outcome: dict, now: float) -> dict:
    elapsed = now - created
    status, progress = "completed", 100
    if duration > 0 and elapsed < duration:
        if elapsed < duration * 0.15:
            status, progress = "pending", 0
        else:
            status, progress = "processing", max(1, min(99, int(100 * elapsed / duration)))
    task = {
        "id": task_id,
        "object": "llm.generation.task",
        "type": "llm",
        "model": model,
        "status": status,
        "progress": progress,
        "created": int(created),
        "stream": None,
        "results": None,
        "error": None,
        "usage": {"credits_reserved": 2, "user_group": "sandbox"},
    }
    if status == "completed" and outcome.get("error"):
        task["status"], task["progress"] = "failed", 100
        task["error"] = {**outcome["error"], "type": "task_error"}
    elif status == "completed":
        task["results"] = [_completion(task_id, model, outcome, created + duration)]
    return task


def _completion(task_id: str, model: str, outcome: dict, finished: float) -> dict:
    message = {"role": "assistant", "content": outcome["answer"]}
    if outcome.get("reasoning"):
        message["reasoning_content"] = outcome["reasoning"]
    return {
        "id": "chatcmpl-" + task_id.rsplit("-", 1)[-1],
        "object": "chat.completion",
        "created": int(finished),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": outcome["finish_reason"]}],
        "usage": outcome["usage"],
    }


def _sse_reply(task_id: str, model: str, outcome: dict, duration: float) -> Reply:
    return Reply(
        200,
        _sse_events(task_id, model, outcome, duration),
        {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
    )


def _sse_events(task_id: str, model: str, outcome: dict, duration: float) -> Iterator[bytes]:
    chat_id = "chatcmpl-" + task_id.rsplit("-", 1)[-1]
    pieces = [("reasoning_content", word) for word in _pieces(outcome.get("reasoning", ""))]
    pieces += [("content", word) for word in _pieces(outcome.get("answer", ""))]
    pause = min(duration / max(len(pieces), 1), 0.25)

    def event(delta: dict, finish: str | None) -> bytes:
        chunk = {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    for kind, text in pieces:
        if pause:
            time.sleep(pause)
        yield event({kind: text}, None)
    yield event({}, outcome.get("finish_reason") or "stop")
    yield b"data: [DONE]\n\n"


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


# --- The simulated model ------------------------------------------------------------------------

COLOUR_NAMES = {
    "black": (20, 20, 20),
    "charcoal": (60, 60, 64),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "white": (245, 245, 245),
    "red": (200, 30, 30),
    "dark red": (120, 20, 25),
    "pink": (240, 150, 180),
    "orange": (240, 140, 30),
    "brown": (120, 75, 40),
    "beige": (220, 200, 160),
    "yellow": (240, 220, 40),
    "olive": (120, 120, 40),
    "green": (50, 160, 60),
    "dark green": (30, 80, 35),
    "teal": (30, 130, 130),
    "sky blue": (120, 180, 235),
    "blue": (40, 80, 200),
    "navy": (20, 30, 90),
    "purple": (120, 60, 160),
}


def colour_name(rgb: tuple[int, int, int]) -> str:
    """The nearest named colour, by a perceptually weighted RGB distance."""

    def distance(item):
        r, g, b = item[1]
        mean_red = (rgb[0] + r) / 2
        dr, dg, db = rgb[0] - r, rgb[1] - g, rgb[2] - b
        return (2 + mean_red / 256) * dr * dr + 4 * dg * dg + (2 + (255 - mean_red) / 256) * db * db

    return min(COLOUR_NAMES.items(), key=distance)[0]


@dataclass
class ImageFacts:
    format: str = ""
    width: int = 0
    height: int = 0
    colours: list[str] = field(default_factory=list)
    brightness: str = ""
    transparent: bool = False
    source: str = ""
    readable: bool = True

    @property
    def orientation(self) -> str:
        if self.width > self.height * 1.05:
            return "landscape"
        if self.height > self.width * 1.05:
            return "portrait"
        return "square"

    def tokens(self, model: str) -> int:
        """What the model would count for this image (the catalogue's formula); 85 for one never read."""
        return catalog.estimate_image_tokens(model, self.width, self.height) if self.readable else 85


def measure(url: str) -> ImageFacts:
    """What the sandbox can honestly tell about one image."""
    match = DATA_URI.match(url)
    if not match:
        host = httpx.URL(url).host
        return ImageFacts(source=host, readable=False)
    try:
        data = base64.b64decode(match.group(2))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                facts = ImageFacts(format=image.format or "", width=image.width, height=image.height)
                image.draft("RGB", (128, 128))
                facts.transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                small = image.convert("RGB")
                small.thumbnail((64, 64))
    except Exception:  # the image is the sandbox's input, any failure means "unreadable"
        return ImageFacts(readable=False)
    luminance = ImageStat.Stat(small.convert("L")).mean[0]
    facts.brightness = (
        "dark" if luminance < 60 else "dim" if luminance < 110 else "bright" if luminance < 190 else "very bright"
    )
    palette = small.quantize(colors=6, method=Image.Quantize.MEDIANCUT)
    counts = sorted(palette.getcolors(), reverse=True)
    rgb_palette = palette.getpalette()
    shares: dict[str, int] = {}
    for count, index in counts:
        rgb = tuple(rgb_palette[index * 3 : index * 3 + 3])
        name = colour_name(rgb)
        shares[name] = shares.get(name, 0) + count
    total = sum(shares.values())
    facts.colours = [name for name, count in sorted(shares.items(), key=lambda kv: -kv[1]) if count / total >= 0.12][:3]
    return facts


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def simulate(data: dict) -> dict:
    """The simulated outcome of a vision request: answer, reasoning, usage, or an error."""
    prompt: str = data["prompt"]
    facts = [measure(url) for url in data["image_urls"]]
    if "sandbox:fail" in prompt:
        return {
            "error": {
                "code": "upstream_error",
                "message": "The simulated model failed on purpose (the prompt asked the sandbox to fail).",
            }
        }
    if not any(f.readable for f in facts):
        return {"error": {"code": "invalid_image", "message": "The image could not be decoded."}}
    lowered = prompt.lower()
    lines = []
    for number, fact in enumerate(facts, start=1):
        lines.append(_sentence(fact, number if len(facts) > 1 else 0, lowered))
    request = alttext.recognise_prompt(prompt)
    if request:
        answer = _alt_text_answer(facts, request)
    elif "alt text" in lowered or "125" in lowered or "one sentence" in lowered:
        limit = 125 if "one sentence" not in lowered else 400
        answer = _short_answer(facts, limit)
    else:
        answer = "\n".join(f"- {line}" for line in lines)
        if "text" in lowered and ("extract" in lowered or "read" in lowered):
            answer += "\n\nThe sandbox cannot read text in images; a real model would transcribe it here."
        answer += f"\n\n*{SIMULATED_LABEL if len(facts) == 1 else SIMULATED_LABEL_MANY}*"
    reasoning = ""
    if data.get("include_reasoning"):
        reasoning = (
            "Simulated reasoning: the sandbox measured each image's size, format, colours and "
            "brightness, then wrote a template sentence from them."
        )
    image_tokens = sum(fact.tokens(data.get("model", "")) for fact in facts)
    prompt_tokens = math.ceil(len(prompt + (data.get("system_prompt") or "")) / 4) + image_tokens
    completion_tokens = math.ceil(len(answer) / 4) + math.ceil(len(reasoning) / 4)
    finish_reason = "stop"
    max_tokens = data.get("max_tokens")
    if max_tokens and completion_tokens > max_tokens:
        answer = answer[: max_tokens * 4]
        completion_tokens = max_tokens
        finish_reason = "length"
    return {
        "answer": answer,
        "reasoning": reasoning,
        "finish_reason": finish_reason,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _looks(facts: list[ImageFacts], kind: str = "image") -> str:
    """A phrase such as "A landscape image in red and white", from what was measured."""
    parts = []
    for fact in facts:
        if fact.readable:
            parts.append(f"a {fact.orientation} {kind} in {_join(fact.colours[:2]) or 'mixed colours'}")
        else:
            parts.append("an image the sandbox could not open")
    text = _join(parts)
    return text[0].upper() + text[1:]


def _short_answer(facts: list[ImageFacts], limit: int) -> str:
    """One sentence for all the images, cut to `limit` characters, still labelled as simulated."""
    label = " (simulated)."
    return _looks(facts)[: limit - len(label)].rstrip(" ,") + label


def _alt_text_answer(facts: list[ImageFacts], request: alttext.PromptInfo) -> str:
    """An answer to FoxWeb's alt-text prompts in the format they ask for, from measured facts only.

    The sandbox writes English only; for another language its label says what a real model would do.
    It reads no text in images, so it never claims to (no TEXT IN IMAGE line).
    """
    label = "(simulated)"
    if request.language != alttext.DEFAULT_LANGUAGE:
        label = f"(simulated, in English: a real model would write {alttext.get_language(request.language).english})"
    if request.purpose == alttext.LINK:
        alt = request.action or "A link or button; the sandbox cannot tell where it leads"
        return f"ALT: {alt.rstrip('.')} {label}."
    if request.purpose == alttext.TEXT:
        return f"ALT: The sandbox cannot read text in images; a real model would copy it here {label}."
    if request.purpose == alttext.CHART:
        details = "; ".join(_sentence(fact, 0, "").removesuffix(" (simulated).") for fact in facts)
        details = details[0].lower() + details[1:]
        return (
            f"ALT: {_looks(facts, 'chart or diagram')} {label}.\n"
            f"LONG DESCRIPTION: The sandbox cannot read charts; a real model would give the data and the trends "
            f"here. Measured: {details} {label}."
        )
    return f"ALT: {_looks(facts)} {label}."


def _sentence(fact: ImageFacts, number: int, prompt: str) -> str:
    prefix = f"Image {number}: " if number else ""
    if not fact.readable:
        where = f" at {fact.source}" if fact.source else ""
        return f"{prefix}An image{where} that the sandbox could not open (simulated)."
    colours = _join(fact.colours) or "mixed colours"
    kind = "product photo" if "product" in prompt else "image"
    text = (
        f"{prefix}A {fact.brightness} {fact.orientation} {fact.format or 'image'} {kind}, "
        f"{fact.width} × {fact.height} pixels, mostly {colours}"
    )
    if fact.transparent:
        text += ", with a transparent background"
    return text + " (simulated)."


# --- Running inside FoxWeb: an httpx transport ----------------------------------------------------


class SandboxTransport(httpx.BaseTransport):
    """Serves FoxAPI requests from the sandbox inside this process."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = handle(request.method, request.url.path, dict(request.url.params), request.headers, body)
        if reply.drop:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if isinstance(reply.body, bytes):
            return httpx.Response(reply.status, headers=reply.headers, content=reply.body, request=request)
        return httpx.Response(reply.status, headers=reply.headers, stream=_IterStream(reply.body), request=request)


class _IterStream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterable[bytes]):
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
