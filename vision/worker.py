"""The worker process: threads that run queued jobs, and a sweeper on a timer that keeps them honest.

`python manage.py worker` runs it. With the database queue (FOXWEB_TASK_BACKEND=db) it runs
FOXWEB_WORKER_THREADS loops of django-tasks-db's worker; with RQ it runs an RQ worker. Beside them,
the sweeper, every second:

- beats (WorkerHeartbeat), so /healthz and other workers know this process is alive;
- frees the leases of worker processes whose heartbeat stopped (a crash, kill -9), and turns a
  send that such a process left half-done into a plain "interrupted" failure at once;
- finds active tasks whose job went missing (a crash, a lost queue, a job stuck RUNNING in
  django-tasks-db) and queues them again;
- wakes queued tasks when their key has free slots (vision.jobs.dispatch);
- now and then removes finished job records and uploads abandoned for a day.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks.exceptions import TaskResultDoesNotExist

from vision import images, jobs
from vision.models import Task, Upload, WorkerHeartbeat
from vision.models.tasks import INTERRUPTED_MESSAGE

log = logging.getLogger(__name__)

SWEEP_EVERY = 1.0  # seconds
# A worker process whose heartbeat is older than this is dead: its leases are freed.
PROCESS_DEAD_AFTER = timedelta(seconds=10)
# A task whose job was queued this long ago and has not moved is looked up in the queue.
JOB_LOOKUP_AFTER = timedelta(seconds=30)
# A job the queue says is RUNNING, with no live lease on its task for this long, is stuck.
JOB_STUCK_AFTER = timedelta(minutes=2)
HOUSEKEEPING_EVERY = timedelta(minutes=10)
JOB_RECORDS_KEPT = timedelta(hours=1)


def sweep(now=None) -> dict[str, int]:
    """One round of the sweeper; returns how many tasks each part touched (for logs and tests)."""
    now = now or timezone.now()
    report = {"freed": free_dead_leases(now), "interrupted": fail_interrupted_sends(now)}
    report["requeued"] = requeue_lost_jobs(now)
    report["dispatched"] = jobs.dispatch()
    return report


def free_dead_leases(now) -> int:
    """Expire the leases held by worker processes that stopped beating, and queue their steps again.

    A send left half-done is not queued again: fail_interrupted_sends() says what happened instead.
    """
    freed = 0
    for dead in WorkerHeartbeat.objects.filter(seen__lt=now - PROCESS_DEAD_AFTER):
        held = Task.objects.filter(lease_owner__startswith=f"{dead.name}/", lease_until__gt=now)
        orphans = list(held.exclude(status=Task.Status.SUBMITTING))
        freed += held.update(lease_until=now)
        for task in orphans:
            jobs.wake(task, preparing=task.status == Task.Status.QUEUED)
        log.warning("Worker %s stopped beating; freed %d of its tasks", dead.name, freed)
        dead.delete()
    return freed


def fail_interrupted_sends(now) -> int:
    """A send whose lease ran out never came back: FoxAPI may or may not have the task."""
    interrupted = 0
    for task in Task.objects.filter(status=Task.Status.SUBMITTING, lease_until__lte=now):
        if task.fail(task.lease_owner, "interrupted", INTERRUPTED_MESSAGE):
            interrupted += 1
            log.warning("Task %s was interrupted while being sent", task.pk)
    return interrupted


def requeue_lost_jobs(now) -> int:
    """Queue again the active tasks that no job will move: never queued, lost, or stuck."""
    unleased = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    requeued = 0
    # Running upstream, or with images to prepare, and no job noted: a crash between two steps.
    orphans = Task.objects.filter(unleased, enqueued__isnull=True).filter(
        Q(status__in=Task.UPSTREAM_STATUSES) | Q(status=Task.Status.QUEUED, images__file="")
    )
    for task in orphans.distinct()[:500]:
        jobs.wake(task, run_after=task.next_attempt, preparing=task.status == Task.Status.QUEUED)
        requeued += 1
    # A job noted a while ago: ask the queue whether it is still coming.
    overdue = list(Task.objects.active().filter(unleased, enqueued__lt=now - JOB_LOOKUP_AFTER)[:500])
    coming = _jobs_still_coming(overdue, now)
    Task.objects.filter(pk__in=coming).update(enqueued=now)  # look again later
    for task in overdue:
        if task.pk in coming:
            continue
        log.warning("The queued job of task %s was lost; queueing it again", task.pk)
        preparing = task.status == Task.Status.QUEUED and task.images.filter(file="").exists()
        jobs.wake(
            task,
            run_after=task.next_attempt if task.next_attempt and task.next_attempt > now else None,
            preparing=preparing,
        )
        requeued += 1
    return requeued


def _jobs_still_coming(tasks: list[Task], now) -> set[int]:
    """The tasks whose queued job will still run: READY, or RUNNING recently on a live worker.

    The database queue is asked once for all of them; another backend, job by job.
    """
    ids = [task.job_id for task in tasks if task.job_id]
    found: dict[str, tuple] = {}
    if settings.FOXWEB_TASK_BACKEND == "db":
        from django_tasks_db.models import DBTaskResult

        for job_id, status, started, workers in DBTaskResult.objects.filter(id__in=ids).values_list(
            "id", "status", "started_at", "worker_ids"
        ):
            found[str(job_id)] = (status, started, workers)
    else:
        for job_id in ids:
            try:
                result = default_task_backend.get_result(job_id)
            except (TaskResultDoesNotExist, ValueError):
                continue
            found[job_id] = (result.status, result.last_attempted_at or result.started_at, result.worker_ids)
    return {task.pk for task in tasks if task.job_id in found and _is_coming(*found[task.job_id], now)}


def _is_coming(status, started, workers, now) -> bool:
    if status == TaskResultStatus.READY:
        return True
    if status == TaskResultStatus.RUNNING:
        return started is not None and started > now - JOB_STUCK_AFTER and _runs_on_a_live_worker(workers)
    return False  # finished without leaving a next step: lost


def _runs_on_a_live_worker(worker_ids: list[str]) -> bool:
    """Whether the job's last worker belongs to a process that still beats (a crashed one does not)."""
    if not worker_ids:
        return False
    process = worker_ids[-1].rsplit("/", 1)[0]
    return WorkerHeartbeat.objects.filter(name=process, seen__gte=timezone.now() - PROCESS_DEAD_AFTER).exists()


