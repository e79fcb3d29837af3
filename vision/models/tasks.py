"""Description tasks and their images: FoxWeb's own record of every request, the source of truth.

A task moves QUEUED → SUBMITTING → PENDING → PROCESSING → COMPLETED (or FAILED / CANCELLED). The
web side only creates tasks and reads them; the worker (vision/jobs.py) does every step that talks
to FoxAPI or fetches a URL. A worker takes a step by claiming the task with one conditional UPDATE
that records a lease (a unique token and an expiry); every write that ends the step names that
token, so a worker whose lease was taken over can never overwrite a newer result (fencing).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import connection, models
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from vision import foxapi, keyvault
from vision.models.keys import KEY_ORGANISATION, KEY_SANDBOX, ApiKey, key_label
from vision.models.teams import Membership, Team, shared_with

log = logging.getLogger(__name__)

NOTHING_SENT = "Nothing was sent to FoxAPI, so nothing was charged."
INTERRUPTED_MESSAGE = (
    "FoxWeb stopped (a restart or a crash) while it was sending this description, before FoxAPI confirmed it. "
    "FoxAPI may or may not have received it, so sending it again may be charged twice."
)
# The status card moves its progress bar at half-way: finer changes are stored, but
# do not change the card's ETag, so the pages watching it keep getting cheap 304s.
PROGRESS_STEP = 50
# The error code of a task its owner stopped. FoxAPI can also end a task as `cancelled` (the contract
# lists the status, though there is no cancel call), and that must not read as the owner's Stop.
STOPPED_BY_USER = "stopped"
STOPPED_BEFORE_SENDING = "You stopped this description before it was sent. " + NOTHING_SENT
STOPPED_WHILE_RUNNING = (
    "You stopped waiting for this description. FoxAPI cannot cancel a task once it has it, so the model "
    "may still finish it and charge for it; FoxWeb will not collect the answer."
)


class ReviewState(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    EDITED = "edited", "Edited"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


NOT_YET_REVIEWED = (ReviewState.SUGGESTED, ReviewState.EDITED)


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user, *, one_query: bool = False) -> TaskQuerySet:
        """The tasks a user may see: their own, and those shared with a team they belong to.

        Every view that shows a task, its status, its images or an export starts here. With
        `one_query`, the rule is a single statement (see shared_with), for looking up one task by
        its id: the status card, which every viewer polls, then costs one round trip.
        """
        rule = shared_with(user, one_query=one_query)
        return self.none() if rule is None else self.filter(rule)

    def search(self, text: str) -> TaskQuerySet:
        """Tasks whose prompt, answer, image names or image addresses contain every word of `text`.

        On PostgreSQL this matches the stored `search_vector` column (see the migrations):
        PostgreSQL picks its GIN index for rare words, or walks the newest tasks for common ones,
        and never parses a row's text at query time.
        """
        words = re.findall(r"\w+", text.lower())[:10]
        if not words:
            return self
        if connection.vendor == "postgresql":
            # Whole words, and the last one may be a beginning ("lem" finds "lemons").
            query = " & ".join([*words[:-1], f"{words[-1]}:*"])
            matches = RawSQL('"vision_task"."search_vector" @@ to_tsquery(\'simple\', %s)', [query], BooleanField())
            return self.alias(search_matches=matches).filter(search_matches=True)
        for word in words:
            self = self.filter(Q(prompt__icontains=word) | Q(answer__icontains=word) | Q(image_names__icontains=word))
        return self

    def active(self) -> TaskQuerySet:
        return self.filter(status__in=Task.ACTIVE_STATUSES)

    def needs_review(self) -> TaskQuerySet:
        """Finished alt texts no one has approved or rejected yet: the model's suggestions and people's edits.

        A decorative image's empty alt needs no one (it offers nothing to approve).
        """
        return self.filter(status=Task.Status.COMPLETED, review_state__in=NOT_YET_REVIEWED).exclude(
            purpose__in=("", "decorative")
        )


class Task(models.Model):
    """One request to describe images, and everything FoxAPI said about it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Not sent yet"
        QUEUED = "queued", "Waiting to be sent"
        SUBMITTING = "submitting", "Sending"
        PENDING = "pending", "Waiting in line"
        PROCESSING = "processing", "Describing"
        COMPLETED = "completed", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Stopped"

    ACTIVE_STATUSES = (Status.QUEUED, Status.SUBMITTING, Status.PENDING, Status.PROCESSING)
    # Sent (or being sent) and not finished: these count against a key's in-flight limit.
    IN_FLIGHT_STATUSES = (Status.SUBMITTING, Status.PENDING, Status.PROCESSING)
    UPSTREAM_STATUSES = (Status.PENDING, Status.PROCESSING)
    TERMINAL_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks", help_text="Shared with"
    )
    # Which key paid: one of ours (by reference, never a copy), or the organisation or sandbox key.
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    key_source = models.CharField(max_length=20, blank=True)
    # The unguessable token of the read-only public link, while the owner keeps it open.
    share_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # Whether readers of the public link may open the full-size images (thumbnails they always see).
    public_full_images = models.BooleanField(default=False)
    model = models.CharField(max_length=100)
    prompt = models.TextField()
    system_prompt = models.TextField(blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    include_reasoning = models.BooleanField(default=False)
    high_detail = models.BooleanField(default=False)
    # The images' names and addresses, so history search finds "banner" in banner.jpg.
    image_names = models.TextField(blank=True, default="")
    # A row of a batch: the batch, the row's id or SKU (from a CSV) and what its row added to the prompt.
    batch = models.ForeignKey("vision.Batch", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    leads_batch = models.BooleanField(default=False, help_text="The batch's first row, listed for it in history")
    external_id = models.CharField(max_length=200, blank=True)
    row_context = models.TextField(blank=True)
    # Alt text (vision/alttext): the image's purpose, the context given, and the output language.
    purpose = models.CharField(max_length=20, blank=True)
    purpose_detail = models.CharField(max_length=300, blank=True)
    context = models.TextField(blank=True)
    keywords = models.CharField(max_length=500, blank=True)
    audience = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=16, blank=True)

    upstream_id = models.CharField(max_length=500, blank=True, db_index=True)  # opaque: room for any id
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    answer = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    # While a task is active, a passing problem (FoxAPI busy, say) is kept here; not a failure.
    check_problem = models.CharField(max_length=500, blank=True)
    # Alt text read from the answer (the model's suggestion), and what a person made of it.
    alt_text = models.TextField(blank=True)
    long_description = models.TextField(blank=True)
    visible_text = models.TextField(blank=True)
    final_text = models.TextField(blank=True)
    review_state = models.CharField(max_length=20, choices=ReviewState.choices, default=ReviewState.SUGGESTED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    created = models.DateTimeField(default=timezone.now)
    submitted = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # Bumped by every change of what a viewer sees: the status card's ETag.
    revision = models.PositiveIntegerField(default=0)

    # The worker's bookkeeping: when the next step is due, who holds the task, and until when.
    next_attempt = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # The queue job last asked to take the next step, and when (the sweeper's way to find lost jobs).
    job_id = models.CharField(max_length=64, blank=True)
    enqueued = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    first_refused = models.DateTimeField(null=True, blank=True)
    upstream_checks = models.PositiveIntegerField(default=0)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["owner", "-id"], name="task_owner_newest"),
            models.Index(fields=["team", "-id"], name="task_team_newest"),
            models.Index(fields=["api_key", "created"], name="task_key_usage"),
            models.Index(fields=["status", "next_attempt"], name="task_worker_due"),
            models.Index(fields=["batch", "id"], name="task_batch_rows"),
        ]

    def __str__(self) -> str:
        return f"Task {self.pk} ({self.model}, {self.status})"

    def get_absolute_url(self) -> str:
        return reverse("task_detail", args=[self.pk])

    # Reading state ------------------------------------------------------------------------

    def can_change(self, user) -> bool:
        """Only the owner changes a task: sharing, public link, retry, stop, deletion."""
        return user.is_authenticated and self.owner_id == user.pk

    @cached_property
    def title(self) -> str:
        """What tells this description apart in headings and lists: its first image's name and how
        many more, e.g. "banner.jpg + 3 more". Lists prefetch `images` so this costs no query there."""
        names = [image.name for image in self.images.all()]
        if not names:
            return f"Description {self.pk}"
        return names[0] if len(names) == 1 else f"{names[0]} + {len(names) - 1} more"

    def can_review(self, user) -> bool:
        """Who may edit, approve or reject the result: the owner, and the members of the team it is shared with."""
        if self.can_change(user):
            return True
        return (
            user.is_authenticated
            and self.team_id is not None
            and Membership.objects.filter(team_id=self.team_id, user=user).exists()
        )

    # Alt text ---------------------------------------------------------------------------------

    @property
    def is_alt_text(self) -> bool:
        return bool(self.purpose)

    @property
    def is_decorative(self) -> bool:
        return self.purpose == "decorative"

    @property
    def model_text(self) -> str:
        """What the model suggested: the alt text read from its answer, or the whole answer."""
        return self.alt_text if self.is_alt_text else self.answer

    @property
    def text(self) -> str:
        """The text to use: what a person wrote or approved, else the model's suggestion."""
        if self.review_state in (ReviewState.EDITED, ReviewState.APPROVED) and self.final_text:
            return self.final_text
        return self.model_text

    @property
    def has_new_suggestion(self) -> bool:
        """The model answered again after a person settled the text: the new answer waits beside it."""
        return (
            self.review_state in (ReviewState.EDITED, ReviewState.APPROVED)
            and bool(self.final_text)
            and self.model_text.strip() != self.final_text.strip()
            and self.finished is not None
            and self.reviewed_at is not None
            and self.finished > self.reviewed_at
        )

    @property
    def checks(self) -> list:
        """The checks shown with the result: set by a page that knows the batch's other texts, else computed."""
        if not hasattr(self, "_checks"):
            self._checks = self.findings()
        return self._checks

    @checks.setter
    def checks(self, findings: list) -> None:
        self._checks = findings

    def findings(self, other_alts=()) -> list:
        """The alt text checks (warnings that never block) for the text to use."""
        if not self.is_alt_text or self.status != self.Status.COMPLETED or self.is_decorative:
            return []
        from vision import alttext

        return alttext.check(
            self.text,
            language=self.language or alttext.DEFAULT_LANGUAGE,
            visible_text=self.visible_text,
            other_alts=other_alts,
            purpose=self.purpose,
        )

    def review(self, user, action: str, text: str | None = None) -> bool:
        """Edit, approve, reject, restore the model's text, or take a new suggestion; recorded with who and when.

        A person's text is kept in `final_text`, the model's beside it in `alt_text`/`answer`, so a
        later answer never overwrites what a person wrote or approved.
        """
        states = {
            ReviewEvent.Action.EDITED: ReviewState.EDITED,
            ReviewEvent.Action.APPROVED: ReviewState.APPROVED,
            ReviewEvent.Action.REJECTED: ReviewState.REJECTED,
            ReviewEvent.Action.RESTORED: ReviewState.SUGGESTED,
            ReviewEvent.Action.ACCEPTED: ReviewState.EDITED,
        }
        if action not in states or self.status != self.Status.COMPLETED:
            return False
        final = self.final_text
        if action == ReviewEvent.Action.EDITED:
            final = (text or "").strip()
        elif action == ReviewEvent.Action.APPROVED:
            final = (text if text is not None else self.text).strip()
        elif action in (ReviewEvent.Action.RESTORED, ReviewEvent.Action.ACCEPTED):
            final = self.model_text if action == ReviewEvent.Action.ACCEPTED else ""
        now = timezone.now()
        updated = Task.objects.filter(pk=self.pk, status=self.Status.COMPLETED).update(
            final_text=final,
            review_state=states[action],
            reviewed_by=user,
            reviewed_at=now,
            revision=F("revision") + 1,
        )
        if updated:
            ReviewEvent.objects.create(task=self, user=user, action=action, text=final, created=now)
            self.refresh_from_db()
        return bool(updated)

    @property
    def first_line(self) -> str:
        for line in self.answer.splitlines():
            text = line.strip().strip("*_#>- ").strip()
            if text:
                return text
        return ""

    def share_publicly(self, *, full_images: bool = False) -> str:
        """Open (or keep) the public link; ``full_images`` lets its readers open the full-size images."""
        if not self.share_token:
            self.share_token = secrets.token_urlsafe(32)
        self.public_full_images = full_images
        self.save(update_fields=["share_token", "public_full_images"])
        return self.share_token

    def revoke_public_link(self) -> None:
        self.share_token = None
        self.public_full_images = False
        self.save(update_fields=["share_token", "public_full_images"])

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_waiting_to_send(self) -> bool:
        return self.status == self.Status.QUEUED

    @property
    def stopped_by_user(self) -> bool:
        return self.status == self.Status.CANCELLED and self.error_code == STOPPED_BY_USER

    @property
    def cancelled_by_foxapi(self) -> bool:
        return self.status == self.Status.CANCELLED and self.error_code != STOPPED_BY_USER

    @property
    def status_label(self) -> str:
        """The status in words; "Stopped" is kept for the owner's Stop button."""
        return "Cancelled by FoxAPI" if self.cancelled_by_foxapi else self.get_status_display()

    @property
    def tokens_reported(self) -> bool:
        """Whether FoxAPI said how many tokens the model used. The contract does not promise
        `results[0].usage`; a completed task with every count at 0 had none reported."""
        return self.status == self.Status.COMPLETED and bool(
            self.prompt_tokens or self.completion_tokens or self.total_tokens
        )

    def token_counts(self) -> dict[str, int | None]:
        """The token counts for exports: empty (None) when FoxAPI reported none, rather than a made-up 0."""
        reported = self.tokens_reported
        return {
            "prompt_tokens": self.prompt_tokens if reported else None,
            "completion_tokens": self.completion_tokens if reported else None,
            "total_tokens": self.total_tokens if reported else None,
        }

    @property
    def may_have_been_charged(self) -> bool:
        """A failure after which FoxAPI may hold the task anyway: sending again may charge twice."""
        return self.error_code in ("answer_lost", "interrupted")

    @property
    def duration(self) -> timedelta | None:
        """How long FoxAPI took, by FoxWeb's own clock: from its acceptance to FoxWeb seeing the answer."""
        if self.finished and self.submitted:
            return self.finished - self.submitted
        return None

    def elapsed(self) -> timedelta:
        return (self.finished or timezone.now()) - (self.submitted or self.created)

    def poll_interval(self) -> float:
        """Seconds between the page's status reads: quick at first, backing off for long tasks.

        The page only reads FoxWeb's database, so this costs FoxAPI nothing.
        """
        first, most = settings.FOXWEB_POLL_FIRST_SECONDS, settings.FOXWEB_POLL_MAX_SECONDS
        seconds = self.elapsed().total_seconds()
        return round(min(most, first + max(seconds - 60, 0) / 30), 1)

    @property
    def key_label(self) -> str:
        return key_label(self.api_key if self.api_key_id else None, self.key_source)

    @property
    def key_ref(self) -> str:
        """Which FoxAPI key this task uses, as one string: in-flight limits and back-offs are per key."""
        return f"key:{self.api_key_id}" if self.api_key_id else self.key_source or "none"

    def key_secret(self, *, for_sending: bool) -> str:
        """The plain FoxAPI key this task is paid with, decrypted just for the call.

        A key revoked in FoxWeb (or no longer the owner's to use) stops new submits only: a task
        already sent with it is still collected, as its answer is paid for. Raises KeyRejected.
        """
        if self.api_key_id:
            if for_sending and self.api_key.is_revoked:
                raise foxapi.KeyRejected("The API key chosen for this description was revoked. Pick another key.")
            if for_sending and not ApiKey.objects.usable_by(self.owner).filter(pk=self.api_key_id).exists():
                raise foxapi.KeyRejected(
                    "You can no longer use the API key chosen for this description. Pick another key."
                )
            try:
                return self.api_key.secret()
            except keyvault.UndecryptableKey:
                raise foxapi.KeyRejected(
                    "The API key chosen for this description can no longer be read. Ask your administrator."
                ) from None
        if self.key_source == KEY_ORGANISATION:
            return settings.FOXAPI_API_KEY
        if self.key_source == KEY_SANDBOX:
            return foxapi.sandbox_demo_key()
        return ""

    def note_key_outcome(self, error: foxapi.FoxAPIError | None) -> None:
        """Flag a key FoxAPI refused (401) or found empty (402); mark it working after a success."""
        if not self.api_key_id:
            return
        self.api_key.record_use(accepted=error is None)
        if isinstance(error, foxapi.KeyRejected) and error.status in (401, 403):
            self.api_key.set_status(ApiKey.Status.REJECTED)
        elif isinstance(error, foxapi.QuotaExhausted):
            self.api_key.set_status(ApiKey.Status.NO_BALANCE)

    def vision_request(self) -> foxapi.VisionRequest:
        return foxapi.VisionRequest(
            model=self.model,
            prompt=self.prompt,
            image_urls=[image.data_uri() for image in self.images.all()],
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            system_prompt=self.system_prompt,
            include_reasoning=self.include_reasoning,
        )

    # Changing state: leases ------------------------------------------------------------------

    def claim(self, statuses, *, worker: str, lease: timedelta, due_only: bool = True) -> str | None:
        """Take the next step of this task: one conditional UPDATE that records a lease.

        It succeeds only when the task is in one of `statuses`, is due, and nobody holds an
        unexpired lease. Returns the lease token that fences every write of the step, or None.
        """
        now = timezone.now()
        token = f"{worker[:64]}:{uuid.uuid4().hex}"
        tasks = Task.objects.filter(pk=self.pk, status__in=statuses).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lte=now)
        )
        if due_only:
            tasks = tasks.filter(Q(next_attempt__isnull=True) | Q(next_attempt__lte=now))
        if not tasks.update(lease_owner=token, lease_until=now + lease):
            return None
        self.lease_owner, self.lease_until = token, now + lease
        return token

    def write(self, token: str | None, *, seen: bool = True, **changes) -> bool:
        """Save `changes` while this task is active (and, with a token, only while the lease is ours).

        A late or stale writer never undoes a finished task or a newer step. A write that changes
        what a viewer sees (`seen`) bumps the revision, which the status card's ETag follows; the
        worker's own bookkeeping does not, so an unchanged card keeps answering 304.
        """
        tasks = Task.objects.filter(pk=self.pk, status__in=self.ACTIVE_STATUSES)
        if token is not None:
            tasks = tasks.filter(lease_owner=token)
        if seen:
            changes["revision"] = F("revision") + 1
        saved = tasks.update(**changes)
        if saved:
            for name, value in changes.items():
                if not hasattr(value, "resolve_expression"):
                    setattr(self, name, value)
        else:
            self.refresh_from_db()
        return bool(saved)

    def release(self, token: str | None, *, seen: bool = True, **changes) -> bool:
        """End a step: save `changes` and give up the lease, if the lease is still ours."""
        return self.write(token, seen=seen, lease_owner="", lease_until=None, **changes)

    def fail(self, token: str | None, code: str, message: str) -> bool:
        """End the task as failed, saying why in words for the person who asked."""
        return self.release(
            token,
            status=self.Status.FAILED,
            error_code=code[:100],
            error_message=message,
            check_problem="",
            finished=timezone.now(),
            next_attempt=None,
        )

    def apply(self, token: str, state: foxapi.TaskState, *, next_attempt=None, count: bool = True, **extra) -> bool:
        """Store what FoxAPI reported about this task (and `extra` changes) and end the step.

        `count` adds one to the upstream checks (a GET); a submit's answer is not a check.
        """
        changes: dict = {
            "status": state.status,
            "progress": state.progress,
            "check_problem": "",
            "next_attempt": None if state.is_terminal else next_attempt,
            **extra,
        }
        if count:
            changes["upstream_checks"] = F("upstream_checks") + 1
        if state.status == self.Status.COMPLETED and not state.answer.strip():
            # Finished with no text: shown as a failure that says why, never as an empty (decorative) answer.
            usage = state.usage
            changes.update(
                status=self.Status.FAILED,
                error_code="empty_answer",
                error_message=empty_answer_message(state),
                finish_reason=state.completion.finish_reason[:40] if state.completion else "",
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
            )
        elif state.status == self.Status.COMPLETED:
            usage = state.usage
            if self.is_alt_text:
                from vision import alttext

                parsed = alttext.parse_answer(self.purpose, state.answer)
                changes.update(
                    alt_text=parsed.alt, long_description=parsed.long_description, visible_text=parsed.visible_text
                )
            changes.update(
                answer=state.answer,
                reasoning=state.reasoning,
                finish_reason=state.completion.finish_reason[:40] if state.completion else "",
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
            )
        if state.status in (self.Status.FAILED, self.Status.CANCELLED):
            code = state.error_code[:100] or state.status
            if code == STOPPED_BY_USER:  # FoxAPI's word, not the owner's Stop
                code = state.status
            changes.update(error_code=code, error_message=plain_task_error(state))
        if state.is_terminal:
            changes["finished"] = timezone.now()  # FoxWeb's clock: the service's `created` fields may disagree
        return self.release(token, seen=self._shows_a_change(state, extra), **changes)

    def _shows_a_change(self, state: foxapi.TaskState, extra: dict) -> bool:
        """Whether the status card would look different: a new status or problem, or progress past a step."""
        return (
            state.status != self.status
            or bool(self.check_problem)
            or bool(extra)
            or state.progress // PROGRESS_STEP != self.progress // PROGRESS_STEP
        )

    # Changing state: what people do -----------------------------------------------------------

    def send_again(self) -> bool:
        """Put a failed or stopped task back in the queue; one click, one send.

        A conditional UPDATE, so two clicks or two tabs cannot queue the task twice. The caller
        wakes the worker.
        """
        claimed = Task.objects.filter(pk=self.pk, status__in=(self.Status.FAILED, self.Status.CANCELLED)).update(
            status=self.Status.QUEUED,
            upstream_id="",
            progress=0,
            error_code="",
            error_message="",
            check_problem="",
            submitted=None,
            finished=None,
            next_attempt=None,
            lease_owner="",
            lease_until=None,
            send_attempts=0,
            first_refused=None,
            revision=F("revision") + 1,
        )
        self.refresh_from_db()
        return bool(claimed)

    def stop(self) -> bool:
        """Stop a queued or running task. A queued one is never sent; a running one stops being waited for.

        FoxAPI has no cancel call, so a task it already has may still finish and be charged.
        """
        now = timezone.now()
        common = {
            "status": self.Status.CANCELLED,
            "error_code": STOPPED_BY_USER,
            "check_problem": "",
            "finished": now,
            "next_attempt": None,
            "lease_owner": "",
            "lease_until": None,
            "revision": F("revision") + 1,
        }
        queued = Task.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            **common, error_message=STOPPED_BEFORE_SENDING
        )
        running = queued or Task.objects.filter(pk=self.pk, status__in=self.IN_FLIGHT_STATUSES).update(
            **common, error_message=STOPPED_WHILE_RUNNING
        )
        self.refresh_from_db()
        return bool(queued or running)


