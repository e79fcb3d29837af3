"""FoxWeb settings: one file, every knob an environment variable with a safe local default.

The README's configuration table lists every variable read here.
"""

import json
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "foxweb-development-key-do-not-use-in-production"


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.getenv(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.getenv(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envjson(name: str):
    value = os.getenv(name, "").strip()
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be JSON: {error}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


SECRET_KEY = os.getenv("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = envbool("DEBUG", "true")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "vision",
]

MIDDLEWARE = [
    "vision.middleware.ServerTimingMiddleware",  # first, to time the whole chain; only with FOXWEB_SERVER_TIMING
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "vision.polling.UnchangedStatusMiddleware",  # unchanged status polls: 304 before sessions and auth
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "vision.middleware.HtmxLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "vision.middleware.FirstRunMiddleware",
]

ROOT_URLCONF = "foxweb.urls"
WSGI_APPLICATION = "foxweb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vision.context_processors.foxweb",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # Persistent connections, checked before reuse: a status poll should not pay for a new connection.
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the status poller read while a submit writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # A file, not shared-cache memory, so tests with threads meet the same locking as production.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "describe"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.getenv("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only production serves collected files; in development whitenoise finds them in place.
STATIC_ROOT = None if DEBUG else BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", BASE_DIR / "media"))
# Media is never served from a public URL: images go through a view that checks access.
MEDIA_URL = "/media-not-public/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Error pages and reports hide API keys, with DEBUG on too (Django's own filter only works with it off).
DEFAULT_EXCEPTION_REPORTER_FILTER = "vision.debug.KeySafeExceptionReporterFilter"
# ...and exception messages on them are scrubbed too (log lines are scrubbed by vision.debug as well).
DEFAULT_EXCEPTION_REPORTER = "vision.debug.KeySafeExceptionReporter"

# Content-Security-Policy (django-csp), in development too: FoxWeb's own scripts, styles and images only.
# No inline scripts or styles anywhere (htmx is told not to inject its indicator styles, nor to eval),
# and pages cannot be framed, change their base URL or embed plugins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: htmx and foxweb.js take the token from the page (hx-headers on <body>).
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "true")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Behind a TLS proxy, which must set X-Forwarded-Proto (and strip it from what clients send).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Plain-HTTP requests are redirected to HTTPS; switch off only if the proxy redirects already.
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    # Browsers remember to use HTTPS only: a year by default, 0 turns the header off.
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
    # Preloading is a promise about a whole registered domain that only its owner can make, so it is
    # opt-in; Django's reminder about it (security.W021) is silenced while it is off.
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "vision": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
        # httpx logs request lines at INFO; keep them out so nothing about keys can leak.
        "httpx": {"handlers": ["console"], "level": "WARNING"},
    },
}

# --- FoxAPI -----------------------------------------------------------------------------------
# "sandbox" runs the FoxAPI-compatible test double inside this process (no key, no network).
FOXAPI_BASE_URL = os.getenv("FOXAPI_BASE_URL", "sandbox").strip().rstrip("/") or "sandbox"
FOXAPI_API_KEY = os.getenv("FOXAPI_API_KEY", "").strip()  # a secrets file's trailing newline is not the key
FOXAPI_TIMEOUT = envfloat("FOXAPI_TIMEOUT", 30.0)
FOXAPI_SYNC_TIMEOUT = envfloat("FOXAPI_SYNC_TIMEOUT", 300.0)
# A submit may take long when FoxAPI is loaded; the worker waits this long before calling the answer lost.
FOXAPI_SUBMIT_TIMEOUT = envfloat("FOXAPI_SUBMIT_TIMEOUT", 120.0)
FOXAPI_MAX_RETRIES = envint("FOXAPI_MAX_RETRIES", 3)
FOXAPI_RETRY_CAP = envfloat("FOXAPI_RETRY_CAP", 8.0)
# Where the sandbox keeps its tasks, so they survive a restart like real FoxAPI tasks do.
FOXAPI_SANDBOX_DB = Path(os.getenv("FOXAPI_SANDBOX_DB", BASE_DIR / ".sandbox" / "sandbox.sqlite3"))
# Seconds a sandbox task takes from submit to completion (pending for the first fifth).
FOXAPI_SANDBOX_DURATION = envfloat("FOXAPI_SANDBOX_DURATION", 6.0)

