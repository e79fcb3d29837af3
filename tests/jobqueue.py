"""Running the worker's jobs inside a test: the real job code, the real database queue, no threads, no sleeping."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone


def run_due_jobs(limit: int = 10_000) -> int:
    """Run, in this thread, every queued job that is due now, as a worker would, until none is due.

    A job that raises fails the test (the worker itself would log it and carry on).
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    ran = 0
    while ran < limit:
        job = DBTaskResult.objects.ready().first()
        if job is None:
            return ran
        job.claim("test-worker")
        worker.run_task(job)
        job.refresh_from_db()
        assert job.status != "FAILED", f"A job failed:\n{job.traceback}"
        ran += 1
    raise AssertionError(f"Still running jobs after {limit}: a job keeps queueing itself now")


def next_job_time():
    from django_tasks_db.models import DBTaskResult

    job = DBTaskResult.objects.filter(status="READY").order_by("run_after").first()
    return job.run_after if job else None


def run_until_idle(clock, *, most: timedelta = timedelta(minutes=30)) -> int:
    """Run due jobs, then move the frozen clock to the next job's time, until no job is left (or `most` passed)."""
    end = timezone.now() + most
    ran = 0
    while True:
        ran += run_due_jobs()
        when = next_job_time()
        if when is None or when > end:
            return ran
        if when > timezone.now():
            clock.move_to(when)


def settle(most: timedelta = timedelta(minutes=30)) -> int:
    """Run every job to the end, on a frozen clock moved from one due job to the next."""
    import time_machine

    with time_machine.travel(timezone.now(), tick=False) as clock:
        return run_until_idle(clock, most=most)
