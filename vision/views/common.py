"""What every view module needs: who may see which task, and files served through access checks."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from vision.models import Task


def get_task_for_user(request, task_id: int) -> Task:
    """The task if this user may see it, else 404 (never 403: ids reveal nothing)."""
    return get_object_or_404(Task.objects.visible_to(request.user), pk=task_id)


def get_task_for_owner(request, task_id: int) -> Task:
    """The task if this user owns it (only owners change tasks), else 404."""
    task = get_task_for_user(request, task_id)
    if task.owner_id != request.user.pk:
        raise Http404
    return task


def file_response(field) -> FileResponse:
    if not field:  # not prepared yet
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle)
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
