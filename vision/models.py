"""FoxWeb's data: teams, description tasks, their images, and uploads waiting to be described."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, models, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.debug import sensitive_variables

from vision import foxapi, images, keyvault

# A submit that has not come back after this long was interrupted (say, by a restart).
SUBMIT_STALE_AFTER = timedelta(minutes=5)
INTERRUPTED_MESSAGE = (
    "The submission was interrupted (FoxWeb may have restarted) before FoxAPI confirmed it. "
    "FoxAPI may or may not have received it, so trying again may be charged twice."
)
# How long one request may spend refreshing a task before another may take over.
REFRESH_LEASE = timedelta(seconds=foxapi.QUICK_TIMEOUT + 5)
INVITATION_LIFETIME = timedelta(days=7)
UPLOAD_LIFETIME = timedelta(days=1)
# Where a task's key came from when it is not one of the stored keys.
KEY_ORGANISATION = "organisation"
KEY_SANDBOX = "sandbox"
KEY_SOURCE_LABELS = {KEY_ORGANISATION: "Organisation key", KEY_SANDBOX: "Sandbox demo key", "key": "A deleted key"}


class Team(models.Model):
    """People who share their descriptions (and, later, FoxAPI keys)."""

    name = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team_detail", args=[self.pk])

    @classmethod
    def found(cls, name: str, owner) -> Team:
        """Create a team with its first owner."""
        with transaction.atomic():
            team = cls.objects.create(name=name)
            Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
        return team

    def membership_of(self, user) -> Membership | None:
        return self.memberships.filter(user=user).first() if user.is_authenticated else None


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class Invitation(models.Model):
    """A single-use link that lets one person join a team, until it expires."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Invitation to {self.team}"

    @classmethod
    def issue(cls, team: Team, by) -> Invitation:
        now = timezone.now()
        return cls.objects.create(
            team=team,
            created_by=by,
            token=secrets.token_urlsafe(32),
            created=now,
            expires=now + INVITATION_LIFETIME,
        )

    def get_absolute_url(self) -> str:
        return reverse("invitation", args=[self.token])

    @property
    def is_usable(self) -> bool:
        """Unused, unexpired, and its maker still owns the team (a demoted owner's links stop working)."""
        return (
            self.used_at is None
            and self.expires > timezone.now()
            and Membership.objects.filter(team_id=self.team_id, user_id=self.created_by_id, role="owner").exists()
        )

    def accept(self, user) -> bool:
        """Join the team; False if the link was used or expired meanwhile. Safe against double use.

        Someone already in the team does not spend the link.
        """
        if Membership.objects.filter(team_id=self.team_id, user=user).exists():
            return True
        with transaction.atomic():
            claimed = Invitation.objects.filter(pk=self.pk, used_at__isnull=True, expires__gt=timezone.now()).update(
                used_at=timezone.now(), used_by=user
            )
            if not claimed:
                return False
            try:
                with transaction.atomic():
                    Membership.objects.create(team=self.team, user=user)
            except IntegrityError:  # already a member: the link is still spent
                pass
        return True


class ApiKeyQuerySet(models.QuerySet):
    def usable_by(self, user) -> ApiKeyQuerySet:
        """Keys a user may pay with: their own and their teams', unless revoked."""
        their_teams = Membership.objects.filter(user=user).values("team_id")
        return self.filter(Q(owner=user) | Q(team_id__in=their_teams), revoked__isnull=True)

    def manageable_by(self, user) -> ApiKeyQuerySet:
        """Keys a user may see on the keys page, rename and revoke: their own and their owned teams'."""
        owned_teams = Membership.objects.filter(user=user, role=Membership.Role.OWNER).values("team_id")
        return self.filter(Q(owner=user) | Q(team_id__in=owned_teams))