# Which models FoxWeb offers, and everything about them, is in the model catalogue (vision/catalog.py).
# The model preselected on the describe form; checked against the catalogue at start-up.
FOXWEB_DEFAULT_MODEL = os.getenv("FOXWEB_DEFAULT_MODEL", "claude-opus-4-7")

# --- Image intake -----------------------------------------------------------------------------
# Optional override of the catalogue's image sizes, as JSON: per model-name prefix (or "default"),
# the limits images are reduced to. The README documents the format; it is checked at start-up.
FOXWEB_IMAGE_POLICIES = envjson("FOXWEB_IMAGE_POLICIES")
FOXWEB_JPEG_QUALITY = envint("FOXWEB_JPEG_QUALITY", 85)
# A photo whose JPEG would be larger than this is re-encoded at a lower quality, down to the floor.
FOXWEB_JPEG_MAX_BYTES = envint("FOXWEB_JPEG_MAX_BYTES", 250_000)
FOXWEB_JPEG_MIN_QUALITY = envint("FOXWEB_JPEG_MIN_QUALITY", 65)
FOXWEB_MAX_UPLOAD_BYTES = envint("FOXWEB_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
FOXWEB_MAX_IMAGE_PIXELS = envint("FOXWEB_MAX_IMAGE_PIXELS", 60_000_000)
FOXWEB_MAX_IMAGES_PER_TASK = envint("FOXWEB_MAX_IMAGES_PER_TASK", 10)
# Batches (one description per image): images per batch, a ZIP's unpacked size, a CSV or pasted list's size.
FOXWEB_MAX_IMAGES_PER_BATCH = envint("FOXWEB_MAX_IMAGES_PER_BATCH", 500)
FOXWEB_MAX_ZIP_BYTES = envint("FOXWEB_MAX_ZIP_BYTES", 2 * 1024 * 1024 * 1024)
FOXWEB_MAX_LIST_BYTES = envint("FOXWEB_MAX_LIST_BYTES", 10 * 1024 * 1024)
FOXWEB_THUMBNAIL_SIZE = envint("FOXWEB_THUMBNAIL_SIZE", 320)
# Images decoded at once per process (0: one per core, at most 4), and how long others wait for a turn.
FOXWEB_MAX_DECODES = envint("FOXWEB_MAX_DECODES", 0)
FOXWEB_DECODE_WAIT_SECONDS = envfloat("FOXWEB_DECODE_WAIT_SECONDS", 10.0)

# --- URL fetching -----------------------------------------------------------------------------
FOXWEB_ALLOW_PRIVATE_URLS = envbool("FOXWEB_ALLOW_PRIVATE_URLS", "false")
FOXWEB_FETCH_ALLOWED_PORTS = [int(p) for p in envlist("FOXWEB_FETCH_ALLOWED_PORTS", "80,443")]
FOXWEB_FETCH_TIMEOUT = envfloat("FOXWEB_FETCH_TIMEOUT", 20.0)
FOXWEB_FETCH_MAX_REDIRECTS = envint("FOXWEB_FETCH_MAX_REDIRECTS", 5)

# --- Status polling (pages read FoxWeb's database only) ----------------------------------------
FOXWEB_POLL_FIRST_SECONDS = envfloat("FOXWEB_POLL_FIRST_SECONDS", 2.0)
FOXWEB_POLL_MAX_SECONDS = envfloat("FOXWEB_POLL_MAX_SECONDS", 5.0)
# A Server-Timing header on every response (how long FoxWeb took), for bench/load.py; off by default.
FOXWEB_SERVER_TIMING = envbool("FOXWEB_SERVER_TIMING", "false")

# --- The background worker --------------------------------------------------------------------
# Every FoxAPI call and every pasted-URL fetch happens in the worker; the web side only queues.
# "db" keeps the queue in FoxWeb's own database (nothing else to run); "rq" uses Redis at
# REDIS_URL, for several worker machines.
FOXWEB_TASK_BACKEND = os.getenv("FOXWEB_TASK_BACKEND", "db").strip().lower()
REDIS_URL = os.getenv("REDIS_URL", "redis://127.0.0.1:6379/0")
TASK_QUEUES = ["foxapi", "images", "default"]
if FOXWEB_TASK_BACKEND == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": TASK_QUEUES}}
elif FOXWEB_TASK_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": TASK_QUEUES}}
    RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 900} for name in TASK_QUEUES}
