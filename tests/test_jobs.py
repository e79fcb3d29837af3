"""The worker's steps (vision/jobs.py): prepare, send, check, at FoxAPI's pace, through faults.

Jobs run in this thread through the real database queue (tests/jobqueue.py) on a frozen clock
that jumps to the next due job: no sleeping, no threads.
"""

import json
import logging
import math
import sqlite3
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from tests.factories import TEST_KEY, make_task, upload_file
from tests.jobqueue import run_due_jobs, run_until_idle, settle
from vision import foxapi, jobs, sandbox, services
from vision.models import ApiKey, KeyThrottle, Task, Upload
from vision.services import DescribeOptions

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream(monkeypatch):
    """Counts the calls that reach FoxAPI, by kind."""
    calls = {"GET": [], "POST": []}
    get_task, submit = foxapi.FoxAPIClient.get_task, foxapi.FoxAPIClient.submit_vision_task

    def counting_get(self, task_id, **kwargs):
        calls["GET"].append(task_id)
        return get_task(self, task_id, **kwargs)

    def counting_submit(self, request, **kwargs):
        calls["POST"].append(request.prompt)
        return submit(self, request, **kwargs)

    monkeypatch.setattr(foxapi.FoxAPIClient, "get_task", counting_get)
    monkeypatch.setattr(foxapi.FoxAPIClient, "submit_vision_task", counting_submit)
    return calls


def sandbox_task_count() -> int:
    """How many tasks FoxAPI (the sandbox) really created: what would be charged."""
    if not django_settings.FOXAPI_SANDBOX_DB.exists():
        return 0
    with sqlite3.connect(django_settings.FOXAPI_SANDBOX_DB) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE name = 'tasks'").fetchall()
        return db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] if tables else 0


def queued_task(owner, prompt="Describe it.", **options) -> Task:
    upload = Upload.stage(owner, "photo.png", upload_file().read())
    fields = {"model": "claude-opus-4-7", "prompt": prompt, "max_tokens": 300, "key_source": "sandbox", **options}
    return services.create_task(owner, DescribeOptions(**fields), uploads=[upload])


def checked_once_with(alice, clock, fault: dict) -> Task:
    """A task sent to the sandbox, then checked once while FoxAPI answers that check with `fault`."""
    task = queued_task(alice)
    run_due_jobs()
    sandbox.inject_faults([fault])
    clock.shift(2.5)
    run_due_jobs()
    return task


def test_a_queued_task_is_prepared_sent_and_collected(alice, settings, upstream):
    settings.FOXAPI_SANDBOX_DURATION = 6
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        assert task.status == "queued"
        run_due_jobs()
        task.refresh_from_db()
        image = task.images.get()
        assert image.is_prepared and not image.original  # the original (with its location data) is gone
        assert task.status in ("pending", "processing") and task.upstream_id
        assert task.submitted == timezone.now()
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"
    assert "Simulated answer" in task.answer
    assert 5.5 <= task.duration.total_seconds() <= 9  # FoxWeb's own clock, never the service's `created`
    assert len(upstream["POST"]) == 1
    # quick at first, then backing off: one GET per interval, however many people watch
    assert 3 <= len(upstream["GET"]) <= 7
    assert task.upstream_checks == len(upstream["GET"])


def test_checks_follow_foxapis_pace_and_back_off_for_long_tasks(alice, settings):
    task = make_task(alice, submit=False)
    now = timezone.now()
    task.submitted = now
    assert jobs.check_interval(task, now) == 2.0  # the contract: "poll about every 2 s"
    assert jobs.check_interval(task, now + timedelta(seconds=20)) == 2.0
    assert jobs.check_interval(task, now + timedelta(seconds=50)) == 4.0
    assert jobs.check_interval(task, now + timedelta(minutes=10)) == 5.0


def test_many_watchers_never_add_upstream_calls(alice_client, alice, settings, upstream):
    settings.FOXAPI_SANDBOX_DURATION = 20
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        for _ in range(40):  # ten browsers polling every half second, for 20 seconds
            for _ in range(10):
                alice_client.get(f"/tasks/{task.pk}/status/", headers={"HX-Request": "true"})
            clock.shift(0.5)
            run_due_jobs()
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"
    seconds = task.duration.total_seconds()
    assert len(upstream["GET"]) <= math.ceil(seconds / settings.FOXWEB_CHECK_FIRST_SECONDS) + 2