class ApiKey(models.Model):
    """A FoxAPI key, personal or a team's, stored encrypted; the plain key is never shown again."""

    class Status(models.TextChoices):
        UNTESTED = "untested", "Not tested yet"
        OK = "ok", "Working"
        REJECTED = "rejected", "Rejected by FoxAPI"
        NO_BALANCE = "no_balance", "Out of balance"

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    encrypted = models.TextField(editable=False)
    last_four = models.CharField(max_length=4, editable=False)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNTESTED)
    status_changed = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, team__isnull=True) | Q(owner__isnull=True, team__isnull=False),
                name="api_key_is_personal_or_a_teams",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @classmethod
    @sensitive_variables("secret")
    def store(cls, *, name: str, secret: str, owner=None, team=None, created_by=None, status="untested") -> ApiKey:
        """Encrypt and save a key; only its last four characters are kept in the clear."""
        return cls.objects.create(
            name=name,
            owner=owner,
            team=team,
            created_by=created_by,
            encrypted=keyvault.encrypt(secret),
            last_four=secret[-4:],
            status=status,
            status_changed=timezone.now(),
        )

    @property
    def masked(self) -> str:
        return f"sk-…{self.last_four}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked is not None

    def secret(self) -> str:
        """The plain key, for the moment of a FoxAPI call only."""
        return keyvault.decrypt(self.encrypted)

    def set_status(self, status: str) -> None:
        if self.status != status:
            self.status = status
            self.status_changed = timezone.now()
            self.save(update_fields=["status", "status_changed"])

    def record_use(self, *, accepted: bool) -> None:
        """Note a call made with this key; an accepted call also shows the key works."""
        now = timezone.now()
        changes = {"last_used": now}
        if accepted and self.status != self.Status.OK:
            changes.update(status=self.Status.OK, status_changed=now)
        ApiKey.objects.filter(pk=self.pk).update(**changes)

    def revoke(self) -> None:
        self.revoked = timezone.now()
        self.save(update_fields=["revoked"])


