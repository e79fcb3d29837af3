"""Work outside requests: every FoxAPI call and every pasted-URL fetch happens here, in the worker.

The web side creates a task and calls `wake()`; a job then takes the task's next step:

- QUEUED, images not ready: fetch pasted URLs and prepare the images (nothing is sent yet);
- QUEUED, images ready: send it, when its key has a free slot (FOXWEB_MAX_IN_FLIGHT_PER_KEY) and
  FoxAPI has not asked that key to back off;
- PENDING / PROCESSING: ask FoxAPI how it is going, at FoxAPI's pace (quick at first, backing off,
  Retry-After honoured), whoever is watching.

FoxWeb's Task row is the source of truth and the queue only wakes the worker: each step claims
the task with a lease, writes fenced by it, and decides the next step. Jobs that go missing (a
crashed worker, a lost queue) are found again by `sweep()` in vision/worker.py.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django_tasks import default_task_backend, task

from vision import catalog, fetch, foxapi, images
from vision.models import KeyThrottle, Task
from vision.models.tasks import NOTHING_SENT

log = logging.getLogger(__name__)

PREPARE_LEASE = timedelta(minutes=5)
CHECK_LEASE = timedelta(seconds=foxapi.QUICK_TIMEOUT + 15)
# FoxAPI's requests stay under about 20 MB (contract, section 5); leave room for the rest of the body.
MAX_REQUEST_BYTES = 19_000_000
LONGEST_BACKOFF = 300.0  # seconds; a longer Retry-After is capped here


def process_name() -> str:
    """This worker process, as its heartbeat names it: host and process id."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


def worker_name() -> str:
    """Who holds a lease: process and thread, so the sweeper can free the leases of a dead process."""
    return f"{process_name()}/{threading.get_ident() % 1_000_000}"


def submit_lease() -> timedelta:
    """Outlasts the slowest accepted submit, so a live submit is never taken for an interrupted one."""
    return timedelta(seconds=settings.FOXAPI_SUBMIT_TIMEOUT + 30)


# --- Queueing -----------------------------------------------------------------------------------


@task(queue_name="foxapi")
def advance_task(task_id: int) -> None:
    """The one job: take whatever step the task needs next."""
    task_ = Task.objects.select_related("api_key", "owner").filter(pk=task_id).first()
    if task_ is None or not task_.is_active:
        return
    if task_.status == Task.Status.QUEUED:
        if task_.images.filter(file="").exists() and not prepare(task_):
            return
        send(task_)
    elif task_.status in Task.UPSTREAM_STATUSES:
        check(task_)


@task(queue_name="images")
def start_batch(batch_id: int) -> None:
    """A confirmed batch: queue the preparation of every row not queued yet (no job id).

    If this job is lost, the sweeper finds the rows after JOB_LOOKUP_AFTER, as they name no job.
    """
    for task_ in Task.objects.filter(batch_id=batch_id, status=Task.Status.QUEUED, job_id="").iterator():
        wake(task_, preparing=True)


def wake(task_: Task, *, run_after=None, preparing: bool = False) -> None:
    """Queue a job for the task's next step (at `run_after`), and note it on the task.

    Preparing images is slow and goes to the "images" queue at a low priority, so that checks and
    sends of running tasks are never stuck behind a batch's preparation.
    """
    job = advance_task.using(queue_name="images" if preparing else "foxapi", run_after=run_after)
    if default_task_backend.supports_priority:
        job = job.using(priority=-10 if preparing else 10)
    if run_after is not None and not default_task_backend.supports_defer:
        job = job.using(run_after=None)

    def enqueue():
        result = job.enqueue(task_.pk)
        Task.objects.filter(pk=task_.pk).update(job_id=result.id[:64], enqueued=timezone.now())

    if queue_lives_in_the_database():
        enqueue()  # in the same transaction as the task: both exist, or neither
    else:
        Task.objects.filter(pk=task_.pk).update(enqueued=timezone.now())
        transaction.on_commit(enqueue)  # the worker must find the task when the job arrives


def queue_lives_in_the_database() -> bool:
    return settings.FOXWEB_TASK_BACKEND == "db"


def _done_waking(task_: Task) -> None:
    """This job's step is over and no job is queued for the task: dispatch or the sweeper wakes it."""
    Task.objects.filter(pk=task_.pk).update(enqueued=None, job_id="")


# --- Preparing ------------------------------------------------------------------------------------


