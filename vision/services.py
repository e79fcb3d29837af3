"""Creating descriptions: one place that the describe view, the batch view, jobs and tests all call.

Creating a task is quick on purpose: it records what to describe and queues it. Fetching pasted
URLs, preparing images and talking to FoxAPI happen in the worker (vision/jobs.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from vision import alttext, catalog, jobs
from vision.models import ApiKey, ReviewEvent, Task, TaskImage, Team, Upload


@dataclass(frozen=True)
class DescribeOptions:
    """What to ask and who pays: the same for every task of a description or a batch.

    With a `purpose` (alt text, see vision/alttext) the prompt is built from the purpose, the
    language and the context given; `prompt` is then only what the form showed.
    """

    model: str
    prompt: str
    system_prompt: str = ""
    max_tokens: int | None = None
    temperature: float | None = None
    include_reasoning: bool = False
    high_detail: bool = False
    team: Team | None = None
    api_key: ApiKey | None = None
    key_source: str = ""
    preset: str = ""
    purpose: str = ""
    purpose_detail: str = ""
    context: str = ""
    keywords: str = ""
    audience: str = ""
    language: str = ""

    def task_fields(self, *, row_context: str = "", language: str = "") -> dict:
        """The fields of one task; a batch row may bring its own context and language."""
        language = language or self.language
        return {
            "model": self.model,
            "prompt": self.prompt_for(row_context=row_context, language=language),
            "system_prompt": self.system_prompt,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "include_reasoning": self.include_reasoning,
            "high_detail": self.high_detail,
            "team": self.team,
            "api_key": self.api_key,
            "key_source": self.key_source,
            "purpose": self.purpose,
            "purpose_detail": self.purpose_detail,
            "context": self.context,
            "keywords": self.keywords,
            "audience": self.audience,
            "language": language,
            "row_context": row_context,
        }

    @property
    def needs_model(self) -> bool:
        return not self.purpose or alttext.needs_model(self.purpose)

    def prompt_for(self, *, row_context: str = "", language: str = "") -> str:
        """The prompt sent for one image: built for its purpose, or the prompt given plus the row's context."""
        if self.purpose:
            if not alttext.needs_model(self.purpose):
                return alttext.DECORATIVE_REASON
            return alttext.build_prompt(
                self.purpose,
                language=language or alttext.DEFAULT_LANGUAGE,
                action=self.purpose_detail,
                context=self.context,
                keywords=self.keywords,
                audience=self.audience,
                row_context=row_context,
            )
        if not row_context:
            return self.prompt
        return alttext.with_reference(self.prompt, row_context=row_context)

    def batch_fields(self) -> dict:
        fields = self.task_fields()
        for name in ("row_context",):
            fields.pop(name)
        return {**fields, "prompt": self.prompt, "preset": self.preset}


def name_from_url(url: str) -> str:
    """A readable name for a pasted address: its last path part ("banner.jpg"), else its host."""
    parts = urlsplit(url)
    last = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return (last or parts.hostname or "image")[:255]


def create_task(owner, options: DescribeOptions, *, uploads: Sequence[Upload] = (), urls: Iterable[str] = ()) -> Task:
    """Record one description of these images (staged uploads first, then pasted addresses) and queue it."""
    urls = list(urls)
    names = [upload.name for upload in uploads] + urls + [upload.source_url for upload in uploads]
    with transaction.atomic():
        task = Task.objects.create(
            owner=owner, image_names=" ".join(name for name in names if name), **options.task_fields()
        )
        for position, upload in enumerate(uploads):
            TaskImage.from_upload(task, position, upload)
        for position, url in enumerate(urls, start=len(uploads)):
            TaskImage.objects.create(task=task, position=position, name=name_from_url(url), source_url=url)
        if options.needs_model:
            jobs.wake(task, preparing=True)
        else:
            _finish_decorative(task)
            task.refresh_from_db()
    return task


def send_again(task: Task) -> bool:
    """Queue a failed or stopped task again (one click, one send)."""
    with transaction.atomic():
        if not task.send_again():
            return False
        needs_preparing = task.images.filter(file="").exists()
        jobs.wake(task, preparing=needs_preparing)
    return True


# --- Batches ---------------------------------------------------------------------------------------

UNKNOWN_SIZE = (4000, 3000)  # a phone photo: what an address not fetched yet is assumed to be


@dataclass(frozen=True)
class BatchRow:
    """One image of a batch before it is stored: a staged upload, a ZIP member or an address."""

    name: str
    upload: Upload | None = None
    zip_item: object | None = None  # intake.ZipItem
    url: str = ""
    external_id: str = ""
    context: str = ""
    language: str = ""

    @property
    def size(self) -> tuple[int, int] | None:
        if self.upload is not None:
            return self.upload.width, self.upload.height
        if self.zip_item is not None:
            return self.zip_item.width, self.zip_item.height
        return None


