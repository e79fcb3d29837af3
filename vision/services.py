"""Creating descriptions: one place that the describe view, the batch view, jobs and tests all call.

Creating a task is quick on purpose: it records what to describe and queues it. Fetching pasted
URLs, preparing images and talking to FoxAPI happen in the worker (vision/jobs.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.db import transaction

from vision import jobs
from vision.models import ApiKey, Task, TaskImage, Team, Upload


@dataclass(frozen=True)
class DescribeOptions:
    """What to ask and who pays: the same for every task of a description or a batch."""

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

    def task_fields(self) -> dict:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "system_prompt": self.system_prompt,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "include_reasoning": self.include_reasoning,
            "high_detail": self.high_detail,
            "team": self.team,
            "api_key": self.api_key,
            "key_source": self.key_source,
        }


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
        jobs.wake(task, preparing=True)
    return task


def send_again(task: Task) -> bool:
    """Queue a failed or stopped task again (one click, one send)."""
    with transaction.atomic():
        if not task.send_again():
            return False
        needs_preparing = task.images.filter(file="").exists()
        jobs.wake(task, preparing=needs_preparing)
    return True