def test_a_passing_problem_is_shown_and_foxweb_keeps_checking(alice_client, alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = checked_once_with(alice, clock, {"status": 503, "method": "GET"})
        page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
        assert "FoxWeb keeps checking by itself; there is nothing you need to do." in page
        assert "try again in a minute" not in page
        task.refresh_from_db()
        assert task.is_active
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"
    assert task.check_problem == ""


def test_a_refused_key_while_waiting_fails_the_task_plainly(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = checked_once_with(alice, clock, {"status": 401, "method": "GET"})
    task.refresh_from_db()
    assert task.status == "failed"
    assert "did not accept the API key" in task.error_message


def test_a_low_balance_while_waiting_keeps_the_paid_task_and_checks_slowly(alice, settings, upstream):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = checked_once_with(alice, clock, {"status": 402, "method": "GET"})
        task.refresh_from_db()
        assert task.is_active and "balance" in task.check_problem
        clock.shift(30)
        run_due_jobs()
        assert len(upstream["GET"]) == 1  # a long pause after a 402, not the usual pace
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed" and task.check_problem == ""


@pytest.mark.parametrize(("status", "body"), [(400, {}), (422, {"error": {"message": "bad id"}}), (501, {})])
def test_a_check_refused_for_good_ends_the_task_instead_of_asking_forever(alice, settings, upstream, status, body):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = checked_once_with(alice, clock, {"status": status, "method": "GET"})
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "failed" and len(upstream["GET"]) == 1
    assert "stopped waiting" in task.error_message and "send it again" in task.error_message


def test_foxweb_stops_waiting_for_a_task_foxapi_never_finishes(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 100_000
    settings.FOXWEB_CHECK_GIVE_UP_AFTER = 600
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        run_due_jobs()
        clock.shift(599)
        run_due_jobs()
        task.refresh_from_db()
        assert task.is_active
        run_until_idle(clock)
    task.refresh_from_db()
    assert (task.status, task.error_code) == ("failed", "gave_up")
    assert "after 10 minutes" in task.error_message


def test_a_long_retry_after_delays_the_next_check(alice, settings, upstream):
    settings.FOXAPI_SANDBOX_DURATION = 300
    with time_machine.travel(timezone.now(), tick=False) as clock:
        checked_once_with(alice, clock, {"status": 429, "retry_after": "60", "method": "GET"})
        assert len(upstream["GET"]) == 1
        clock.shift(30)
        run_due_jobs()
        assert len(upstream["GET"]) == 1
        clock.shift(31)
        run_due_jobs()
        assert len(upstream["GET"]) == 2


def test_a_429_on_submit_is_sent_again_after_retry_after(alice, settings, upstream):
    settings.FOXAPI_SANDBOX_DURATION = 2
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        sandbox.inject_faults([{"status": 429, "retry_after": "20", "method": "POST"}])
        run_due_jobs()
        task.refresh_from_db()
        assert task.status == "queued"
        assert "send this again by itself" in task.check_problem
        assert task.next_attempt >= timezone.now() + timedelta(seconds=20)
        other = queued_task(alice, prompt="Another one.")
        run_due_jobs()
        other.refresh_from_db()
        assert other.status == "queued"  # the same key waits out FoxAPI's back-off too
        assert sandbox_task_count() == 0
        run_until_idle(clock)
    task.refresh_from_db()
    other.refresh_from_db()
    assert (task.status, other.status) == ("completed", "completed")
    assert sandbox_task_count() == 2


def test_a_burst_of_429s_never_refuses_a_task_for_good(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 1
    with time_machine.travel(timezone.now(), tick=False) as clock:
        tasks = [queued_task(alice, prompt=f"Task {number}") for number in range(10)]
        sandbox.inject_faults([{"status": 429, "retry_after": "3", "method": "POST"}] * 20)
        run_until_idle(clock)
    statuses = Task.objects.filter(pk__in=[task.pk for task in tasks]).values_list("status", flat=True)
    assert set(statuses) == {"completed"}
    assert sandbox_task_count() == 10


def test_a_send_refused_for_too_long_fails_plainly(alice, settings):
    settings.FOXWEB_SEND_GIVE_UP_AFTER = 60
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        sandbox.inject_faults([{"status": 503, "method": "POST"}] * 30)
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "failed"
    assert "stayed too busy" in task.error_message
    assert "Nothing was sent to FoxAPI" in task.error_message


def test_a_dropped_submit_answer_is_never_sent_again(alice_client, alice, upstream):
    tasks = [queued_task(alice, prompt=f"Task {number}") for number in range(3)]
    sandbox.inject_faults([{"lose_answer": True, "method": "POST"}] * 3)
    settle()
    for task in tasks:
        task.refresh_from_db()
        assert (task.status, task.error_code) == ("failed", "answer_lost")
    assert sandbox_task_count() == 3  # FoxAPI has (and charges for) each one
    assert len(upstream["POST"]) == 3  # and FoxWeb sent each exactly once
    page = alice_client.get(f"/tasks/{tasks[0].pk}/").content.decode()
    assert "its answer was lost on the way back" in page
    assert "Send again" in page


def test_a_submit_slower_than_the_usual_timeout_still_counts(alice, settings):
    settings.FOXAPI_TIMEOUT = 0.2
    settings.FOXAPI_SUBMIT_TIMEOUT = 5
    task = queued_task(alice)
    sandbox.inject_faults([{"delay": 0.5, "method": "POST"}])
    settle()
    task.refresh_from_db()
    assert task.status == "completed"


def test_an_error_of_ours_while_sending_fails_at_once_saying_nothing_was_sent(alice, caplog, upstream):
    task = make_task(alice, submit=False)
    image = task.images.get()
    image.file.storage.delete(image.file.name)  # the prepared image vanished from storage
    jobs.wake(task)
    with caplog.at_level(logging.ERROR):
        settle()
    task.refresh_from_db()
    assert (task.status, task.error_code) == ("failed", "internal_error")
    assert "Nothing was sent to FoxAPI" in task.error_message
    assert upstream["POST"] == []
    assert "Traceback" in caplog.text


def test_a_key_revoked_after_sending_still_collects_the_paid_answer(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 5
    key = ApiKey.store(name="Mine", secret=TEST_KEY, owner=alice, created_by=alice)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice, api_key=key, key_source="key")
        run_due_jobs()
        key.revoke()
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"


def test_a_key_revoked_before_sending_stops_the_send(alice):
    key = ApiKey.store(name="Mine", secret=TEST_KEY, owner=alice, created_by=alice)
    task = queued_task(alice, api_key=key, key_source="key")
    key.revoke()
    settle()
    task.refresh_from_db()
    assert task.status == "failed"
    assert "was revoked" in task.error_message
    assert sandbox_task_count() == 0


def test_a_key_sends_at_most_its_in_flight_limit_at_once(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 10
    settings.FOXWEB_MAX_IN_FLIGHT_PER_KEY = 3
    with time_machine.travel(timezone.now(), tick=False) as clock:
        tasks = [queued_task(alice, prompt=f"Task {number}") for number in range(7)]
        most = 0
        for _ in range(200):
            run_due_jobs()
            in_flight = Task.objects.filter(status__in=Task.IN_FLIGHT_STATUSES).count()
            most = max(most, in_flight)
            if not Task.objects.active().exists():
                break
            clock.shift(0.5)
            from vision.worker import sweep

            sweep()
    assert most == 3
    assert set(Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list("status", flat=True)) == {"completed"}


def test_a_slot_freed_by_a_finished_task_goes_to_the_next_in_line(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 3
    settings.FOXWEB_MAX_IN_FLIGHT_PER_KEY = 1
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first, second = queued_task(alice, prompt="First"), queued_task(alice, prompt="Second")
        run_until_idle(clock)  # no sweeper: the first one's end wakes the second
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("completed", "completed")
    assert second.submitted >= first.finished


def test_a_stale_worker_never_overwrites_a_newer_result(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    task = make_task(alice)
    stale = Task.objects.get(pk=task.pk)
    token = stale.claim(Task.UPSTREAM_STATUSES, worker="old", lease=timedelta(seconds=-1), due_only=False)
    assert token  # its lease is already over...
    newer = Task.objects.get(pk=task.pk)
    new_token = newer.claim(Task.UPSTREAM_STATUSES, worker="new", lease=timedelta(seconds=30), due_only=False)
    assert new_token  # ...so another worker took the task over
    assert not stale.apply(token, foxapi.TaskState(id=task.upstream_id, status="failed", error_message="late"))
    assert newer.apply(new_token, foxapi.TaskState(id=task.upstream_id, status="processing", progress=60))
    task.refresh_from_db()
    assert (task.status, task.progress) == ("processing", 60)


def test_a_late_answer_never_undoes_a_finished_task(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    task = make_task(alice)
    late = Task.objects.get(pk=task.pk)
    token = late.claim(Task.UPSTREAM_STATUSES, worker="slow", lease=timedelta(seconds=30), due_only=False)
    Task.objects.filter(pk=task.pk).update(status="completed", answer="Done.", progress=100)
    late.apply(token, foxapi.TaskState(id=task.upstream_id, status="processing", progress=40))
    late.fail(token, "server_error", "late failure")
    task.refresh_from_db()
    assert (task.status, task.answer, task.progress) == ("completed", "Done.", 100)


def test_two_clicks_on_try_again_queue_the_task_once(alice):
    sandbox.inject_faults([{"status": 422, "method": "POST"}])
    task = queued_task(alice)
    settle()
    other_tab = Task.objects.get(pk=task.pk)
    task.refresh_from_db()
    assert task.status == other_tab.status == "failed"
    assert services.send_again(task) is True
    assert services.send_again(other_tab) is False
    assert other_tab.status == "queued"


def test_a_hundred_tasks_finish_while_one_check_in_three_fails(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 4
    settings.FOXWEB_MAX_IN_FLIGHT_PER_KEY = 100
    with time_machine.travel(timezone.now(), tick=False) as clock:
        tasks = [queued_task(alice, prompt=f"Task {number}") for number in range(100)]
        sandbox.inject_faults([{"status": 500, "method": "GET"}, {"method": "GET"}, {"method": "GET"}] * 300)
        run_until_idle(clock)
    finished = Task.objects.filter(pk__in=[task.pk for task in tasks])
    assert set(finished.values_list("status", flat=True)) == {"completed"}
    assert all("Simulated answer" in answer for answer in finished.values_list("answer", flat=True))
    assert sandbox_task_count() == 100


def test_a_back_off_ends_and_is_reset_by_a_good_send(alice):
    KeyThrottle.objects.create(key_ref="sandbox", until=timezone.now() - timedelta(seconds=1), strikes=4)
    task = queued_task(alice)
    settle()
    task.refresh_from_db()
    assert task.status == "completed"
    assert KeyThrottle.objects.get(key_ref="sandbox").strikes == 0


def test_a_prompt_too_long_for_foxapi_fails_plainly_without_being_sent(alice, upstream):
    """A prompt made before the typed limit was lowered, or stretched by a row's context."""
    task = queued_task(alice, prompt="x" * (foxapi.MAX_PROMPT_CHARS + 1))
    settle()
    task.refresh_from_db()
    assert (task.status, task.error_code) == ("failed", "prompt_too_long")
    assert "longer than the 100,000 characters FoxAPI accepts" in task.error_message
    assert "Nothing was sent to FoxAPI" in task.error_message
    assert upstream["POST"] == []
    assert sandbox_task_count() == 0


@pytest.mark.parametrize("purpose", ["", "informative", "link", "text", "chart"])
def test_the_longest_prompt_foxweb_builds_stays_within_foxapi_s_limit(purpose):
    from vision import forms, intake
    from vision.alttext.purposes import ACTION_FIELD

    longest = DescribeOptions(
        model="claude-opus-4-7",
        prompt="p" * forms.MAX_TYPED_PROMPT_CHARS,
        purpose=purpose,
        purpose_detail="a" * ACTION_FIELD.max_length,
        context="c" * 5_000,
        keywords="k" * 500,
        audience="u" * 200,
    )
    prompt = longest.prompt_for(row_context="r" * intake.MAX_CONTEXT_CHARS, language="en")
    assert "r" * intake.MAX_CONTEXT_CHARS in prompt
    assert len(prompt) <= foxapi.MAX_PROMPT_CHARS


# --- What other FoxAPI implementations may answer -------------------------------------------------


def foxapi_answering(monkeypatch, handler):
    """Replace FoxAPI with `handler(request) -> httpx.Response` for the rest of the test."""
    fake = foxapi.FoxAPIClient("https://foxapi.test", transport=httpx.MockTransport(handler), sleep=lambda s: None)
    monkeypatch.setattr(foxapi, "client", lambda: fake)


def running_task(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    task = queued_task(alice)
    run_due_jobs()  # prepared and sent to the sandbox
    task.refresh_from_db()
    assert task.status in ("pending", "processing")
    return task


@pytest.mark.parametrize(
    ("completion", "words"),
    [
        ({"choices": [{"message": {"content": None}, "finish_reason": "length"}]}, "Raise “Longest answer”"),
        ({"choices": [{"message": {"content": "  "}, "finish_reason": "stop"}]}, "without writing any text"),
    ],
)
def test_a_completed_task_without_text_is_a_failure_that_says_why(alice, settings, monkeypatch, completion, words):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = running_task(alice, settings)
        body = {
            "id": task.upstream_id,
            "status": "completed",
            "results": [{**completion, "usage": {"total_tokens": 9}}],
        }
        foxapi_answering(monkeypatch, lambda request: httpx.Response(200, json=body))
        run_until_idle(clock)
    task.refresh_from_db()
    assert (task.status, task.error_code, task.answer) == ("failed", "empty_answer", "")
    assert words in task.error_message and task.total_tokens == 9


def test_completed_without_results_is_asked_again_with_sync_upstream(alice, settings, monkeypatch):
    asked = []

    def handler(request):
        asked.append(request.url.params.get("sync_upstream"))
        if request.url.params.get("sync_upstream") == "true":
            done = {"choices": [{"message": {"content": "A red kite."}, "finish_reason": "stop"}]}
            return httpx.Response(200, json={"id": "t", "status": "completed", "results": [done]})
        return httpx.Response(200, json={"id": "t", "status": "completed", "results": None})

    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = running_task(alice, settings)
        foxapi_answering(monkeypatch, handler)
        run_until_idle(clock)
    task.refresh_from_db()
    assert (task.status, task.answer) == ("completed", "A red kite.")
    assert asked == [None, "true"]


def test_a_gemini_request_refused_without_the_reasoning_flag_is_sent_once_with_it(alice, monkeypatch):
    bodies = []

    def handler(request):
        body = json.loads(request.content)
        bodies.append(body)
        if not body.get("include_reasoning"):
            return httpx.Response(
                422, json={"error": {"message": "reasoning required", "type": "invalid_request_error"}}
            )
        return httpx.Response(200, json={"id": "task-g", "status": "pending"})

    foxapi_answering(monkeypatch, handler)
    with time_machine.travel(timezone.now(), tick=False):
        task = queued_task(alice, model="gemini-2.5-pro")
        run_due_jobs()
    task.refresh_from_db()
    assert (task.status, task.upstream_id) == ("pending", "task-g")
    assert [body.get("include_reasoning") for body in bodies] == [None, True]


def test_other_models_refused_with_422_are_not_sent_again(alice, monkeypatch):
    bodies = []

    def handler(request):
        bodies.append(request.content)
        return httpx.Response(422, json={"error": {"message": "prompt too odd", "type": "invalid_request_error"}})

    foxapi_answering(monkeypatch, handler)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "failed" and "prompt too odd" in task.error_message
    assert len(bodies) == 1


def test_checks_keep_their_pace_whatever_the_queue_delays(alice, settings):
    task = make_task(alice, submit=False)
    now = timezone.now()
    task.submitted = now - timedelta(seconds=4)
    task.next_attempt = now - timedelta(seconds=0.3)  # this check was due 0.3 s ago
    assert jobs.next_check_time(task, now) == now + timedelta(seconds=1.7)
    task.next_attempt = now - timedelta(seconds=1.9)  # far behind: not two checks in a row
    assert jobs.next_check_time(task, now) == now + timedelta(seconds=1)
    task.next_attempt = None
    assert jobs.next_check_time(task, now) == now + timedelta(seconds=2)


def test_the_first_check_comes_after_half_an_interval_then_a_whole_one(alice, settings, upstream):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        run_due_jobs()
        task.refresh_from_db()
        assert (task.next_attempt - task.submitted).total_seconds() == 1.0
        clock.shift(1)
        run_due_jobs()
        task.refresh_from_db()
        assert len(upstream["GET"]) == 1
        assert (task.next_attempt - task.submitted).total_seconds() == 3.0
