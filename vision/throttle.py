"""Limits on guessing: failed logins and unknown public links, counted per client address.

Counts live in Django's cache for FOXWEB_THROTTLE_SECONDS from the first miss. Past a limit the
answer is 429 with a plain page until the window ends; a correct password or link does not get
through meanwhile, or the limit would still let a guesser learn when they were right.

With the default local-memory cache each server process counts on its own, so with several
worker processes a guesser gets up to that many times the limit: still a hard bound.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import render


def client_address(request) -> str:
    """The client's IP address: REMOTE_ADDR, or behind FOXWEB_TRUSTED_PROXIES proxies the address
    the outermost of them saw, read from the right of X-Forwarded-For (the left part is the
    client's own word and can say anything)."""
    proxies = int(settings.FOXWEB_TRUSTED_PROXIES)
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@dataclass(frozen=True)
class Limit:
    """At most ``limit()`` misses per key within FOXWEB_THROTTLE_SECONDS of the first one."""

    name: str
    setting: str

    def limit(self) -> int:
        return int(getattr(settings, self.setting))

    def _key(self, key: str) -> str:
        return f"foxweb-throttle:{self.name}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def blocked_for(self, key: str) -> int:
        """Seconds until ``key`` may try again; 0 if it may now."""
        cache_key = self._key(key)
        if cache.get(cache_key, 0) < self.limit():
            return 0
        until = cache.get(f"{cache_key}:until")
        return max(1, math.ceil(until - time.time())) if until else 1

    def miss(self, key: str) -> None:
        """Count one failure for ``key``; the first one starts the window."""
        window = int(settings.FOXWEB_THROTTLE_SECONDS)
        cache_key = self._key(key)
        if cache.add(cache_key, 1, timeout=window):
            cache.set(f"{cache_key}:until", time.time() + window, timeout=window)
            return
        try:
            cache.incr(cache_key)
        except ValueError:  # expired between add() and incr(): this miss starts a new window
            cache.add(cache_key, 1, timeout=window)
            cache.set(f"{cache_key}:until", time.time() + window, timeout=window)

    def clear(self, key: str) -> None:
        cache.delete_many([self._key(key), f"{self._key(key)}:until"])


LOGINS_PER_USER = Limit("login-user", "FOXWEB_LOGIN_FAILURES_PER_USER")
LOGINS_PER_ADDRESS = Limit("login-address", "FOXWEB_LOGIN_FAILURES_PER_ADDRESS")
SHARED_MISSES = Limit("shared-miss", "FOXWEB_SHARED_MISSES_PER_ADDRESS")


def too_many(request, seconds: int, what: str):
    """The 429 page: what happened and how long to wait, in the app's own look."""
    minutes = max(1, math.ceil(seconds / 60))
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    response = render(request, "vision/too_many_attempts.html", {"what": what, "wait": wait}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def login_keys(request, username: str) -> tuple[str, str]:
    address = client_address(request)
    return f"{address}\n{username.strip().lower()}", address


def login_blocked_for(request, username: str) -> int:
    per_user, address = login_keys(request, username)
    return max(LOGINS_PER_USER.blocked_for(per_user), LOGINS_PER_ADDRESS.blocked_for(address))


def login_failed(request, username: str) -> None:
    per_user, address = login_keys(request, username)
    LOGINS_PER_USER.miss(per_user)
    LOGINS_PER_ADDRESS.miss(address)


def login_succeeded(request, username: str) -> None:
    """A right password forgives that name's misses from this address (not the address's total)."""
    LOGINS_PER_USER.clear(login_keys(request, username)[0])


def limit_link_guesses(view):
    """Count the 404s a client address gets from a public-link view; past the limit, answer 429."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        address = client_address(request)
        seconds = SHARED_MISSES.blocked_for(address)
        if seconds:
            return too_many(request, seconds, "links that do not work")
        try:
            return view(request, *args, **kwargs)
        except Http404:
            SHARED_MISSES.miss(address)
            raise

    return wrapper
