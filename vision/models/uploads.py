"""Uploads: images a user has given FoxWeb and not yet described."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone

from vision import images

if TYPE_CHECKING:
    from vision.models.tasks import TaskImage

# Staged and never described: removed by the worker's sweeper after this long.
UPLOAD_LIFETIME = timedelta(days=1)


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
        return upload

    @classmethod
    def check_room(cls, owner, count: int = 1) -> None:
        """Refuse more staged images than FOXWEB_MAX_STAGED_UPLOADS per person (checked before any decoding)."""
        limit = settings.FOXWEB_MAX_STAGED_UPLOADS
        if cls.objects.filter(owner=owner).count() + count > limit:
            raise images.ImageError(
                f"You already have {limit} images waiting to be described. Describe or remove some first."
            )

    @classmethod
    def remove_abandoned(cls, now=None) -> int:
        """Delete uploads staged more than UPLOAD_LIFETIME ago and never described (with their files)."""
        cutoff = (now or timezone.now()) - UPLOAD_LIFETIME
        stale = list(cls.objects.filter(created__lt=cutoff)[:1000])
        for upload in stale:
            upload.delete()
        return len(stale)

    @classmethod
    def stage_file(cls, owner, uploaded) -> Upload:
        """Stage a file from a form, refusing one over the size limit before reading it into memory."""
        limit = settings.FOXWEB_MAX_UPLOAD_BYTES
        if uploaded.size > limit:
            raise images.ImageError(f"The file is larger than {images.describe_bytes(limit)}.")
        cls.check_room(owner)
        return cls.stage(owner, uploaded.name, uploaded.read())

    def read(self) -> bytes:
        with self.file.open("rb") as handle:
            return handle.read()

    def forget(self) -> None:
        """Delete the row but keep its files: a task has taken them over."""
        super().delete()

    def delete(self, *args, **kwargs):
        files = [self.file.name, self.thumbnail.name]
        result = super().delete(*args, **kwargs)
        for name in files:
            if name:
                default_storage.delete(name)
        return result
