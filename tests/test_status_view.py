"""The status fragment: refreshed from FoxAPI only when stale, by one request at a time."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tests.factories import make_task
from vision import foxapi, sandbox
from vision.models import Task

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def slow_tasks(settings):
    settings.FOXAPI_SANDBOX_DURATION = 30


@pytest.fixture
def upstream_reads(monkeypatch):
    """Counts GET /v1/tasks/{id} calls that reach FoxAPI."""
    calls = []
    original = foxapi.FoxAPIClient.get_task

    def counting(self, task_id, **kwargs):
        calls.append(task_id)
        return original(self, task_id, **kwargs)

    monkeypatch.setattr(foxapi.FoxAPIClient, "get_task", counting)
    return calls


def test_it_renders_the_card_with_progress_and_keeps_polling(alice_client, alice, slow_tasks):
    task = make_task(alice)
    response = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'role="progressbar"' in page
    assert f'hx-get="/tasks/{task.pk}/status/"' in page
    assert 'hx-trigger="load delay:1.5s"' in page


def test_without_htmx_it_sends_you_to_the_task_page(alice_client, alice):
    task = make_task(alice)
    response = alice_client.get(f"/tasks/{task.pk}/status/")
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{task.pk}/"


def test_it_asks_foxapi_only_when_the_stored_state_is_stale(alice_client, alice, slow_tasks, upstream_reads):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice)
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
        assert upstream_reads == []
        clock.shift(timedelta(seconds=2))
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
        assert upstream_reads == [task.upstream_id]


def test_polling_backs_off_for_long_tasks(alice_client, alice, slow_tasks):
    task = make_task(alice)
    Task.objects.filter(pk=task.pk).update(submitted=timezone.now() - timedelta(seconds=25))
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert 'hx-trigger="load delay:3.0s"' in page
    Task.objects.filter(pk=task.pk).update(submitted=timezone.now() - timedelta(minutes=5))
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert 'hx-trigger="load delay:5.0s"' in page


def test_it_stops_polling_and_shows_the_answer_when_done(alice_client, alice, slow_tasks):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice)
        clock.shift(timedelta(seconds=31))
        page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "hx-trigger" not in page
    assert "Simulated answer from the FoxWeb sandbox" in page
    assert "Copy text" in page
    task.refresh_from_db()
    assert task.status == "completed"
    assert task.finished is not None
    assert task.total_tokens > 0


def test_a_passing_problem_is_shown_and_the_task_stays_active(alice_client, alice, slow_tasks):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice)
        clock.shift(timedelta(seconds=2))
        sandbox.inject_faults([{"status": 503, "method": "GET"}] * 4)
        page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "Could not check on the task just now" in page
    assert "hx-trigger" in page
    task.refresh_from_db()
    assert task.is_active


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ({"status": 401}, "did not accept the API key"),
        ({"status": 402}, "run out of balance"),
    ],
)
def test_key_problems_while_waiting_fail_the_task_plainly(alice_client, alice, slow_tasks, fault, words):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice)
        clock.shift(timedelta(seconds=2))
        sandbox.inject_faults([{**fault, "method": "GET"}])
        page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert words in page
    assert "Try again" in page
    task.refresh_from_db()
    assert task.status == "failed"


def test_a_failed_task_shows_the_services_message(alice_client, alice):
    task = make_task(alice, prompt="sandbox:fail please")
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "This description failed" in page
    assert "failed on purpose" in page
    assert "Try again" in page


def test_an_interrupted_submit_becomes_a_retryable_failure(alice_client, alice):
    task = make_task(alice, submit=False)
    Task.objects.filter(pk=task.pk).update(created=timezone.now() - timedelta(minutes=10))
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "interrupted" in page
    assert "Try again" in page


@pytest.mark.django_db(transaction=True)
def test_many_watchers_cause_one_upstream_call(alice, settings, monkeypatch):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now() - timedelta(seconds=5), tick=True):
        task = make_task(alice)
    calls = []
    original = foxapi.FoxAPIClient.get_task

    def slow_counting(self, task_id, **kwargs):
        calls.append(task_id)
        time.sleep(0.3)
        return original(self, task_id, **kwargs)

    monkeypatch.setattr(foxapi.FoxAPIClient, "get_task", slow_counting)
    barrier = threading.Barrier(6)
    errors = []

    def watch():
        try:
            barrier.wait()
            Task.objects.get(pk=task.pk).refresh_if_due()
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=watch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert calls == [task.upstream_id]


def test_took_is_how_long_the_model_took_not_when_foxweb_looked(alice_client, alice, slow_tasks):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        task = make_task(alice)
        clock.shift(timedelta(seconds=95))
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
    task.refresh_from_db()
    assert task.status == "completed"
    assert 29 <= task.duration.total_seconds() <= 31