else:
    raise ImproperlyConfigured(f"FOXWEB_TASK_BACKEND must be db or rq, not {FOXWEB_TASK_BACKEND!r}")
# Threads of one worker process (each takes one job at a time; preparing images uses the cores).
FOXWEB_WORKER_THREADS = envint("FOXWEB_WORKER_THREADS", 4)
# Tasks one FoxAPI key may have sent and unfinished at once; the rest wait in FoxWeb's queue.
FOXWEB_MAX_IN_FLIGHT_PER_KEY = envint("FOXWEB_MAX_IN_FLIGHT_PER_KEY", 8)
# How often the worker asks FoxAPI about a running task: at FoxAPI's suggested pace (about every
# 2 s) at first, backing off to the most for long tasks; after GIVE_UP_AFTER seconds it stops waiting.
FOXWEB_CHECK_FIRST_SECONDS = envfloat("FOXWEB_CHECK_FIRST_SECONDS", 2.0)
FOXWEB_CHECK_MAX_SECONDS = envfloat("FOXWEB_CHECK_MAX_SECONDS", 5.0)
FOXWEB_CHECK_GIVE_UP_AFTER = envint("FOXWEB_CHECK_GIVE_UP_AFTER", 3600)
# Sends FoxAPI refused as busy (429/5xx) are tried again by themselves, for at most this many seconds.
FOXWEB_SEND_GIVE_UP_AFTER = envint("FOXWEB_SEND_GIVE_UP_AFTER", 1800)
# Most images one person may have staged (picked, not yet described) at once.
FOXWEB_MAX_STAGED_UPLOADS = envint("FOXWEB_MAX_STAGED_UPLOADS", 600)
# --- Limits on guessing -----------------------------------------------------------------------
# Wrong passwords per user name from one address, and from one address in all, then unknown public
# links per address, within FOXWEB_THROTTLE_SECONDS of the first miss; past that, 429.
FOXWEB_LOGIN_FAILURES_PER_USER = envint("FOXWEB_LOGIN_FAILURES_PER_USER", 5)
FOXWEB_LOGIN_FAILURES_PER_ADDRESS = envint("FOXWEB_LOGIN_FAILURES_PER_ADDRESS", 50)
FOXWEB_SHARED_MISSES_PER_ADDRESS = envint("FOXWEB_SHARED_MISSES_PER_ADDRESS", 20)
FOXWEB_THROTTLE_SECONDS = envint("FOXWEB_THROTTLE_SECONDS", 900)
# How many proxies in front of FoxWeb append to X-Forwarded-For; the client address is read from
# there. Production runs behind one TLS proxy by default (see SECURE_PROXY_SSL_HEADER).
FOXWEB_TRUSTED_PROXIES = envint("FOXWEB_TRUSTED_PROXIES", 0 if DEBUG else 1)

# --- API keys ---------------------------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation). Derived from
# SECRET_KEY when unset, which is fine for local use and refused in production.
FOXWEB_ENCRYPTION_KEYS = envlist("FOXWEB_ENCRYPTION_KEYS")

if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY:
        raise ImproperlyConfigured("Set SECRET_KEY: the development key is refused when DEBUG is off.")
    if FOXWEB_ALLOW_PRIVATE_URLS:
        raise ImproperlyConfigured("FOXWEB_ALLOW_PRIVATE_URLS is for tests and local demos only.")
    if not FOXWEB_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("Set FOXWEB_ENCRYPTION_KEYS to keep API keys encrypted at rest.")