def housekeeping(now=None) -> None:
    """Remove finished job records and uploads abandoned for a day; forget long-dead workers."""
    now = now or timezone.now()
    if settings.FOXWEB_TASK_BACKEND == "db":
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.finished().filter(finished_at__lt=now - JOB_RECORDS_KEPT).delete()
    removed = Upload.remove_abandoned(now)
    if removed:
        log.info("Removed %d abandoned uploads", removed)
    WorkerHeartbeat.forget_stale()


def preparing_threads(threads: int) -> int:
    """How many of a worker's job threads may prepare images: one per decoding slot (a core), and
    at least one thread left for FoxAPI's jobs (sends and checks).

    Preparing a batch keeps every core busy. A thread beyond the cores that took an image job would
    only wait for a decoding slot, holding its image in memory, while checks of tasks already sent
    wait behind it and their in-flight slots stay taken longer.
    """
    return max(1, min(images.max_decodes(), threads - 1))


class Runner:
    """One worker process: job threads (or an RQ worker) and the sweeper; SIGINT/SIGTERM stop it cleanly."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        sweep_every: float = SWEEP_EVERY,
        burst: bool = False,
        handle_signals: bool = True,
    ):
        self.threads = threads or settings.FOXWEB_WORKER_THREADS
        self.sweep_every = sweep_every
        self.burst = burst
        self.handle_signals = handle_signals  # only the main thread of a process may
        self.name = jobs.process_name()
        self.stopping = threading.Event()
        self.db_workers: list = []

    def run(self) -> None:
        log.info("FoxWeb worker %s starting (%s queue)", self.name, settings.FOXWEB_TASK_BACKEND)
        sweeper = threading.Thread(target=self._sweep_forever, name="sweeper", daemon=True)
        sweeper.start()
        try:
            if settings.FOXWEB_TASK_BACKEND == "rq":
                self._run_rq()
            else:
                self._run_db()
        finally:
            self.stopping.set()
            sweeper.join(timeout=5)
            self._supervised(lambda: WorkerHeartbeat.objects.filter(name=self.name).delete(), once=True)
            log.info("FoxWeb worker %s stopped", self.name)

    def stop(self, *args) -> None:
        if not self.stopping.is_set():
            log.info("Stopping: finishing the jobs in hand…")
        self.stopping.set()
        for worker in self.db_workers:
            worker.running = False

    # The database queue ---------------------------------------------------------------------

    def _run_db(self) -> None:
        if self.handle_signals:
            signal.signal(signal.SIGINT, self.stop)
            signal.signal(signal.SIGTERM, self.stop)
        preparing = preparing_threads(self.threads)
        threads = [
            threading.Thread(
                target=self._db_loop, args=(number, number >= preparing), name=f"jobs-{number}", daemon=True
            )
            for number in range(self.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)

    def _db_loop(self, number: int, foxapi_only: bool = False) -> None:
        from django_tasks_db.management.commands import db_worker

        worker = db_worker.Worker(
            queue_names=["*"],
            interval=0.2,
            batch=self.burst,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{self.name}/{number}",
            excluded_queue_names=["images"] if foxapi_only else [],
        )
        self.db_workers.append(worker)
        try:
            self._supervised(worker.run, once=self.burst)
        finally:
            connection.close()  # this thread's own connection

    # RQ ---------------------------------------------------------------------------------------

    def _run_rq(self) -> None:
        import django_rq
        from rq import SimpleWorker

        worker = django_rq.get_worker(
            *settings.TASK_QUEUES, job_class="django_tasks_rq.backend.Job", worker_class=SimpleWorker
        )
        self._supervised(lambda: worker.work(with_scheduler=True, burst=self.burst), once=True)

    # The sweeper ------------------------------------------------------------------------------

    def _sweep_forever(self) -> None:
        last_housekeeping = None

        def one_round():
            nonlocal last_housekeeping
            WorkerHeartbeat.beat(self.name)
            sweep()
            now = timezone.now()
            if last_housekeeping is None or now - last_housekeeping > HOUSEKEEPING_EVERY:
                housekeeping(now)
                last_housekeeping = now

        try:
            while not self.stopping.is_set():
                self._supervised(one_round, once=True)
                self.stopping.wait(self.sweep_every)
        finally:
            connection.close()

    def _supervised(self, work, *, once: bool = False) -> None:
        """Run `work`, surviving lost database and queue connections: log, reconnect, back off, go on."""
        delay = 1.0
        while True:
            try:
                work()
                delay = 1.0
            except Exception:
                log.exception("The worker hit a problem; trying again in %.0f s", delay)
                close_old_connections()
                if self.stopping.wait(delay):
                    return
                delay = min(delay * 2, 30.0)
                continue
            finally:
                close_old_connections()
            if once or self.stopping.is_set():
                return
            if self.burst:
                return
