"""Error pages, error reports and log lines never show an API key, with DEBUG on or off.

Three layers, because a key can turn up anywhere an exception's text goes:

- the exception reporter filter hides request parameters and traceback variables that are, or
  contain, something key-shaped (Django's own filter is off while DEBUG is on; this one never is);
- the exception reporter scrubs the finished technical 500 page and text report, so a key inside
  an exception's message (or its cause's) is hidden too;
- a log record factory scrubs every log message and formatted traceback before any handler sees it.

"Key-shaped" means: anything FoxWeb has used or stored as a key in this process (whatever its
shape), the configured secrets, ``sk-``/``sk_``-style tokens, bearer tokens and ``api_key=…``-style
assignments of token-like values.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from django.conf import settings
from django.template.defaultfilters import pprint
from django.utils.html import escape
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

SUBSTITUTE = "********************"
# Names of variables that hold keys or the headers that carry them.
SENSITIVE_NAMES = frozenset({"api_key", "secret", "headers", "authorization", "plain", "token"})
# What a FoxAPI key looks like inside any other value (a form's cleaned_data, say).
KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{4,}")
_QUOTE = r"(?:['\"]|&quot;|&#x27;|&#39;)"
KEY_SHAPES = (
    KEY_PATTERN,
    # Other vendors' and future key styles: sk_live_…, rk_…, pk_…
    re.compile(r"\b(?:sk|rk|pk)_[A-Za-z0-9_\-]{8,}"),
    # A bearer token, as in an Authorization header quoted in a message.
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/\-]{8,}=*"),
)
# api_key=…, "secret": "…", token: … where the value looks like a token (12+ characters, letters
# and digits); the name and separator stay, so the page still says what was hidden.
ASSIGNMENT = re.compile(
    rf"(?i)((?<![A-Za-z])(?:api[_-]?key|x-api-key|secret|token|password|authorization)"
    rf"{_QUOTE}?\s*[:=]\s*{_QUOTE}?\s*(?:bearer\s+)?)"
    r"(?=[A-Za-z0-9._~+/\-]*[0-9])(?=[A-Za-z0-9._~+/\-]*[A-Za-z])[A-Za-z0-9._~+/\-]{12,}=*"
)
SENSITIVE_POST_FIELDS = frozenset({"secret", "password", "password1", "password2", "old_password"})

# Keys FoxWeb has used in this process, of whatever shape: scrubbed wherever they appear.
_REMEMBERED_LIMIT = 512
_remembered: OrderedDict[str, None] = OrderedDict()
_remembered_lock = threading.Lock()


def remember_secret(secret: str) -> None:
    """Note a key this process has handled, so that scrub() hides it whatever it looks like."""
    if not secret or len(secret) < 8:
        return
    with _remembered_lock:
        _remembered[secret] = None
        _remembered.move_to_end(secret)
        while len(_remembered) > _REMEMBERED_LIMIT:
            _remembered.popitem(last=False)


def _known_secrets() -> list[str]:
    configured = [getattr(settings, "FOXAPI_API_KEY", ""), settings.SECRET_KEY]
    configured += list(getattr(settings, "FOXWEB_ENCRYPTION_KEYS", []))
    with _remembered_lock:
        remembered = list(_remembered)
    return [secret for secret in (*configured, *remembered) if secret and len(secret) >= 8]


def scrub(text: str) -> str:
    """The text with every key-shaped part replaced by asterisks."""
    if not text:
        return text
    for secret in _known_secrets():
        if secret in text:
            text = text.replace(secret, SUBSTITUTE)
        escaped = escape(secret)
        if escaped != secret and escaped in text:
            text = text.replace(escaped, SUBSTITUTE)
    for pattern in KEY_SHAPES:
        text = pattern.sub(SUBSTITUTE, text)
    return ASSIGNMENT.sub(lambda match: match.group(1) + SUBSTITUTE, text)


def contains_key(text: str) -> bool:
    return scrub(text) != text


class KeySafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter is off while DEBUG is on; this one is always on, and also hides variables
    by name and any value that contains something shaped like a key."""

    def is_active(self, request):
        return True

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if request is None or not parameters:
            return parameters
        cleansed = parameters.copy()
        for name in SENSITIVE_POST_FIELDS & set(cleansed):
            cleansed[name] = self.cleansed_substitute
        for name, value in cleansed.items():
            if contains_key(str(value)):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if self._sensitive(name, value) else value) for name, value in variables
        ]

    def _sensitive(self, name, value) -> bool:
        if str(name).lower() in SENSITIVE_NAMES:
            return True
        try:
            text = value if isinstance(value, str) else pprint(value)
        except Exception:  # a value that cannot even be shown is not shown
            return True
        return contains_key(text[:20000])


class KeySafeExceptionReporter(ExceptionReporter):
    """The technical 500 page and text report, scrubbed once finished: exception messages (and
    their causes') are shown in several places, and any of them may quote a key."""

    def get_traceback_html(self):
        return scrub(str(super().get_traceback_html()))

    def get_traceback_text(self):
        return scrub(str(super().get_traceback_text()))


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is logging's own problem to report
        return
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters use exc_text when it is set; so every handler shows the scrubbed traceback.
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))


def install_log_scrubbing() -> None:
    """Make every log record scrub itself when created, before any handler or filter sees it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "scrubs_keys", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record

    factory.scrubs_keys = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
