"""The worker as a real process: django-tasks-db's own db_worker, ours under kill -9, and RQ over Redis.

These tests start `manage.py` processes against the test database, so the tasks they make are
committed (transactional_db). They wait for the other process with a deadline, never a fixed sleep.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.test_jobs import queued_task, sandbox_task_count
from vision import sandbox
from vision.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database, as a URL for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def worker_env(**extra) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "FOXAPI_BASE_URL": "sandbox",
        "FOXAPI_SANDBOX_DB": str(settings.FOXAPI_SANDBOX_DB),
        "FOXAPI_SANDBOX_DURATION": str(settings.FOXAPI_SANDBOX_DURATION),
        "FOXWEB_CHECK_FIRST_SECONDS": "0.5",
        "FOXWEB_CHECK_MAX_SECONDS": "1",
        "DATABASE_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def manage(*args, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, *, seconds: float, what: str, process: subprocess.Popen | None = None) -> None:
    """Poll until condition() holds; on time-out, fail with the other process's output."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    output = stop(process) if process else ""
    raise AssertionError(f"Timed out after {seconds} s waiting for {what}\n{output[-4000:]}")


def statuses(tasks) -> list[str]:
    return list(Task.objects.filter(pk__in=[task.pk for task in tasks]).values_list("status", flat=True))


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


def test_django_tasks_db_worker_runs_our_jobs(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    task = queued_task(alice)
    process = manage("db_worker", "--batch", "--queue-name", "*", "--no-startup-delay", "--no-reload", env=worker_env())
    output, _ = process.communicate(timeout=120)
    task.refresh_from_db()
    assert task.status in ("pending", "processing"), output
    assert task.upstream_id.startswith("task-")
    assert task.images.get().is_prepared


def test_a_worker_killed_mid_flight_loses_nothing_and_sends_nothing_twice(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 3600  # nothing finishes until the sandbox is told to
    tasks = [queued_task(alice, prompt=f"Task {number}") for number in range(20)]
    env = worker_env(FOXWEB_MAX_IN_FLIGHT_PER_KEY="20")
    first = manage("worker", "--threads", "4", env=env)
    try:
        wait_for(
            lambda: all(status in ("pending", "processing") for status in statuses(tasks)),
            seconds=120,
            what="all 20 tasks to be sent",
            process=first,
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert sandbox.finish_all_now() == 20
    second = manage("worker", "--threads", "4", env=env)
    try:
        wait_for(
            lambda: set(statuses(tasks)) == {"completed"}, seconds=150, what="all 20 tasks to finish", process=second
        )
    finally:
        output = stop(second)
    assert sandbox_task_count() == 20, output  # each one sent exactly once


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def rq_backend(settings):
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Redis is not reachable at 127.0.0.1:6379: the RQ backend must be tested on CI.")
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    import redis

    url = f"redis://127.0.0.1:6379/{7 + os.getpid() % 8}"
    settings.FOXWEB_TASK_BACKEND = "rq"
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 900} for name in settings.TASK_QUEUES}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": settings.TASK_QUEUES}}
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


def test_the_rq_backend_over_redis_finishes_a_task(alice, settings, rq_backend):
    settings.FOXAPI_SANDBOX_DURATION = 2
    task = queued_task(alice)
    env = worker_env(FOXWEB_TASK_BACKEND="rq", REDIS_URL=rq_backend)
    process = manage("worker", env=env)
    try:
        wait_for(
            lambda: statuses([task]) == ["completed"], seconds=90, what="the task to finish through RQ", process=process
        )
    finally:
        output = stop(process)
    task.refresh_from_db()
    assert "Simulated answer" in task.answer, output
    assert sandbox_task_count() == 1
