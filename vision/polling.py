"""Unchanged status polls answered early: a 304 from two small SQL statements, before the rest of Django.

Everyone watching a running task polls its status card (vision.views.tasks.task_status) every
second or two, and nearly every poll finds the card unchanged. The view answers those with a 304,
but only after the whole middleware chain and three ORM queries (session, user, task). This
middleware, placed before the session middleware, answers the same 304 for the same poll from the
session row and one statement that reads the user's password hash and the task's revision under
the visibility rule. Anything it cannot decide (no session cookie, another session engine, a
changed card, a user who may not see the task) goes on to the view, which answers as always, so
this only ever says "unchanged" where the view would have said it too:

- the session must exist and be unexpired, and carry a user id and the session hash of a backend
  FoxWeb uses, as django.contrib.auth checks them (a password change or "log out everywhere" ends it);
- the user must be active, and the task visible to them: their own, or shared with a team they are in.
  That rule is Task.objects.visible_to's, stated here once more in SQL; tests/test_polling.py checks
  the two agree for owners, team members, outsiders and removed members.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.http import HttpResponseNotModified
from django.utils import timezone
from django.utils.crypto import constant_time_compare

STATUS_PATH = re.compile(r"^/tasks/([0-9]{1,18})/status/$")
DB_SESSIONS = "django.contrib.sessions.backends.db"


def status_etag(task_id: int, revision: int, user_id: int, row: bool) -> str:
    """The status card's ETag: the task's revision, for this viewer (cards differ per viewer), card or history row."""
    return f'"t{task_id}-r{revision}-u{user_id}{"-row" if row else ""}"'


class UnchangedStatusMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.unchanged(request) or self.get_response(request)

    def unchanged(self, request) -> HttpResponseNotModified | None:
        if request.method != "GET" or request.headers.get("HX-Request") != "true":
            return None
        match = STATUS_PATH.match(request.path_info)
        known = request.headers.get("If-None-Match", "")
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not match or not known or not session_key or settings.SESSION_ENGINE != DB_SESSIONS:
            return None
        session = _session(session_key)
        if not session or session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
            return None
        try:
            user_id = int(session[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            return None
        task_id = int(match.group(1))
        found = _visible_revision(user_id, task_id)
        if found is None:
            return None
        revision, password = found
        session_hash = get_user_model()(password=password).get_session_auth_hash()
        if not constant_time_compare(session.get(HASH_SESSION_KEY, ""), session_hash):
            return None
        etag = status_etag(task_id, revision, user_id, row=bool(request.GET.get("row")))
        if etag not in known:
            return None
        response = HttpResponseNotModified()
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        return response


def _session(session_key: str) -> dict | None:
    """The session's data, if the session exists and has not expired (as SessionStore.load reads it)."""
    table = connection.ops.quote_name(SessionStore.get_model_class()._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
            [session_key, timezone.now()],
        )
        row = cursor.fetchone()
    return SessionStore().decode(row[0]) if row else None


def _visible_revision(user_id: int, task_id: int) -> tuple[int, str] | None:
    """The task's revision and the user's password hash, if the user is active and may see the task."""
    from vision.models import Membership, Task

    quote = connection.ops.quote_name
    users, tasks = quote(get_user_model()._meta.db_table), quote(Task._meta.db_table)
    memberships = quote(Membership._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.revision, u.password FROM {users} u JOIN {tasks} t ON t.id = %s"
            f" WHERE u.id = %s AND u.is_active"
            f" AND (t.owner_id = u.id OR t.team_id IN (SELECT team_id FROM {memberships} WHERE user_id = u.id))",
            [task_id, user_id],
        )
        return cursor.fetchone()