def empty_answer_message(state: foxapi.TaskState) -> str:
    if state.completion is None:
        return "FoxAPI said this description was finished but sent no text. Send it again."
    if state.completion.finish_reason == "length":
        return (
            "The model used up the longest answer allowed before it wrote any text. Raise “Longest answer” "
            "under Advanced settings and send it again."
        )
    return "The model finished without writing any text. Send it again, or try another model."


def plain_task_error(state: foxapi.TaskState) -> str:
    if state.status == "cancelled":
        return "FoxAPI cancelled this description before it finished. You can send it again."
    if state.error_message:
        return f"The model could not describe the image: {state.error_message}"
    return "The model could not describe the image. Please try again."


def _image_path(instance: TaskImage | None, filename: str) -> str:
    return f"images/{filename[:2]}/{filename}"


class TaskImage(models.Model):
    """One image of a task: what the user gave, and the prepared copy sent to FoxAPI.

    Until the worker prepares it, an image has only its source: the staged original file
    (`original`) or the address to fetch (`source_url`). Preparing it stores the small clean copy
    and removes the original, which may carry location data.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=255)
    source_url = models.URLField(max_length=2000, blank=True)
    original = models.FileField(upload_to="uploads/%Y/%m/", blank=True)
    original_width = models.PositiveIntegerField(default=0)
    original_height = models.PositiveIntegerField(default=0)
    original_bytes = models.PositiveIntegerField(default=0)
    original_format = models.CharField(max_length=10, blank=True)
    file = models.FileField(upload_to=_image_path, blank=True)
    thumbnail = models.FileField(upload_to=_image_path, blank=True)
    mime_type = models.CharField(max_length=40, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    bytes = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_prepared(self) -> bool:
        return bool(self.file)

    @classmethod
    def from_upload(cls, task: Task, position: int, upload) -> TaskImage:
        """Hand a staged upload's original and thumbnail over to a task; the upload row goes."""
        image = cls.objects.create(
            task=task,
            position=position,
            name=upload.name[:255],
            source_url=upload.source_url,
            original=upload.file.name,
            original_width=upload.width,
            original_height=upload.height,
            original_bytes=upload.size,
            original_format=upload.format,
            thumbnail=upload.thumbnail.name,
        )
        upload.forget()
        return image

    @classmethod
    def from_stream(cls, task: Task, position: int, name: str, item) -> TaskImage:
        """Store an image read from a stream (a ZIP member), unchecked: the worker checks it when preparing."""
        with item.open() as stream:
            stored = default_storage.save(f"uploads/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.bin", File(stream))
        return cls.objects.create(
            task=task,
            position=position,
            name=name[:255],
            original=stored,
            original_width=item.width,
            original_height=item.height,
            original_bytes=item.size,
            original_format=item.format[:10],
        )

    def drop_original(self) -> None:
        """Forget the original (it may carry location data) once nothing needs it."""
        name = self.original.name
        if name:
            self.original = ""
            self.save(update_fields=["original"])
            _delete_if_unused(name)

    def store_prepared(self, prepared) -> None:
        """Keep the prepared copy (identical images share one file) and drop the original."""
        old_thumbnail, original = self.thumbnail.name, self.original.name
        self.file.name = _store(f"{prepared.sha256}.{prepared.format.lower()}", prepared.data)
        thumb_ext = prepared.thumbnail_mime_type.split("/")[-1]
        self.thumbnail.name = _store(f"{prepared.sha256}-thumb.{thumb_ext}", prepared.thumbnail)
        self.mime_type = prepared.mime_type
        self.width, self.height, self.bytes = prepared.width, prepared.height, prepared.byte_size
        self.sha256 = prepared.sha256
        if not self.original_width:  # fetched: the original is only known now
            self.original_width, self.original_height = prepared.original_width, prepared.original_height
            self.original_bytes, self.original_format = prepared.original_bytes, prepared.original_format
        self.original = ""
        self.error = ""
        self.save()
        for name in (original, old_thumbnail if old_thumbnail != self.thumbnail.name else ""):
            _delete_if_unused(name)

    def read_original(self) -> bytes:
        with self.original.open("rb") as handle:
            return handle.read()

    def read(self) -> bytes:
        with self.file.open("rb") as handle:
            return handle.read()

    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.read()).decode('ascii')}"


@receiver(post_delete, sender=TaskImage)
def _remove_unused_files(sender, instance: TaskImage, **kwargs) -> None:
    """Identical images share files, so a file goes only with the last image that uses it."""
    for name in (instance.file.name, instance.thumbnail.name, instance.original.name):
        _delete_if_unused(name)


def _delete_if_unused(name: str) -> None:
    if not name:
        return
    from vision.models.uploads import Upload

    used = TaskImage.objects.filter(Q(file=name) | Q(thumbnail=name) | Q(original=name)).exists()
    used = used or Upload.objects.filter(Q(file=name) | Q(thumbnail=name)).exists()
    if not used:
        default_storage.delete(name)


def _store(filename: str, data: bytes) -> str:
    path = _image_path(None, filename)
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(data))
    return path


class ReviewEvent(models.Model):
    """Who changed or judged a result, and when: the provenance of every alt text a person touched."""

    class Action(models.TextChoices):
        EDITED = "edited", "Edited"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        RESTORED = "restored", "Went back to the model's text"
        ACCEPTED = "accepted", "Took the model's new suggestion"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="review_events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    text = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.user} on task {self.task_id}"
