"""History: every task a user may see, searchable, filterable, exportable."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vision.forms import HistoryFilterForm
from vision.models import Task, TaskImage

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
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "key",
    "error",
]


def _visible_tasks(request):
    return Task.objects.visible_to(request.user).select_related("owner", "team")


def _selected_ids(values: Iterable[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit() and len(value) <= 18]


@require_GET
def history(request):
    """Newest first, 50 a page; "Older" pages by id, so page 2,000 costs what page 1 does."""
    filters = HistoryFilterForm(request.user, request.GET)
    tasks = filters.filter(_visible_tasks(request)).order_by("-id")
    before = request.GET.get("before", "")[:18]
    if before.isdigit():
        tasks = tasks.filter(id__lt=int(before))
    page = list(tasks.prefetch_related("images")[: PAGE_SIZE + 1])  # thumbnails and Task.title
    older = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "filters": filters,
        "tasks": page[:PAGE_SIZE],
        "older": older,
        "paged": before.isdigit(),
        "query": query.urlencode(),
    }
    template = "vision/history.html#results" if request.htmx and not request.htmx.boosted else "vision/history.html"
    return render(request, template, context)


@require_POST
def history_delete(request):
    """Delete the selected tasks that are the user's own; colleagues' tasks are left alone."""
    selected = _selected_ids(request.POST.getlist("task"))
    if not selected:
        messages.error(request, "Select the descriptions to delete first.")
        return redirect("history")
    visible = Task.objects.visible_to(request.user).filter(pk__in=selected)
    own = visible.filter(owner=request.user)
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
        if not selected:
            messages.error(request, "Select the descriptions to export first, or use “Export all shown”.")
            return redirect("history")
        tasks = tasks.filter(pk__in=selected)
    tasks = (
        tasks.select_related("api_key")
        .order_by("-id")
        .prefetch_related(
            Prefetch("images", queryset=TaskImage.objects.only("task_id", "position", "name", "source_url"))
        )
    )
    rows = (_export_row(task, request.user.pk) for task in tasks.iterator(chunk_size=EXPORT_CHUNK))
    stamp = timezone.now().strftime("%Y-%m-%d-%H%M")
    if format == "csv":
        response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json_chunks(rows), content_type="application/json")
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
        "prompt_tokens": task.prompt_tokens,
        "completion_tokens": task.completion_tokens,
        "total_tokens": task.total_tokens,
        "key": task.key_label if task.owner_id == viewer_id or (task.api_key and task.api_key.team_id) else "",
        "error": task.error_message,
    }


class _Line:
    """A file-like object whose write() hands back the line, for csv.writer in a generator."""

    def write(self, text: str) -> str:
        return text


def _csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff"  # a byte-order mark, so spreadsheet programs read the UTF-8 correctly
    yield writer.writerow(EXPORT_FIELDS)
    for row in rows:
        values = {**row, "images": " | ".join(row["images"])}
        yield writer.writerow([_csv_safe(values[field]) for field in EXPORT_FIELDS])


def _csv_safe(value):
    """Cells starting with = + - @ would run as formulas in a spreadsheet; a quote keeps them text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _json_chunks(rows: Iterator[dict]) -> Iterator[str]:
    yield "["
    for number, row in enumerate(rows):
        yield ("," if number else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"
