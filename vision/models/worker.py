"""The worker's own records: that it is alive, and how hard each FoxAPI key may be pushed right now."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

HEARTBEAT_FRESH = timedelta(minutes=1)


class WorkerHeartbeat(models.Model):
    """One row per running worker process, touched by its sweeper every few seconds."""

    name = models.CharField(max_length=100, unique=True)
    started = models.DateTimeField(default=timezone.now)
    seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"Worker {self.name}"

    @classmethod
    def beat(cls, name: str) -> None:
        now = timezone.now()
        if not cls.objects.filter(name=name).update(seen=now):
            cls.objects.update_or_create(name=name, defaults={"seen": now})

    @classmethod
    def alive(cls) -> bool:
        """A worker has beaten within the last minute."""
        return cls.objects.filter(seen__gte=timezone.now() - HEARTBEAT_FRESH).exists()

    @classmethod
    def forget_stale(cls) -> None:
        cls.objects.filter(seen__lt=timezone.now() - timedelta(days=1)).delete()


class KeyThrottle(models.Model):
    """A back-off shared by every worker for one FoxAPI key, after FoxAPI said "too many requests".

    Its row is also what sending locks, so two workers cannot both take a key's last free slot.
    """

    key_ref = models.CharField(max_length=50, unique=True)
    until = models.DateTimeField(null=True, blank=True)
    # 429s in a row, for the exponential part of the back-off; reset by an accepted submit.
    strikes = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"Throttle for {self.key_ref}"
