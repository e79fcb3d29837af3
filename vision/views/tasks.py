"""A task's page, its live status card, retries and its images."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from vision.forms import ShareForm
from vision.models import Task, TaskImage
from vision.views.common import file_response, get_task_for_owner, get_task_for_user


@require_GET
def task_detail(request, task_id: int):
    task = get_task_for_user(request, task_id)
    task.refresh_if_due()
    context = {"task": task, "images": task.images.all()}
    if task.can_change(request.user):
        context["share_form"] = ShareForm(instance=task)
        if task.share_token:
            context["public_url"] = request.build_absolute_uri(reverse("shared_task", args=[task.share_token]))
    return render(request, "vision/task_detail.html", context)


@require_GET
def task_status(request, task_id: int):
    """The status card, refreshed by htmx polling; asks FoxAPI only when the stored state is stale."""
    task = get_task_for_user(request, task_id)
    if not request.htmx:
        return redirect(task)
    task.refresh_if_due()
    if request.GET.get("row"):  # a row of the history page
        return render(request, "vision/history.html#task-row", {"task": task})
    return render(request, "vision/task_detail.html#status-card", {"task": task, "images": task.images.all()})


@require_POST
def task_retry(request, task_id: int):
    task = get_task_for_owner(request, task_id)
    if task.claim_submission():
        task.submit()
    if request.htmx:
        return render(request, "vision/task_detail.html#status-card", {"task": task, "images": task.images.all()})
    return redirect(task)


@require_GET
def image_file(request, image_id: int, variant: str):
    image = get_object_or_404(TaskImage.objects.filter(task__in=Task.objects.visible_to(request.user)), pk=image_id)
    return file_response(image.thumbnail if variant == "thumb" else image.file)


@require_POST
def task_share(request, task_id: int):
    """The owner chooses which team, if any, may see the task."""
    task = get_task_for_owner(request, task_id)
    form = ShareForm(request.POST, instance=task)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown team.")
    form.save()
    if task.team:
        messages.success(request, f"Shared with “{task.team.name}”.")
    else:
        messages.success(request, "Only you can see this description now.")
    return redirect(task)


@require_POST
def task_public_link(request, task_id: int):
    task = get_task_for_owner(request, task_id)
    if request.POST.get("action") == "revoke":
        task.revoke_public_link()
        messages.success(request, "The public link is switched off; it no longer works.")
    else:
        task.share_publicly()
        messages.success(request, "Anyone with the public link can now read this description.")
    return redirect(task)


@login_not_required
@require_GET
def shared_task(request, token: str):
    """The read-only public page of a task, reached only through its unguessable link."""
    task = get_object_or_404(Task.objects.select_related("owner"), share_token=token)
    return render(request, "vision/shared_task.html", {"task": task, "images": task.images.all()})


@login_not_required
@require_GET
def shared_image(request, token: str, image_id: int, variant: str):
    image = get_object_or_404(TaskImage, task__share_token=token, pk=image_id)
    return file_response(image.thumbnail if variant == "thumb" else image.file)
