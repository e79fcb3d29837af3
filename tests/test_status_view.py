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
    assert '<progress class="progress"' in page
    assert f'hx-get="/tasks/{task.pk}/status/"' in page
    assert 'hx-trigger="every 1.5s"' in page


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
    assert 'hx-trigger="every 3.0s"' in page
    Task.objects.filter(pk=task.pk).update(submitted=timezone.now() - timedelta(minutes=5))
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert 'hx-trigger="every 5.0s"' in page


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
        sandbox.inject_faults([{"status": 503, "method": "GET"}])
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
    Task.objects.filter(pk=task.pk).update(submitting_since=timezone.now() - timedelta(minutes=10))
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "interrupted" in page
    assert "may be charged twice" in page
    assert "Try again anyway" in page


def test_a_retry_interrupted_by_a_restart_is_noticed_too(alice_client, alice):
    task = make_task(alice, prompt="sandbox:fail")
    assert task.claim_submission()
    Task.objects.filter(pk=task.pk).update(submitting_since=timezone.now() - timedelta(minutes=10))
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "interrupted" in page


def test_two_clicks_on_try_again_claim_the_task_once(alice):
    sandbox.inject_faults([{"status": 500, "method": "POST"}])
    task = make_task(alice)
    other_tab = Task.objects.get(pk=task.pk)  # the same failed task, loaded by a second request
    assert task.status == other_tab.status == "failed"
    assert task.claim_submission() is True
    assert other_tab.claim_submission() is False
    assert other_tab.status == "submitting"


def test_a_late_answer_never_undoes_a_finished_task(alice, slow_tasks):
    task = make_task(alice)
    late = Task.objects.get(pk=task.pk)  # a request still holding the task as it was
    Task.objects.filter(pk=task.pk).update(status="completed", answer="Done.", progress=100)
    late.apply(foxapi.TaskState(id=task.upstream_id, status="processing", progress=40))
    late.fail("server_error", "late failure")
    task.refresh_from_db()
    assert (task.status, task.answer, task.progress) == ("completed", "Done.", 100)


def test_a_long_retry_after_delays_the_next_check(alice_client, alice, slow_tasks, upstream_reads):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice)
        clock.shift(timedelta(seconds=2))
        sandbox.inject_faults([{"status": 429, "retry_after": "60", "method": "GET"}])
        page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
        assert "too many requests" in page
        assert len(upstream_reads) == 1
        clock.shift(timedelta(seconds=30))
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
        assert len(upstream_reads) == 1
        clock.shift(timedelta(seconds=40))
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
        assert len(upstream_reads) == 2


@pytest.mark.django_db(transaction=True)
def test_many_watchers_cause_one_upstream_call(alice, settings, monkeypatch):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now() - timedelta(seconds=5), tick=True):
        task = make_task(alice)
    calls = []
    original = foxapi.FoxAPIClient.get_task

    def slow_counting(self, task_id, **kwargs):
        calls.append(task_id)
        time.sleep(2.5)  # slower than the poll interval: the lease, not the interval, keeps others out
        return original(self, task_id, **kwargs)

    monkeypatch.setattr(foxapi.FoxAPIClient, "get_task", slow_counting)
    barrier = threading.Barrier(6)
    errors = []

    def watch(delay):
        try:
            barrier.wait()
            time.sleep(delay)
            Task.objects.get(pk=task.pk).refresh_if_due()
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=watch, args=(number * 0.4,)) for number in range(6)]
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


def test_polling_a_task_paid_with_a_stored_key_never_shows_it(alice_client, alice, slow_tasks):
    from tests.factories import TEST_KEY
    from vision.models import ApiKey

    key = ApiKey.store(name="Mine", secret=TEST_KEY, owner=alice, created_by=alice)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice, api_key=key, key_source="key")
        for seconds in (2, 5, 31):
            clock.shift(timedelta(seconds=seconds))
            alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
            alice_client.get(f"/tasks/{task.pk}/")
    task.refresh_from_db()
    assert task.status == "completed"
    # the leak watch (tests/conftest.py) checked every one of those pages for the key
