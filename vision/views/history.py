"""History: every task a user may see, searchable, filterable, exportable."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vision.exports import csv_lines, json_chunks
from vision.forms import HistoryFilterForm
from vision.models import Batch, Task, TaskImage
from vision.models.tasks import STOPPED_BY_USER

PAGE_SIZE = 50
EXPORT_CHUNK = 500
EXPORT_FIELDS = [
    "id",
    "created",
    "finished",
    "status",
    "model",
    "owner",
    "team",
    "images",
    "prompt",
    "answer",
    "text",
    "review_state",
    "reviewed_by",
    "language",
    "checks",
    "batch",
    "external_id",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "key",
    "error",
]


def _visible_tasks(request):
    return Task.objects.visible_to(request.user).select_related("owner", "team", "batch")


def _selected_ids(values: Iterable[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit() and len(value) <= 18]


@require_GET
def history(request):
    """Newest first, 50 a page; "Older" pages by id, so page 2,000 costs what page 1 does."""
    filters = HistoryFilterForm(request.user, request.GET)
    tasks = filters.filter(_visible_tasks(request)).order_by("-id")
    if not filters.looks_inside_batches:
        tasks = tasks.filter(Q(batch__isnull=True) | Q(leads_batch=True))  # a batch is one entry, by its first row
    before = request.GET.get("before", "")[:18]
    if before.isdigit():
        tasks = tasks.filter(id__lt=int(before))
    page = list(tasks.prefetch_related("images")[: PAGE_SIZE + 1])  # thumbnails and Task.title
    older = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    query = request.GET.copy()
    query.pop("before", None)
    if not filters.looks_inside_batches:
        _attach_batch_counts(page)
    context = {
        "filters": filters,
        "tasks": page[:PAGE_SIZE],
        "older": older,
        "paged": before.isdigit(),
        "query": query.urlencode(),
    }
    template = "vision/history.html#results" if request.htmx and not request.htmx.boosted else "vision/history.html"
    return render(request, template, context)


def _attach_batch_counts(tasks: list[Task]) -> None:
    """For each batch listed (by its first row), its counts: one query for the whole page."""
    leads = {task.batch_id: task for task in tasks if task.leads_batch and task.batch_id}
    if not leads:
        return
    rows = (
        Task.objects.filter(batch_id__in=leads)
        .values("batch_id", "status")
        .annotate(count=Count("id"), by_user=Count("id", filter=Q(error_code=STOPPED_BY_USER)))
    )
    for task in leads.values():
        task.batch_counts = {"total": 0, "done": 0, "failed": 0, "stopped": 0, "cancelled": 0, "active": 0}
    for row in rows:
        counts = leads[row["batch_id"]].batch_counts
        counts["total"] += row["count"]
        if row["status"] == Task.Status.COMPLETED:
            counts["done"] += row["count"]
        elif row["status"] == Task.Status.FAILED:
            counts["failed"] += row["count"]
        elif row["status"] == Task.Status.CANCELLED:  # told apart as on the batch page (Batch.counts)
            counts["stopped"] += row["by_user"]
            counts["cancelled"] += row["count"] - row["by_user"]
        else:
            counts["active"] += row["count"]


@require_POST
def history_delete(request):
    """Delete the selected tasks that are the user's own; colleagues' tasks are left alone."""
    selected = _selected_ids(request.POST.getlist("task"))
    batches = _selected_ids(request.POST.getlist("batch"))
    if not selected and not batches:
        messages.error(request, "Select the descriptions to delete first.")
        return redirect("history")
    visible = Task.objects.visible_to(request.user).filter(Q(pk__in=selected) | Q(batch_id__in=batches))
    own = visible.filter(owner=request.user)
    Batch.objects.filter(pk__in=batches, owner=request.user).delete()
    skipped = visible.count() - own.count()
    deleted = own.count()
    own.delete()
    text = f"Deleted {deleted} description{'s' if deleted != 1 else ''}."
    if skipped:
        text += f" {skipped} of the selected are colleagues'; only their owners can delete them."
    messages.success(request, text)
    return redirect("history")


@require_http_methods(["GET", "POST"])
def history_export(request, format: str):
    """As CSV or JSON, streamed: the filtered tasks (GET), or the selected ones (POST of `task` ids)."""
    if format not in ("csv", "json"):
        return HttpResponseBadRequest("Unknown format.")
    filters = HistoryFilterForm(request.user, request.GET)
    tasks = filters.filter(_visible_tasks(request))
    if request.method == "POST":
        selected = _selected_ids(request.POST.getlist("task"))
        batches = _selected_ids(request.POST.getlist("batch"))
        if not selected and not batches:
            messages.error(request, "Select the descriptions to export first, or use “Export all shown”.")
            return redirect("history")
        tasks = tasks.filter(Q(pk__in=selected) | Q(batch_id__in=batches))
    tasks = (
        tasks.select_related("api_key", "reviewed_by")
        .order_by("-id")
        .prefetch_related(
            Prefetch("images", queryset=TaskImage.objects.only("task_id", "position", "name", "source_url"))
        )
    )
    rows = (_export_row(task, request.user.pk) for task in tasks.iterator(chunk_size=EXPORT_CHUNK))
    stamp = timezone.now().strftime("%Y-%m-%d-%H%M")
    if format == "csv":
        cells = ({**row, "images": " | ".join(row["images"])} for row in rows)
        response = StreamingHttpResponse(csv_lines(EXPORT_FIELDS, cells), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(json_chunks(rows), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="foxweb-descriptions-{stamp}.{format}"'
    return response


def _export_row(task: Task, viewer_id: int) -> dict:
    """One task as exported; a colleague's personal key is theirs, so its name is left out."""
    return {
        "id": task.pk,
        "created": task.created.isoformat(),
        "finished": task.finished.isoformat() if task.finished else "",
        "status": task.status,
        "model": task.model,
        "owner": task.owner.get_username(),
        "team": task.team.name if task.team else "",
        "images": [image.source_url or image.name for image in task.images.all()],
        "prompt": task.prompt,
        "answer": task.answer,
        "text": task.text,
        "review_state": task.review_state if task.status == Task.Status.COMPLETED else "",
        "reviewed_by": task.reviewed_by.get_username() if task.reviewed_by_id else "",
        "language": task.language,
        "checks": "; ".join(finding.message for finding in task.findings()),
        "batch": task.batch_id or "",
        "external_id": task.external_id,
        **task.token_counts(),
        "key": task.key_label if task.owner_id == viewer_id or (task.api_key and task.api_key.team_id) else "",
        "error": task.error_message,
    }