def prepare(task_: Task) -> bool:
    """Fetch and prepare the task's images; False if the task failed (nothing was sent) or is not ours."""
    token = task_.claim([Task.Status.QUEUED], worker=worker_name(), lease=PREPARE_LEASE, due_only=False)
    if token is None:
        return False
    try:
        waiting = [image for image in task_.images.all() if not image.is_prepared]
        sources: list[bytes | None] = []
        problems: list[str] = []
        for image in waiting:
            if image.original:
                sources.append(image.read_original())
                continue
            try:
                sources.append(fetch.fetch_image(image.source_url).data)
            except fetch.FetchError as error:
                sources.append(None)
                image.error = error.user_message[:500]
                image.save(update_fields=["error"])
                problems.append(f"{image.name}: {error.user_message}")  # the address's own last part
        if problems:
            task_.fail(token, "image_problem", _nothing_sent(problems))
            return False
        policy = catalog.size_policy(task_.model, high_detail=task_.high_detail)
        prepared = images.prepare_images([data for data in sources if data is not None], policy)
        for image, result in zip(waiting, prepared, strict=True):
            if isinstance(result, images.ImageError):
                image.error = result.user_message[:500]
                image.save(update_fields=["error"])
                problems.append(f"{image.name}: {result.user_message}")
        if problems:
            task_.fail(token, "image_problem", _nothing_sent(problems))
            return False
        for image, result in zip(waiting, prepared, strict=True):
            image.store_prepared(result)
        total = sum(4 * image.bytes // 3 for image in task_.images.all())
        if total > MAX_REQUEST_BYTES:
            message = (
                f"Together these images are too large to send ({total / 1e6:.1f} MB of at most "
                f"{MAX_REQUEST_BYTES / 1e6:.0f} MB). Describe fewer at once, or turn off High detail."
            )
            task_.fail(token, "too_large", _nothing_sent([message]))
            return False
        return task_.release(token, seen=False)  # prepared: the card still says it waits to be sent
    except Exception:
        log.exception("Preparing the images of task %s failed", task_.pk)
        task_.fail(
            token,
            "internal_error",
            "FoxWeb could not prepare the images because of a problem on its side. "
            f"{NOTHING_SENT} Try again; if it keeps happening, tell your administrator.",
        )
        return False


def _nothing_sent(problems: list[str]) -> str:
    return " ".join(problems) + f" {NOTHING_SENT}"


# --- Sending --------------------------------------------------------------------------------------


def _same_key(key_ref: str) -> Q:
    if key_ref.startswith("key:"):
        return Q(api_key_id=int(key_ref[4:]))
    return Q(api_key__isnull=True, key_source=key_ref)


def take_slot(task_: Task) -> str | None:
    """Claim a queued task for sending if its key has a free slot and no back-off; returns the lease token.

    The key's throttle row is locked meanwhile, so two workers cannot both take the last slot.
    """
    now = timezone.now()
    with transaction.atomic():
        throttle, _ = KeyThrottle.objects.select_for_update().get_or_create(key_ref=task_.key_ref)
        if throttle.until and throttle.until > now:
            Task.objects.filter(pk=task_.pk, status=Task.Status.QUEUED).update(next_attempt=throttle.until)
            return None
        busy = Task.objects.filter(_same_key(task_.key_ref), status__in=Task.IN_FLIGHT_STATUSES).count()
        if busy >= settings.FOXWEB_MAX_IN_FLIGHT_PER_KEY:
            return None
        token = task_.claim([Task.Status.QUEUED], worker=worker_name(), lease=submit_lease())
        # Sending takes a moment: the card keeps saying "waiting to be sent" until FoxAPI has the task.
        if token and not task_.write(token, seen=False, status=Task.Status.SUBMITTING):
            return None
        return token


def send(task_: Task) -> None:
    """Send a prepared, queued task to FoxAPI, or leave it queued for later."""
    token = take_slot(task_)
    if token is None:
        task_.refresh_from_db(fields=["status", "next_attempt"])
        if task_.status == Task.Status.QUEUED and task_.next_attempt and task_.next_attempt > timezone.now():
            wake(task_, run_after=task_.next_attempt)  # the key is backing off: try at the end of it
        else:
            _done_waking(task_)  # waiting for a free slot: dispatch wakes it
        return
    try:
        request = task_.vision_request()
        secret = task_.key_secret(for_sending=True)
    except foxapi.FoxAPIError as error:
        task_.fail(token, error.short_code, f"{error.user_message} {NOTHING_SENT}")
        dispatch(task_.key_ref)
        return
    except Exception:
        log.exception("Task %s could not be made ready to send", task_.pk)
        task_.fail(
            token,
            "internal_error",
            f"FoxWeb could not send this description because of a problem on its side. {NOTHING_SENT} "
            "Try again; if it keeps happening, tell your administrator.",
        )
        dispatch(task_.key_ref)
        return
    try:
        state = _submit(request, secret)
    except (foxapi.RateLimited, foxapi.ServiceError, foxapi.Unreachable) as error:
        # FoxAPI refused or was never reached: it created nothing, so sending again is safe.
        task_.note_key_outcome(None if isinstance(error, foxapi.Unreachable) else error)
        _send_later(task_, token, error)
        return
    except foxapi.AnswerLost as error:
        task_.fail(
            token,
            "answer_lost",
            f"{error.user_message} FoxWeb will not send it again by itself; use “Send again” if you are "
            "sure, or check your FoxAPI account first.",
        )
        dispatch(task_.key_ref)
        return
    except foxapi.FoxAPIError as error:
        task_.note_key_outcome(error)
        task_.fail(token, error.short_code, error.user_message)
        dispatch(task_.key_ref)
        return
    except Exception:
        # Something of ours broke after the request may have gone out: never resend blindly.
        log.exception("Sending task %s failed unexpectedly", task_.pk)
        task_.fail(token, "answer_lost", foxapi.AnswerLost.default_message)
        dispatch(task_.key_ref)
        return
    task_.note_key_outcome(None)
    KeyThrottle.objects.filter(key_ref=task_.key_ref).update(strikes=0)
    now = timezone.now()
    # Quick at first: many descriptions take a few seconds, so the first look comes after half an interval,
    # the next ones a whole interval apart (at 2 s: 1, 3, 5… s after sending, FoxAPI's suggested pace).
    first_check = now + timedelta(seconds=settings.FOXWEB_CHECK_FIRST_SECONDS / 2)
    applied = task_.apply(token, state, next_attempt=first_check, upstream_id=state.id, submitted=now, count=False)
    if not applied:
        _keep_a_paid_answer(task_, state)
        return
    if state.is_terminal:
        dispatch(task_.key_ref)
    else:
        wake(task_, run_after=first_check)


def _submit(request: foxapi.VisionRequest, secret: str) -> foxapi.TaskState:
    """Submit; a model that may need the reasoning flag (the contract names gemini-2.5-pro) and refused
    the request without it is asked once more with it. A 422 creates nothing, so this cannot charge twice."""
    client = foxapi.client()
    try:
        return client.submit_vision_task(request, api_key=secret)
    except foxapi.RequestRejected as error:
        if error.status != 422 or request.include_reasoning or not catalog.get(request.model).may_need_reasoning_flag:
            raise
        log.info("FoxAPI refused a %s request without the reasoning flag; sending it with the flag", request.model)
        return client.submit_vision_task(dataclasses.replace(request, include_reasoning=True), api_key=secret)


def _keep_a_paid_answer(task_: Task, state: foxapi.TaskState) -> None:
    """Our lease was taken while FoxAPI accepted the task: if the task was given up as interrupted
    (not stopped by its owner), take the accepted task back, so its answer is not lost."""
    revived = Task.objects.filter(pk=task_.pk, status=Task.Status.FAILED, error_code="interrupted").update(
        status=Task.Status.PENDING,
        upstream_id=state.id,
        submitted=timezone.now(),
        error_code="",
        error_message="",
        finished=None,
        next_attempt=timezone.now(),
        lease_owner="",
        lease_until=None,
        revision=F("revision") + 1,
    )
    if revived:
        log.warning("Task %s was accepted by FoxAPI after it was given up; collecting it after all", task_.pk)
        task_.refresh_from_db()
        wake(task_)


def _send_later(task_: Task, token: str, error: foxapi.FoxAPIError) -> None:
    """Put a refused send back in the queue after a pause (Retry-After, else exponential with jitter).

    A 429 pauses every send of the same key (KeyThrottle). A task refused for longer than
    FOXWEB_SEND_GIVE_UP_AFTER seconds fails plainly; nothing was charged.
    """
    now = timezone.now()
    first_refused = task_.first_refused or now
    if now - first_refused > timedelta(seconds=settings.FOXWEB_SEND_GIVE_UP_AFTER):
        minutes = round(settings.FOXWEB_SEND_GIVE_UP_AFTER / 60)
        task_.fail(
            token,
            error.short_code,
            f"FoxAPI stayed too busy to take this description for {minutes} minutes. {NOTHING_SENT} "
            "Send it again later.",
        )
        dispatch(task_.key_ref)
        return
    attempts = task_.send_attempts + 1
    until = now + _backoff(attempts, error.retry_after)
    if isinstance(error, foxapi.RateLimited):
        with transaction.atomic():
            throttle, _ = KeyThrottle.objects.select_for_update().get_or_create(key_ref=task_.key_ref)
            throttle.strikes += 1
            throttle.until = max(throttle.until or now, now + _backoff(throttle.strikes, error.retry_after))
            throttle.save()
            until = max(until, throttle.until)
    problem = "FoxAPI is busy right now, so FoxWeb will send this again by itself in a moment. Nothing was charged."
    task_.release(
        token,
        status=Task.Status.QUEUED,
        send_attempts=attempts,
        first_refused=first_refused,
        next_attempt=until,
        check_problem=problem,
    )
    wake(task_, run_after=until)


def _backoff(attempt: int, retry_after: float | None) -> timedelta:
    """Exponential with jitter (1, 2, 4… seconds, at most a minute), never shorter than Retry-After."""
    delay = min(60.0, 2.0 ** max(attempt - 1, 0)) * random.uniform(0.75, 1.25)
    if retry_after is not None:
        delay = max(delay, min(retry_after, LONGEST_BACKOFF))
    return timedelta(seconds=delay)


# --- Checking -------------------------------------------------------------------------------------


QUICK_CHECKS_FOR = 30.0  # seconds after sending: most descriptions finish within this, so check often


def check_interval(task_: Task, now=None) -> float:
    """Seconds until the next check of a running task: every FOXWEB_CHECK_FIRST_SECONDS for the first
    half-minute (so an answer shows soon after the model wrote it), then backing off for long tasks."""
    first, most = settings.FOXWEB_CHECK_FIRST_SECONDS, settings.FOXWEB_CHECK_MAX_SECONDS
    elapsed = ((now or timezone.now()) - (task_.submitted or task_.created)).total_seconds()
    return min(most, first + max(elapsed - QUICK_CHECKS_FOR, 0) / 10)


def next_check_time(task_: Task, now):
    """When to ask next: one interval after this check was planned, so the pace does not drift by the
    queue's delays, but never sooner than half an interval from now."""
    interval = timedelta(seconds=check_interval(task_, now))
    planned = task_.next_attempt if task_.next_attempt and task_.next_attempt <= now else now
    return max(planned + interval, now + interval / 2)


def check(task_: Task) -> None:
    """Ask FoxAPI about a running task and store what it says; one upstream GET per due check.

    Errors the contract says are worth retrying (429, 500, 503, the network) and a low balance (the
    task is paid for already) keep the task waiting; other refusals end it with a plain message, as
    does FoxAPI never finishing within FOXWEB_CHECK_GIVE_UP_AFTER.
    """
    token = task_.claim(Task.UPSTREAM_STATUSES, worker=worker_name(), lease=CHECK_LEASE)
    if token is None:
        return
    now = timezone.now()
    next_check = next_check_time(task_, now)
    overdue = now - (task_.submitted or task_.created) > timedelta(seconds=settings.FOXWEB_CHECK_GIVE_UP_AFTER)
    try:
        state = _read_task(task_)
    except foxapi.TaskNotFound:
        task_.fail(token, "not_found", "FoxAPI no longer has a record of this task. Please send it again.")
    except foxapi.KeyRejected as error:
        task_.note_key_outcome(error)
        task_.fail(token, error.short_code, error.user_message)
    except Exception as error:
        if (
            isinstance(error, foxapi.FoxAPIError)
            and not error.retryable
            and not isinstance(error, foxapi.QuotaExhausted)
        ):
            task_.fail(token, error.short_code, _refused_check_message(error))
            dispatch(task_.key_ref)
            return
        if overdue:
            task_.fail(token, "gave_up", _gave_up_message())
            dispatch(task_.key_ref)
            return
        if not isinstance(error, foxapi.FoxAPIError):
            log.exception("Checking task %s failed unexpectedly", task_.pk)
        if isinstance(error, foxapi.QuotaExhausted):  # the answer is paid for: wait for a top-up, slowly
            task_.note_key_outcome(error)
            next_check = max(next_check, now + timedelta(seconds=LONGEST_BACKOFF))
        if getattr(error, "retry_after", None):
            next_check = max(next_check, now + timedelta(seconds=min(error.retry_after, LONGEST_BACKOFF)))
        problem = _check_problem(error)
        task_.release(
            token,
            seen=problem != task_.check_problem,
            check_problem=problem,
            next_attempt=next_check,
            upstream_checks=task_.upstream_checks + 1,
        )
        wake(task_, run_after=next_check)
        return
    else:
        if overdue and not state.is_terminal:
            task_.fail(token, "gave_up", _gave_up_message())
        else:
            task_.apply(token, state, next_attempt=next_check)
            if not state.is_terminal:
                wake(task_, run_after=next_check)
                return
    dispatch(task_.key_ref)


def _read_task(task_: Task) -> foxapi.TaskState:
    """GET the task; "completed" without a result is asked once more, telling FoxAPI to refresh it."""
    client, secret = foxapi.client(), task_.key_secret(for_sending=False)
    state = client.get_task(task_.upstream_id, api_key=secret, quick=True)
    if state.status == "completed" and state.completion is None:
        state = client.get_task(task_.upstream_id, api_key=secret, quick=True, sync_upstream=True)
    return state


def _refused_check_message(error: foxapi.FoxAPIError) -> str:
    if isinstance(error, foxapi.WrongAddress | foxapi.NotSent):
        return error.user_message
    said = f" (it said: {error.detail})" if error.detail else ""
    return (
        f"FoxAPI refused to tell FoxWeb how this description is going{said}, so FoxWeb stopped waiting for it. "
        "FoxAPI may still finish it, and charge; send it again if you need it."
    )


def _gave_up_message() -> str:
    minutes = round(settings.FOXWEB_CHECK_GIVE_UP_AFTER / 60)
    return (
        f"FoxAPI had not finished this description after {minutes} minutes, so FoxWeb stopped waiting for it. "
        "FoxAPI may still finish it, and charge; send it again if you need it."
    )


def _check_problem(error: Exception) -> str:
    """A passing problem, said so that nobody thinks they must act: FoxWeb keeps checking by itself."""
    if isinstance(error, foxapi.QuotaExhausted):
        return (
            "FoxAPI says the balance of this key's account is too low to show the answer. FoxWeb keeps "
            "checking by itself; topping up the account lets the answer through."
        )
    if isinstance(error, foxapi.RateLimited):
        reason = "FoxAPI asked FoxWeb to slow down"
    elif isinstance(error, foxapi.FoxAPIError):
        reason = "FoxAPI could not be asked just now"
    else:
        reason = "FoxWeb had a problem checking just now"
    return f"{reason}. FoxWeb keeps checking by itself; there is nothing you need to do."


# --- Dispatching ----------------------------------------------------------------------------------


def dispatch(key_ref: str | None = None) -> int:
    """Wake queued tasks that may be sent now: per key, the oldest ones, as many as it has free slots.

    Called when a slot frees (a task of the key finished) and by the sweeper. Tasks with a job
    already queued are left alone; waking is only a hint, as sending claims the slot itself.
    """
    now = timezone.now()
    waiting = Task.objects.filter(status=Task.Status.QUEUED, enqueued__isnull=True).filter(
        Q(next_attempt__isnull=True) | Q(next_attempt__lte=now)
    )
    if key_ref is not None:
        waiting = waiting.filter(_same_key(key_ref))
    keys = waiting.values("api_key_id", "key_source").annotate(count=Count("id"))
    woken = 0
    for group in keys:
        ref = f"key:{group['api_key_id']}" if group["api_key_id"] else group["key_source"] or "none"
        throttle = KeyThrottle.objects.filter(key_ref=ref, until__gt=now).first()
        if throttle:
            continue
        busy = Task.objects.filter(_same_key(ref), status__in=Task.IN_FLIGHT_STATUSES).count()
        free = settings.FOXWEB_MAX_IN_FLIGHT_PER_KEY - busy
        if free <= 0:
            continue
        for task_ in waiting.filter(_same_key(ref)).order_by("id")[:free]:
            wake(task_)
            woken += 1
    return woken