def estimate_tokens(options: DescribeOptions, rows: Sequence[BatchRow]) -> int:
    """Tokens sent for these rows (images by the model's own formula, prompts at ~4 characters a token)."""
    total = 0
    for row in rows:
        width, height = row.size or UNKNOWN_SIZE
        prepared = catalog.estimate_prepared_size(options.model, width, height, options.high_detail)
        total += catalog.estimate_image_tokens(options.model, *prepared)
        total += len(options.prompt_for(row_context=row.context, language=row.language)) // 4 + 1
    return total


def create_batch(owner, options: DescribeOptions, rows: Sequence[BatchRow], *, problems: Sequence[str] = ()):
    """A draft batch of one task per row; nothing is queued or sent until `confirm_batch`.

    ZIP members are copied into storage one at a time (never the whole archive in memory); the
    worker decodes and checks each image when the batch runs.
    """
    from vision.models import Batch

    with transaction.atomic():
        batch = Batch.objects.create(
            owner=owner,
            name=_batch_name(rows),
            problems=list(problems)[:1000],
            estimated_tokens=estimate_tokens(options, rows) if options.needs_model else 0,
            **options.batch_fields(),
        )
        for position, row in enumerate(rows):
            fields = options.task_fields(row_context=row.context, language=row.language)
            names = " ".join(value for value in (row.name, row.url, row.external_id) if value)
            task = Task.objects.create(
                owner=owner,
                batch=batch,
                leads_batch=position == 0,
                external_id=row.external_id[:200],
                image_names=names,
                status=Task.Status.DRAFT,
                **fields,
            )
            if row.upload is not None:
                TaskImage.from_upload(task, 0, row.upload)
            elif row.zip_item is not None:
                TaskImage.from_stream(task, 0, row.name, row.zip_item)
            else:
                TaskImage.objects.create(
                    task=task, position=0, name=row.name or name_from_url(row.url), source_url=row.url
                )
            if not options.needs_model:
                _finish_decorative(task)
    return batch


def _batch_name(rows: Sequence[BatchRow]) -> str:
    first = rows[0].name if rows else "images"
    more = len(rows) - 1
    return f"{first} + {more} more" if more > 0 else first


def confirm_batch(batch) -> bool:
    """Send a draft batch: its tasks join the queue (once, however often this is pressed)."""
    from vision.models import Batch

    with transaction.atomic():
        if not Batch.objects.filter(pk=batch.pk, confirmed__isnull=True).update(confirmed=timezone.now()):
            return False
        # `enqueued` says a job is on its way for every row (start_batch's), so the sweeper leaves them
        # to it instead of queueing them a second time while it works through them.
        batch.tasks.filter(status=Task.Status.DRAFT).update(
            status=Task.Status.QUEUED, enqueued=timezone.now(), revision=F("revision") + 1
        )
        jobs.start_batch.enqueue(batch.pk) if jobs.queue_lives_in_the_database() else transaction.on_commit(
            lambda: jobs.start_batch.enqueue(batch.pk)
        )
    batch.refresh_from_db()
    return True


def retry_failed(batch) -> int:
    """Queue every failed or stopped row of a batch again; returns how many."""
    again = 0
    for task in batch.tasks.filter(status__in=(Task.Status.FAILED, Task.Status.CANCELLED)):
        again += send_again(task)
    return again


def review_queue(batch) -> tuple[list[Task], list[Task]]:
    """A batch's alt texts waiting for a person, split into those that pass every check and those with warnings."""
    from vision.batch_exports import attach_checks

    waiting = list(batch.tasks.needs_review().order_by("id"))
    attach_checks(waiting, batch)
    return [task for task in waiting if not task.checks], [task for task in waiting if task.checks]


def approve_passing(batch, user) -> tuple[int, int]:
    """Approve every waiting alt text (suggested or edited) that passes all the checks, each recorded as
    a single approval is (who, when, a ReviewEvent). Returns how many were approved and how many are
    left for a person because of warnings; the caller checks that `user` may review the batch."""
    passing, with_warnings = review_queue(batch)
    approved = sum(task.review(user, ReviewEvent.Action.APPROVED) for task in passing)
    return approved, len(with_warnings)


def stop_rest(batch) -> tuple[int, int]:
    """Stop every row not finished yet: queued ones are never sent. Returns how many were stopped, and how
    many of those FoxAPI already had (it cannot cancel them, so they may still be charged)."""
    stopped = sent = 0
    for task in batch.tasks.filter(status__in=Task.ACTIVE_STATUSES + (Task.Status.DRAFT,)):
        was_sent = task.status in Task.IN_FLIGHT_STATUSES
        if task.stop():
            stopped += 1
            sent += was_sent
    return stopped, sent


def _finish_decorative(task: Task) -> None:
    """A decorative image needs no model: its alt text is empty, and nothing is sent or charged."""
    now = timezone.now()
    Task.objects.filter(pk=task.pk).update(
        status=Task.Status.COMPLETED,
        answer="",
        alt_text="",
        finished=now,
        submitted=None,
        progress=100,
        revision=F("revision") + 1,
    )
    for image in task.images.all():
        image.drop_original()
