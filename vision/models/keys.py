"""FoxAPI keys, personal or a team's, stored encrypted."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from vision import keyvault
from vision.models.teams import Membership, Team

# Where a task's key came from when it is not one of the stored keys.
KEY_ORGANISATION = "organisation"
KEY_SANDBOX = "sandbox"
KEY_SOURCE_LABELS = {KEY_ORGANISATION: "Organisation key", KEY_SANDBOX: "Sandbox demo key", "key": "A deleted key"}


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
    def is_new(self) -> bool:
        """Added within the usage chart's 30 days: "not used yet" rather than "not used lately"."""
        return self.created > timezone.now() - timedelta(days=30)

    @property
    def masked(self) -> str:
        """The last four characters only: keys need not start with sk-, so no prefix is made up."""
        return f"…{self.last_four}"

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


def key_label(api_key: ApiKey | None, key_source: str) -> str:
    """Which key paid, in words: a stored key's name and last four, or the organisation or sandbox key."""
    return str(api_key) if api_key is not None else KEY_SOURCE_LABELS.get(key_source, "")