class Profile(models.Model):
    """A person's own defaults for the describe form."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    default_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    default_model = models.CharField(max_length=100, blank=True)
    default_preset = models.CharField(max_length=40, blank=True)
    default_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @classmethod
    def of(cls, user) -> Profile:
        profile, _ = cls.objects.get_or_create(user=user)
        return profile


class Upload(models.Model):
    """An image a user has given FoxWeb but not yet described: the original bytes, checked.

    Uploads live between picking files and submitting, so that a form error or a failed
    submit never loses what was uploaded. They are deleted once a task holds their images.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    name = models.CharField(max_length=255)
    source_url = models.URLField(max_length=2000, blank=True)
    file = models.FileField(upload_to="uploads/%Y/%m/")
    thumbnail = models.FileField(upload_to="uploads/thumbs/%Y/%m/")
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    sha256 = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def stage(
        cls,
        owner,
        name: str,
        data: bytes,
        source_url: str = "",
        original: TaskImage | None = None,
        reuse: bool = False,
    ) -> Upload:
        """Check an image by decoding it, keep the original and a thumbnail; raises ImageError.

        `original` is the task image this one is a copy of ("Describe again"): its original
        size and format are kept, not those of the reduced copy. With `reuse`, an upload of the
        same bytes the owner already has is returned instead of a second copy.
        """
        if reuse:
            existing = cls.objects.filter(owner=owner, sha256=hashlib.sha256(data).hexdigest()).first()
            if existing:
                return existing
        preview = images.prepare_image(data, images.SizePolicy(settings.FOXWEB_THUMBNAIL_SIZE, None))
        upload = cls(
            owner=owner,
            name=(name or "image")[:255],
            source_url=source_url,
            size=original.original_bytes if original else len(data),
            width=original.original_width if original else preview.original_width,
            height=original.original_height if original else preview.original_height,
            format=original.original_format if original else preview.original_format,
            sha256=hashlib.sha256(data).hexdigest(),
        )
        digest = upload.sha256[:16]
        upload.file.save(f"{digest}.bin", ContentFile(data), save=False)
        upload.thumbnail.save(f"{digest}.{preview.format.lower()}", ContentFile(preview.data), save=False)
        upload.save()
        for stale in cls.objects.filter(owner=owner, created__lt=timezone.now() - UPLOAD_LIFETIME):
            stale.delete()  # abandoned on a describe page long ago
        return upload

    @classmethod
    def stage_file(cls, owner, uploaded) -> Upload:
        """Stage a file from a form, refusing one over the size limit before reading it into memory."""
        limit = settings.FOXWEB_MAX_UPLOAD_BYTES
        if uploaded.size > limit:
            raise images.ImageError(f"The file is larger than {images.describe_bytes(limit)}.")
        return cls.stage(owner, uploaded.name, uploaded.read())

    def read(self) -> bytes:
        with self.file.open("rb") as handle:
            return handle.read()

    def delete(self, *args, **kwargs):
        files = [self.file.name, self.thumbnail.name]
        result = super().delete(*args, **kwargs)
        for name in files:
            if name:
                default_storage.delete(name)
        return result


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user) -> TaskQuerySet:
        """The tasks a user may see: their own, and those shared with a team they belong to.

        Every view that shows a task, its status, its images or an export starts here. The team
        ids are read first (one small query) so that PostgreSQL can use the owner and team
        indexes, or the owner index alone for someone in no team.
        """
        if not user.is_authenticated:
            return self.none()
        their_teams = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
        if not their_teams:
            return self.filter(owner=user)
        return self.filter(Q(owner=user) | Q(team_id__in=their_teams))

    def search(self, text: str) -> TaskQuerySet:
        """Tasks whose prompt or answer contain every word of `text`.

        On PostgreSQL this matches the stored `search_vector` column (migration 0002): PostgreSQL
        picks its GIN index for rare words, or walks the newest tasks for common ones, and never
        parses a row's text at query time.
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
            self = self.filter(Q(prompt__icontains=word) | Q(answer__icontains=word))
        return self

    def active(self) -> TaskQuerySet:
        return self.filter(status__in=Task.ACTIVE_STATUSES)


class Task(models.Model):
    """One request to describe images, and everything FoxAPI said about it."""

    class Status(models.TextChoices):
        SUBMITTING = "submitting", "Submitting"
        PENDING = "pending", "Waiting in line"
        PROCESSING = "processing", "Describing"
        COMPLETED = "completed", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.SUBMITTING, Status.PENDING, Status.PROCESSING)
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
    model = models.CharField(max_length=100)
    prompt = models.TextField()
    system_prompt = models.TextField(blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    include_reasoning = models.BooleanField(default=False)
    high_detail = models.BooleanField(default=False)

    upstream_id = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTING)
    progress = models.PositiveSmallIntegerField(default=0)
    answer = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    # While a task is active, a problem checking on it (FoxAPI busy, say) is kept here; it is
    # not a failure of the task itself.
    check_problem = models.CharField(max_length=500, blank=True)

    created = models.DateTimeField(default=timezone.now)
    submitted = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # When the current submit began, to notice one interrupted by a restart.
    submitting_since = models.DateTimeField(default=timezone.now, null=True, blank=True)
    # When FoxAPI was last asked about this task (or may next be asked, after a Retry-After)...
    checked = models.DateTimeField(null=True, blank=True)
    # ...and until when one request holds the right to ask (see claim_refresh).
    refreshing_until = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["owner", "-id"], name="task_owner_newest"),
            models.Index(fields=["team", "-id"], name="task_team_newest"),
            models.Index(fields=["api_key", "created"], name="task_key_usage"),
        ]

    def __str__(self) -> str:
        return f"Task {self.pk} ({self.model}, {self.status})"

    def get_absolute_url(self) -> str:
        return reverse("task_detail", args=[self.pk])

    # Reading state ------------------------------------------------------------------------

    def can_change(self, user) -> bool:
        """Only the owner changes a task: sharing, public link, retry, deletion."""
        return user.is_authenticated and self.owner_id == user.pk

    @cached_property
    def title(self) -> str:
        """What tells this description apart in headings and lists: its first image's name and how
        many more, e.g. "banner.jpg + 3 more". Lists prefetch `images` so this costs no query there."""
        names = [image.name for image in self.images.all()]
        if not names:
            return f"Description {self.pk}"
        return names[0] if len(names) == 1 else f"{names[0]} + {len(names) - 1} more"

    @property
    def first_line(self) -> str:
        for line in self.answer.splitlines():
            text = line.strip().strip("*_#>- ").strip()
            if text:
                return text
        return ""

    def share_publicly(self) -> str:
        if not self.share_token:
            self.share_token = secrets.token_urlsafe(32)
            self.save(update_fields=["share_token"])
        return self.share_token

    def revoke_public_link(self) -> None:
        self.share_token = None
        self.save(update_fields=["share_token"])

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def duration(self) -> timedelta | None:
        if self.finished and self.submitted:
            return self.finished - self.submitted
        return None

    def elapsed(self) -> timedelta:
        return (self.finished or timezone.now()) - (self.submitted or self.created)

    def poll_interval(self) -> float:
        """Seconds between status checks: quick at first, backing off for long tasks."""
        first, most = settings.FOXWEB_POLL_FIRST_SECONDS, settings.FOXWEB_POLL_MAX_SECONDS
        seconds = self.elapsed().total_seconds()
        return round(min(most, first + max(seconds - 10, 0) / 10), 1)

    @property
    def key_label(self) -> str:
        if self.api_key_id:
            return str(self.api_key)
        return KEY_SOURCE_LABELS.get(self.key_source, "")

    def key_secret(self) -> str:
        """The plain FoxAPI key this task is paid with, decrypted just for the call.

        Raises KeyRejected when that key was revoked, is no longer the owner's to use (they left
        the team whose key it is), or cannot be opened.
        """
        if self.api_key_id:
            if self.api_key.is_revoked:
                raise foxapi.KeyRejected("The API key chosen for this description was revoked. Pick another key.")
            if not ApiKey.objects.usable_by(self.owner).filter(pk=self.api_key_id).exists():
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

    def _note_key_outcome(self, error: foxapi.FoxAPIError | None) -> None:
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

    # Changing state -----------------------------------------------------------------------

    def submit(self) -> None:
        """Send the task to FoxAPI. The caller holds it in "submitting" (new, or claimed for a retry).

        On failure the task says why and can be tried again; when the answer to the submit was
        lost, it says FoxAPI may have the task already, so a retry may be charged twice.
        """
        try:
            state = foxapi.client().submit_vision_task(self.vision_request(), api_key=self.key_secret())
        except foxapi.FoxAPIError as error:
            self._note_key_outcome(error)
            code = "answer_lost" if isinstance(error, foxapi.AnswerLost) else error.short_code
            self.fail(code, error.user_message)
            return
        self._note_key_outcome(None)
        self.upstream_id = state.id
        self.submitted = self.checked = timezone.now()
        self._save_if_active(["upstream_id", "submitted", "checked"])
        self.apply(state)

    def claim_submission(self) -> bool:
        """Put a failed or cancelled task back to "submitting" for a retry; one click, one retry.

        A conditional UPDATE, so two clicks or two tabs cannot send the task twice.
        """
        claimed = Task.objects.filter(pk=self.pk, status__in=(self.Status.FAILED, self.Status.CANCELLED)).update(
            status=self.Status.SUBMITTING,
            submitting_since=timezone.now(),
            upstream_id="",
            progress=0,
            error_code="",
            error_message="",
            check_problem="",
            submitted=None,
            finished=None,
        )
        self.refresh_from_db()
        return bool(claimed)

    def fail(self, code: str, message: str) -> None:
        self.status = self.Status.FAILED
        self.error_code = code[:100]
        self.error_message = message
        self.check_problem = ""
        self.finished = timezone.now()
        self._save_if_active(["status", "error_code", "error_message", "check_problem", "finished"])

    def apply(self, state: foxapi.TaskState) -> None:
        """Store what FoxAPI reported about this task."""
        fields = ["status", "progress", "check_problem"]
        self.status = state.status
        self.progress = state.progress
        self.check_problem = ""
        if state.status == self.Status.COMPLETED:
            usage = state.usage
            self.answer = state.answer
            self.reasoning = state.reasoning
            self.finish_reason = state.completion.finish_reason if state.completion else ""
            self.prompt_tokens = usage.prompt_tokens
            self.completion_tokens = usage.completion_tokens
            self.total_tokens = usage.total_tokens
            fields += ["answer", "reasoning", "finish_reason", "prompt_tokens", "completion_tokens"]
            fields += ["total_tokens"]
        if state.status in (self.Status.FAILED, self.Status.CANCELLED):
            self.error_code = state.error_code[:100] or state.status
            self.error_message = plain_task_error(state)
            fields += ["error_code", "error_message"]
        if state.is_terminal:
            self.finished = timezone.now()
            done = state.completion.created if state.completion else None
            if done and self.submitted and self.submitted <= done <= self.finished:
                self.finished = done  # when the model finished, not when FoxWeb next looked
            fields.append("finished")
        self._save_if_active(fields)

    def _save_if_active(self, fields: list[str]) -> bool:
        """Save while the task is still active, so a late or slow answer never undoes a finished task."""
        saved = Task.objects.filter(pk=self.pk, status__in=self.ACTIVE_STATUSES).update(
            **{name: getattr(self, name) for name in fields}
        )
        if not saved:
            self.refresh_from_db()
        return bool(saved)

    def claim_refresh(self) -> bool:
        """Take the right to ask FoxAPI about this task now; only one request at a time gets it.

        A single conditional UPDATE: it succeeds only if nobody checked within the poll interval
        and no other request holds the lease, which lasts longer than the slowest status call.
        """
        now = timezone.now()
        due = now - timedelta(seconds=self.poll_interval())
        claimed = (
            Task.objects.filter(pk=self.pk, status__in=self.ACTIVE_STATUSES)
            .exclude(upstream_id="")
            .filter(Q(checked__isnull=True) | Q(checked__lte=due))
            .filter(Q(refreshing_until__isnull=True) | Q(refreshing_until__lt=now))
            .update(refreshing_until=now + REFRESH_LEASE)
        )
        return bool(claimed)

    def refresh_if_due(self) -> None:
        """Bring the task up to date from FoxAPI when its stored state is older than the poll interval."""
        if self.status == self.Status.SUBMITTING:
            if self.submitting_since and timezone.now() - self.submitting_since > SUBMIT_STALE_AFTER:
                self.fail("interrupted", INTERRUPTED_MESSAGE)
            return
        if not self.is_active or not self.claim_refresh():
            return
        next_check = timezone.now()
        try:
            state = foxapi.client().get_task(self.upstream_id, api_key=self.key_secret(), quick=True)
        except foxapi.TaskNotFound:
            self.fail("not_found", "FoxAPI no longer has a record of this task. Please try again.")
        except (foxapi.KeyRejected, foxapi.QuotaExhausted) as error:
            self._note_key_outcome(error)
            self.fail(error.short_code, error.user_message)
        except foxapi.FoxAPIError as error:
            if error.retry_after:  # FoxAPI asked for a pause: the next poll waits for it
                next_check += timedelta(seconds=min(error.retry_after, 300))
            self.check_problem = f"Could not check on the task just now: {error.user_message}"[:500]
            self._save_if_active(["check_problem"])
        else:
            self.apply(state)
        finally:
            Task.objects.filter(pk=self.pk).update(checked=next_check, refreshing_until=None)
            self.checked = next_check


def plain_task_error(state: foxapi.TaskState) -> str:
    if state.status == "cancelled":
        return "FoxAPI cancelled this task before it finished."
    if state.error_message:
        return f"The model could not describe the image: {state.error_message}"
    return "The model could not describe the image. Please try again."


def _image_path(instance: TaskImage, filename: str) -> str:
    return f"images/{filename[:2]}/{filename}"


class TaskImage(models.Model):
    """One image of a task: what the user gave, and the prepared copy sent to FoxAPI."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=255)
    source_url = models.URLField(max_length=2000, blank=True)
    original_width = models.PositiveIntegerField()
    original_height = models.PositiveIntegerField()
    original_bytes = models.PositiveIntegerField()
    original_format = models.CharField(max_length=10)
    file = models.FileField(upload_to=_image_path)
    thumbnail = models.FileField(upload_to=_image_path)
    mime_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def from_prepared(
        cls, task: Task, position: int, name: str, source_url: str, prepared, upload: Upload | None = None
    ) -> TaskImage:
        """Store a prepared image; identical images share one file (content-addressed).

        The original's size and format come from the upload when there is one, as it knows
        the first original even for a copy made by "Describe again".
        """
        image = cls(
            task=task,
            position=position,
            name=name[:255],
            source_url=source_url,
            original_width=upload.width if upload else prepared.original_width,
            original_height=upload.height if upload else prepared.original_height,
            original_bytes=upload.size if upload else prepared.original_bytes,
            original_format=upload.format if upload else prepared.original_format,
            mime_type=prepared.mime_type,
            width=prepared.width,
            height=prepared.height,
            bytes=prepared.byte_size,
            sha256=prepared.sha256,
        )
        image.file.name = _store(f"{prepared.sha256}.{prepared.format.lower()}", prepared.data)
        thumb_ext = prepared.thumbnail_mime_type.split("/")[-1]
        image.thumbnail.name = _store(f"{prepared.sha256}-thumb.{thumb_ext}", prepared.thumbnail)
        image.save()
        return image

    def read(self) -> bytes:
        with self.file.open("rb") as handle:
            return handle.read()

    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.read()).decode('ascii')}"


@receiver(post_delete, sender=TaskImage)
def _remove_unused_files(sender, instance: TaskImage, **kwargs) -> None:
    """Identical images share files, so a file goes only with the last image that uses it."""
    for name in (instance.file.name, instance.thumbnail.name):
        if name and not TaskImage.objects.filter(Q(file=name) | Q(thumbnail=name)).exists():
            default_storage.delete(name)


def _store(filename: str, data: bytes) -> str:
    path = _image_path(None, filename)
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(data))
    return path
