"""Teams: people who share descriptions and keys, their memberships and invitation links."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

INVITATION_LIFETIME = timedelta(days=7)


class Team(models.Model):
    """People who share their descriptions (and, later, FoxAPI keys)."""

    name = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)
    default_language = models.CharField(max_length=16, blank=True, help_text="Language of new alt text")
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


def shared_with(user, *, one_query: bool = False) -> Q | None:
    """The rule for what a user may see: their own things and their teams'. None for nobody (logged out).

    The team ids are read first (one small query) so that PostgreSQL can use the owner and team
    indexes, or the owner index alone for someone in no team. With `one_query` they are a
    subquery of the same statement instead: one round trip fewer where one row is looked up by
    its id.
    """
    if not user.is_authenticated:
        return None
    if one_query:
        return Q(owner=user) | Q(team_id__in=Membership.objects.filter(user=user).values("team_id"))
    their_teams = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    if not their_teams:
        return Q(owner=user)
    return Q(owner=user) | Q(team_id__in=their_teams)
