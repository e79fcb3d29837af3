"""The status card: a pure read of FoxWeb's database, cheap to poll, and the Stop button."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_task
from tests.jobqueue import settle
from vision import foxapi
from vision.models import Task

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def slow_tasks(settings):
    settings.FOXAPI_SANDBOX_DURATION = 30


@pytest.fixture
def no_foxapi(monkeypatch):
    """Any call to FoxAPI from here on fails the test: pages only read the database."""

    def refuse(*args, **kwargs):
        raise AssertionError("a page called FoxAPI")

    for name in ("get_task", "submit_vision_task", "check_key"):
        monkeypatch.setattr(foxapi.FoxAPIClient, name, refuse)


def test_it_renders_the_card_with_progress_and_keeps_polling(alice_client, alice, slow_tasks):
    task = make_task(alice)
    response = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert '<progress class="progress"' in page
    assert f'hx-get="/tasks/{task.pk}/status/"' in page
    assert 'hx-trigger="every 2.0s"' in page


def test_without_htmx_it_sends_you_to_the_task_page(alice_client, alice):
    task = make_task(alice)
    response = alice_client.get(f"/tasks/{task.pk}/status/")
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{task.pk}/"


def test_pages_and_polls_never_call_foxapi(alice_client, alice, slow_tasks, no_foxapi):
    task = make_task(alice, submit=False)
    Task.objects.filter(pk=task.pk).update(status="processing", upstream_id="task-x", submitted=timezone.now())
    for _ in range(5):
        assert alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).status_code == 200
    assert alice_client.get(f"/tasks/{task.pk}/").status_code == 200
    assert alice_client.get("/history/").status_code == 200


def test_a_poll_is_a_read_that_writes_nothing(alice_client, alice, slow_tasks):
    task = make_task(alice)
    with CaptureQueriesContext(connection) as queries:
        alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
    writes = [query["sql"] for query in queries if query["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert len(queries) <= 8


def test_a_poll_costs_one_query_beyond_the_session_and_the_user(client, alice, bob, team, slow_tasks):
    task = make_task(alice, team=team)
    url = f"/tasks/{task.pk}/status/"
    client.force_login(alice)
    with CaptureQueriesContext(connection) as changed:
        client.get(url, headers=HTMX)
    changed = list(changed)  # read now: later requests reset the log it points into
    client.force_login(bob)  # a colleague: the team rule is part of the same query
    etag = client.get(url, headers=HTMX)["ETag"]
    with CaptureQueriesContext(connection) as unchanged:
        assert client.get(url, headers={**HTMX, "If-None-Match": etag}).status_code == 304
    tables = [query["sql"].split(" FROM ")[1].split()[0] for query in changed]
    assert tables == ['"django_session"', '"auth_user"', '"vision_task"']
    # Unchanged: the session, then the user and the task together, the team rule included (vision.polling).
    tables = [query["sql"].split(" FROM ")[1].split()[0] for query in unchanged]
    assert tables == ['"django_session"', '"auth_user"']
    assert "vision_membership" in unchanged[1]["sql"] and "vision_task" in unchanged[1]["sql"]


def test_an_unchanged_card_answers_304_without_rendering(alice_client, alice, slow_tasks):
    task = make_task(alice)
    first = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
    etag = first["ETag"]
    again = alice_client.get(f"/tasks/{task.pk}/status/", headers={**HTMX, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    Task.objects.filter(pk=task.pk).update(progress=50, revision=task.revision + 1)
    changed = alice_client.get(f"/tasks/{task.pk}/status/", headers={**HTMX, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_the_etag_differs_per_viewer(client, alice, bob, team, slow_tasks):
    task = make_task(alice, team=team)
    client.force_login(alice)
    owners = client.get(f"/tasks/{task.pk}/status/", headers=HTMX)
    client.force_login(bob)
    members = client.get(f"/tasks/{task.pk}/status/", headers={**HTMX, "If-None-Match": owners["ETag"]})
    assert members.status_code == 200  # the owner's card has a Stop button; a colleague's has not
    assert "Stop" in owners.content.decode()
    assert ">Stop<" not in members.content.decode()


def test_polling_backs_off_for_long_tasks(alice_client, alice, slow_tasks):
    task = make_task(alice)
    Task.objects.filter(pk=task.pk).update(submitted=timezone.now() - timedelta(seconds=90))
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert 'hx-trigger="every 3.0s"' in page
    Task.objects.filter(pk=task.pk).update(submitted=timezone.now() - timedelta(minutes=5), revision=99)
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert 'hx-trigger="every 5.0s"' in page


def test_it_stops_polling_and_shows_the_answer_when_done(alice_client, alice, slow_tasks):
    task = make_task(alice)
    settle()
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "hx-trigger" not in page
    assert "Simulated answer from the FoxWeb sandbox" in page
    assert "Copy text" in page


def test_a_queued_task_says_it_waits_and_can_be_closed(alice_client, alice):
    task = make_task(alice, submit=False)
    page = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "Waiting to be sent" in page
    assert "You can close this page" in page


def test_stopping_a_queued_task_means_it_is_never_sent(alice_client, alice, monkeypatch):
    task = make_task(alice, submit=False)
    sent = []
    monkeypatch.setattr(foxapi.FoxAPIClient, "submit_vision_task", lambda *a, **k: sent.append(1))
    response = alice_client.post(f"/tasks/{task.pk}/stop/", headers=HTMX)
    assert "This description was stopped" in response.content.decode()
    assert "nothing was charged" in response.content.decode()
    assert 'data-announce="The description was stopped."' in response.content.decode()  # not "failed"
    settle()
    task.refresh_from_db()
    assert (task.status, task.error_code) == ("cancelled", "stopped")
    assert sent == []


def test_stopping_a_running_task_says_the_model_may_still_charge(alice_client, alice, slow_tasks, upstream_reads):
    task = make_task(alice)
    response = alice_client.post(f"/tasks/{task.pk}/stop/")
    assert response.status_code == 302
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "may still finish it and charge for it" in page
    assert "Send again" in page
    settle()
    assert upstream_reads == []  # nobody waits for it any more
    task.refresh_from_db()
    assert task.status == "cancelled"


def test_only_the_owner_may_stop(client, alice, bob, team, slow_tasks):
    task = make_task(alice, team=team)
    client.force_login(bob)
    assert client.post(f"/tasks/{task.pk}/stop/").status_code == 404
    task.refresh_from_db()
    assert task.is_active


def test_status_of_someone_elses_task_is_404(client, alice, carol):
    task = make_task(alice)
    client.force_login(carol)
    assert client.get(f"/tasks/{task.pk}/status/", headers=HTMX).status_code == 404
    assert client.post(f"/tasks/{task.pk}/stop/").status_code == 404


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


def test_checks_that_change_nothing_visible_keep_the_card_unchanged(alice_client, alice, settings):
    from tests.jobqueue import run_due_jobs

    settings.FOXAPI_SANDBOX_DURATION = 100
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice)
        clock.shift(21)
        run_due_jobs()  # processing, 21 %
        etag = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX)["ETag"]
        clock.shift(20)
        run_due_jobs()  # 41 %: stored, but the bar waits for half-way
        task.refresh_from_db()
        assert task.progress >= 40 and task.upstream_checks == 2
        again = alice_client.get(f"/tasks/{task.pk}/status/", headers={**HTMX, "If-None-Match": etag})
        assert again.status_code == 304
        clock.shift(15)
        run_due_jobs()  # 56 %: past half-way, the card changes
        moved = alice_client.get(f"/tasks/{task.pk}/status/", headers={**HTMX, "If-None-Match": etag})
        assert moved.status_code == 200


@pytest.fixture
def foxapi_cancels(monkeypatch):
    """FoxAPI ends every task it is asked about as `cancelled` (a status the contract lists)."""

    def cancelled(self, task_id, **kwargs):
        return foxapi.TaskState(id=task_id, status="cancelled", progress=30)

    monkeypatch.setattr(foxapi.FoxAPIClient, "get_task", cancelled)


def test_a_task_foxapi_cancelled_is_not_shown_as_stopped_by_you(alice_client, alice, slow_tasks, foxapi_cancels):
    task = make_task(alice)
    settle()
    task.refresh_from_db()
    assert task.status == "cancelled" and not task.stopped_by_user
    card = alice_client.get(f"/tasks/{task.pk}/status/", headers=HTMX).content.decode()
    assert "FoxAPI cancelled this description" in card
    assert 'data-announce="FoxAPI cancelled the description."' in card
    assert "This description was stopped" not in card
    assert "Send again" in card
    history = alice_client.get("/history/").content.decode()
    assert "Cancelled by FoxAPI" in history
    assert ">Stopped<" not in history


def test_foxapi_saying_stopped_never_reads_as_your_stop(alice, slow_tasks, monkeypatch):
    monkeypatch.setattr(
        foxapi.FoxAPIClient,
        "get_task",
        lambda self, task_id, **kwargs: foxapi.TaskState(id=task_id, status="cancelled", error_code="stopped"),
    )
    task = make_task(alice)
    settle()
    task.refresh_from_db()
    assert (task.status, task.error_code) == ("cancelled", "cancelled")
    assert task.status_label == "Cancelled by FoxAPI"


def test_your_own_stop_is_still_called_stopped(alice_client, alice):
    task = make_task(alice, submit=False)
    alice_client.post(f"/tasks/{task.pk}/stop/")
    task.refresh_from_db()
    assert task.stopped_by_user and task.status_label == "Stopped"
    assert "Cancelled by FoxAPI" not in alice_client.get("/history/").content.decode()
