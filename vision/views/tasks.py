"""A task's page, its live status card, retries and its images."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponseBadRequest, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from vision import services, throttle
from vision.batch_exports import attach_checks
from vision.forms import ShareForm
from vision.models import ReviewEvent, Task, TaskImage
from vision.polling import status_etag
from vision.views.common import file_response, get_task_for_owner, get_task_for_user


def _card(request, task: Task) -> dict:
    """What the status card needs: the task, its images, whether this person may review it, its checks."""
    if task.is_alt_text:
        attach_checks([task], task.batch)
    return {"task": task, "images": task.images.all(), "reviewer": task.can_review(request.user)}


@require_GET
def task_detail(request, task_id: int):
    task = get_task_for_user(request, task_id)
    context = _card(request, task)
    if task.can_change(request.user):
        context["share_form"] = ShareForm(instance=task)
        if task.share_token:
            context["public_url"] = request.build_absolute_uri(reverse("shared_task", args=[task.share_token]))
    return render(request, "vision/task_detail.html", context)


@require_GET
def task_status(request, task_id: int):
    """The status card, polled by htmx: a pure read of FoxWeb's database, 304 when nothing changed.

    Everyone watching a task polls it, so it costs one query: the task, if this user may see it.
    Most polls find the card unchanged and are answered earlier still, by vision.polling.
    """
    if not request.htmx:
        return redirect("task_detail", task_id=task_id)
    row = bool(request.GET.get("row"))  # a row of the history page
    tasks = Task.objects.visible_to(request.user, one_query=True).filter(pk=task_id)
    task = get_object_or_404(tasks.select_related("owner", "team", "batch") if row else tasks)
    etag = status_etag(task_id, task.revision, request.user.pk, row)
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    elif row:
        response = render(request, "vision/history.html#task-row", {"task": task})
    else:
        response = render(request, "vision/task_detail.html#status-card", _card(request, task))
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@require_POST
def task_retry(request, task_id: int):
    """ "Try again" / "Send again": queue a failed or stopped task once more."""
    task = get_task_for_owner(request, task_id)
    services.send_again(task)
    if request.htmx:
        return render(request, "vision/task_detail.html#status-card", _card(request, task))
    if request.POST.get("next") == "batch" and task.batch_id:
        messages.success(request, f"Trying {task.title} again.")
        return redirect("batch_detail", batch_id=task.batch_id)
    return redirect(task)


@require_POST
def task_stop(request, task_id: int):
    """Stop a queued or running description: a queued one is never sent."""
    task = get_task_for_owner(request, task_id)
    task.stop()
    if request.htmx:
        return render(request, "vision/task_detail.html#status-card", _card(request, task))
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
    action = request.POST.get("action")
    full_images = request.POST.get("full_images") == "on"
    if action == "revoke":
        task.revoke_public_link()
        messages.success(request, "The public link is switched off; it no longer works.")
    elif action == "images" and task.share_token:
        task.share_publicly(full_images=full_images)
        if full_images:
            messages.success(request, "People with the public link can now open the full-size images.")
        else:
            messages.success(request, "People with the public link now see small previews of the images only.")
    else:
        task.share_publicly(full_images=full_images)
        messages.success(request, "Anyone with the public link can now read this description.")
    return redirect(task)


@login_not_required
@require_GET
@throttle.limit_link_guesses
def shared_task(request, token: str):
    """The read-only public page of a task, reached only through its unguessable link."""
    task = get_object_or_404(Task, share_token=token)
    response = render(request, "vision/shared_task.html", _card(request, task))
    return _unlisted(response)


@login_not_required
@require_GET
@throttle.limit_link_guesses
def shared_image(request, token: str, image_id: int, variant: str):
    images = TaskImage.objects.filter(task__share_token=token)
    if variant != "thumb":
        images = images.filter(task__public_full_images=True)  # full size only if the owner chose so
    image = get_object_or_404(images, pk=image_id)
    return _unlisted(file_response(image.thumbnail if variant == "thumb" else image.file))


def _unlisted(response):
    """Public pages stay out of search engines, and links on them tell other sites nothing."""
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
def task_review(request, task_id: int):
    """Edit, approve, reject a result (owner, or team members for a shared one); who and when are kept."""
    task = get_task_for_user(request, task_id)
    if not task.can_review(request.user):
        raise Http404
    action = request.POST.get("action", "")
    text = request.POST.get("text")
    if action == "edited" and not (text or "").strip():
        return HttpResponseBadRequest("Write the alt text, or use “Back to the model's text”.")
    if action not in ReviewEvent.Action.values or (text is not None and len(text) > 2000):
        return HttpResponseBadRequest("Unknown review action.")
    task.review(request.user, action, text)
    attach_checks([task], task.batch)
    if request.htmx:
        return render(request, "vision/_alt_result.html", {"task": task, "reviewer": True})
    return redirect(request.POST.get("next") == "batch" and task.batch or task)
