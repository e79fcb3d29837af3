"""Batches: one description per image, hundreds of images at a time, all with the same settings."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from vision.models.keys import ApiKey, key_label
from vision.models.teams import Team, shared_with


class BatchQuerySet(models.QuerySet):
    def visible_to(self, user) -> BatchQuerySet:
        """Batches a user may see: their own and those shared with one of their teams (as for tasks)."""
        rule = shared_with(user)
        return self.none() if rule is None else self.filter(rule)


class Batch(models.Model):
    """Many tasks of one image each. A draft until its owner confirms; nothing is sent before that."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches")
    name = models.CharField(max_length=200)
    created = models.DateTimeField(default=timezone.now)
    confirmed = models.DateTimeField(null=True, blank=True)
    # What every task of the batch asks, and who pays (as on Task).
    model = models.CharField(max_length=100)
    preset = models.CharField(max_length=40, blank=True)
    prompt = models.TextField()
    system_prompt = models.TextField(blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    include_reasoning = models.BooleanField(default=False)
    high_detail = models.BooleanField(default=False)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches")
    key_source = models.CharField(max_length=20, blank=True)
    # Alt text: the images' purpose and the context given for all of them (see vision/alttext).
    purpose = models.CharField(max_length=20, blank=True)
    purpose_detail = models.CharField(max_length=300, blank=True)
    context = models.TextField(blank=True)
    keywords = models.CharField(max_length=500, blank=True)
    audience = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=16, blank=True)
    # What was wrong with files or rows left out (shown on the confirmation page and the batch page).
    problems = models.JSONField(default=list, blank=True)
    estimated_tokens = models.PositiveIntegerField(default=0)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("batch_detail", args=[self.pk])

    def can_change(self, user) -> bool:
        return user.is_authenticated and self.owner_id == user.pk

    def can_review(self, user) -> bool:
        """The batch's rows share its owner and team, so the rule of Task.can_review holds for all of them."""
        from vision.models.tasks import Task

        return Task(owner_id=self.owner_id, team_id=self.team_id).can_review(user)

    @property
    def is_draft(self) -> bool:
        return self.confirmed is None

    @property
    def key_label(self) -> str:
        return key_label(self.api_key if self.api_key_id else None, self.key_source)

    def counts(self) -> dict[str, int]:
        """How many rows are done, running, waiting, failed, to review (one query), and a version of them all."""
        from vision.models.tasks import NOT_YET_REVIEWED, STOPPED_BY_USER, Task

        not_reviewed = Q(review_state__in=NOT_YET_REVIEWED) & ~Q(purpose__in=("", "decorative"))
        rows = self.tasks.values("status").annotate(
            count=Count("id"),
            revisions=Sum("revision"),
            by_user=Count("id", filter=Q(error_code=STOPPED_BY_USER)),
            not_reviewed=Count("id", filter=not_reviewed),
        )
        by_status = {row["status"]: row["count"] for row in rows}
        running = sum(by_status.get(status, 0) for status in Task.IN_FLIGHT_STATUSES)
        waiting = by_status.get(Task.Status.QUEUED, 0) + by_status.get(Task.Status.DRAFT, 0)
        failed = by_status.get(Task.Status.FAILED, 0)
        # Rows someone stopped, and rows FoxAPI itself cancelled: both end as `cancelled`.
        stopped = sum(row["by_user"] for row in rows if row["status"] == Task.Status.CANCELLED)
        cancelled = by_status.get(Task.Status.CANCELLED, 0) - stopped
        done = by_status.get(Task.Status.COMPLETED, 0)
        # Finished alt texts waiting for a person (as Task.objects.needs_review()).
        to_review = sum(row["not_reviewed"] for row in rows if row["status"] == Task.Status.COMPLETED)
        total = sum(by_status.values())
        finished = done + failed + stopped + cancelled
        return {
            "total": total,
            "done": done,
            "running": running,
            "waiting": waiting,
            "failed": failed,
            "stopped": stopped,
            "cancelled": cancelled,
            "finished": finished,
            "to_review": to_review,
            "percent": round(100 * finished / total) if total else 0,
            "version": sum(row["revisions"] or 0 for row in rows) + total,
        }

    def share_with(self, team: Team | None) -> None:
        with transaction.atomic():
            self.team = team
            self.save(update_fields=["team"])
            self.tasks.update(team=team)
