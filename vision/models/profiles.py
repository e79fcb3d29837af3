"""A person's own defaults."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from vision.models.keys import ApiKey
from vision.models.teams import Team


class Profile(models.Model):
    """A person's own defaults for the describe form."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    default_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    default_model = models.CharField(max_length=100, blank=True)
    default_preset = models.CharField(max_length=40, blank=True)
    default_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    default_language = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @classmethod
    def of(cls, user) -> Profile:
        profile, _ = cls.objects.get_or_create(user=user)
        return profile
