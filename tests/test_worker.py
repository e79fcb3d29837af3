"""The sweeper and the worker process around the jobs: nothing is ever left stuck."""

from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import image_bytes, make_task
from tests.jobqueue import run_due_jobs, run_until_idle, settle
from tests.test_jobs import queued_task, sandbox_task_count
from vision import jobs, worker
from vision.models import Task, Upload, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_a_task_whose_job_was_lost_is_found_and_finished(alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        DBTaskResult.objects.all().delete()  # the queue lost the job (say, Redis restarted empty)
        assert run_due_jobs() == 0
        clock.shift(worker.JOB_LOOKUP_AFTER + timedelta(seconds=1))
        report = worker.sweep()
        assert report["requeued"] == 1
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"


def test_a_running_task_whose_check_job_was_lost_is_checked_again(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 5
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        run_due_jobs()
        DBTaskResult.objects.filter(status="READY").delete()
        clock.shift(timedelta(seconds=40))
        worker.sweep()
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"


def test_a_job_stuck_running_in_the_queue_is_requeued(alice):
    """django-tasks-db leaves a job RUNNING forever when its worker dies; the sweeper covers that."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        job = DBTaskResult.objects.get()
        job.claim("a-worker-that-died")
        clock.shift(worker.JOB_STUCK_AFTER + timedelta(seconds=1))
        assert worker.sweep()["requeued"] == 1
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"


def test_a_job_still_waiting_in_a_busy_queue_is_left_alone(alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        queued_task(alice)
        clock.shift(worker.JOB_LOOKUP_AFTER + timedelta(seconds=1))
        assert worker.sweep()["requeued"] == 0
        assert DBTaskResult.objects.count() == 1


def test_a_send_interrupted_by_a_crash_says_so_at_once_and_offers_send_again(alice_client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice, submit=False)
        token = task.claim([Task.Status.QUEUED], worker="host-1/1", lease=jobs.submit_lease())
        task.write(token, status=Task.Status.SUBMITTING)
        WorkerHeartbeat.objects.create(name="host-1", seen=timezone.now())
        clock.shift(timedelta(seconds=11))  # the process stopped beating: it is gone
        report = worker.sweep()
    assert report["interrupted"] == 1
    task.refresh_from_db()
    assert (task.status, task.error_code) == ("failed", "interrupted")
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "FoxWeb stopped (a restart or a crash) while it was sending" in page
    assert "may be charged twice" in page
    assert "Send again" in page


def test_a_send_still_within_its_lease_is_not_taken_for_interrupted(alice):
    task = make_task(alice, submit=False)
    token = task.claim([Task.Status.QUEUED], worker="host-2/1", lease=jobs.submit_lease())
    task.write(token, status=Task.Status.SUBMITTING)
    WorkerHeartbeat.beat("host-2")
    assert worker.sweep()["interrupted"] == 0
    task.refresh_from_db()
    assert task.status == "submitting"


def test_an_answer_accepted_after_the_task_was_given_up_is_still_collected(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 2
    task = make_task(alice, submit=False)
    token = jobs.take_slot(task)
    Task.objects.filter(pk=task.pk).update(status="failed", error_code="interrupted", lease_owner="sweeper")
    state = jobs.foxapi.client().submit_vision_task(task.vision_request(), api_key=task.key_secret(for_sending=True))
    task.lease_owner = token
    assert not task.apply(token, state, next_attempt=timezone.now(), upstream_id=state.id, count=False)
    jobs._keep_a_paid_answer(task, state)
    settle()
    task.refresh_from_db()
    assert task.status == "completed"


def test_leases_of_a_dead_worker_are_freed(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice)
        Task.objects.filter(pk=task.pk).update(
            lease_owner="dead-host-9/3:abc", lease_until=timezone.now() + timedelta(minutes=5)
        )
        WorkerHeartbeat.objects.create(name="dead-host-9", seen=timezone.now())
        clock.shift(timedelta(seconds=15))
        assert worker.sweep()["freed"] == 1
        assert not WorkerHeartbeat.objects.filter(name="dead-host-9").exists()
        run_until_idle(clock)
    task.refresh_from_db()
    assert task.status == "completed"


def test_housekeeping_removes_abandoned_uploads_and_old_job_records(alice):
    old = Upload.stage(alice, "old.png", image_bytes())
    fresh = Upload.stage(alice, "fresh.png", image_bytes(colour=(1, 2, 3)))
    Upload.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=2))
    make_task(alice)
    run_due_jobs()
    DBTaskResult.objects.update(finished_at=timezone.now() - timedelta(hours=2))
    worker.housekeeping()
    assert list(Upload.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not old.file.storage.exists(old.file.name)
    assert not DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"]).exists()


def test_the_worker_survives_a_lost_database_connection(caplog):
    runner = worker.Runner(threads=1)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    with time_machine.travel(timezone.now(), tick=False):
        runner.stopping.wait = lambda seconds: False  # no real waiting between attempts
        runner._supervised(flaky, once=True)
    assert len(calls) == 2
    assert "trying again" in caplog.text


@pytest.mark.parametrize(("threads", "cores", "preparing"), [(4, 2, 2), (4, 8, 3), (2, 1, 1), (1, 2, 1)])
def test_threads_beyond_the_cores_only_talk_to_foxapi(monkeypatch, settings, threads, cores, preparing):
    """Preparing a batch's images takes every core; checks and sends of tasks already sent must not
    wait behind it, nor should threads sit holding an image while they wait for a free core."""
    from django_tasks_db.management.commands import db_worker

    settings.FOXWEB_MAX_DECODES = cores
    made = []

    class RecordingWorker:
        def __init__(self, **options):
            made.append(options)

        def run(self):
            pass

    monkeypatch.setattr(db_worker, "Worker", RecordingWorker)
    runner = worker.Runner(threads=threads, handle_signals=False)
    runner.stopping.set()  # each loop runs once
    runner._run_db()
    assert len(made) == threads
    takes_images = [options for options in made if "images" not in options["excluded_queue_names"]]
    assert len(takes_images) == preparing
    assert all(options["queue_names"] == ["*"] for options in made)


def test_healthz_needs_a_recent_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "database": "ok", "worker": "failing"}
    WorkerHeartbeat.beat("host-1")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert client.get("/healthz").status_code == 503


def test_healthz_is_503_when_the_database_fails(client, monkeypatch):
    from vision.views import health

    def broken(*args, **kwargs):
        raise OperationalError("no database")

    monkeypatch.setattr(health.WorkerHeartbeat, "alive", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "failing"


def test_nothing_is_sent_twice_when_a_sweep_and_a_job_race(alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = queued_task(alice)
        jobs.wake(task)  # a second job for the same task, as after a mistaken "lost job"
        jobs.wake(task)
        run_until_idle(clock)
    assert sandbox_task_count() == 1
