"""Batch pages: confirm before sending, watch the rows fill in with one poll, act on rows, export."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponseBadRequest, HttpResponseNotModified, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from vision import batch_exports, services
from vision.batch_exports import attach_checks
from vision.forms import BatchShareForm
from vision.models import Batch, ReviewState, Task, TaskImage

ROWS_PER_PAGE = 50
SENT = "batch-sent"  # the tag of the message shown once, in the progress card, after confirming


def get_batch_for_user(request, batch_id: int) -> Batch:
    """The batch if this user may see it, else 404 (as for tasks)."""
    return get_object_or_404(Batch.objects.visible_to(request.user).select_related("api_key", "team"), pk=batch_id)


def get_batch_for_owner(request, batch_id: int) -> Batch:
    batch = get_batch_for_user(request, batch_id)
    if not batch.can_change(request.user):
        raise Http404
    return batch


FILTERS = {
    "needs-review": ("Needs review", lambda rows: rows.needs_review()),
    "failed": ("Failed", lambda rows: rows.filter(status__in=[Task.Status.FAILED, Task.Status.CANCELLED])),
    "approved": ("Approved", lambda rows: rows.filter(review_state=ReviewState.APPROVED)),
}
REVIEW_FILTERS = ("needs-review", "approved")  # only for alt text: other answers are not reviewed


def _filters(batch: Batch) -> dict[str, str]:
    return {key: label for key, (label, _) in FILTERS.items() if batch.purpose or key not in REVIEW_FILTERS}


def _rows(batch: Batch, page_number, shown: str, total: int):
    """One page of rows with their first image and reviewer, in a fixed number of queries whatever the page."""
    first_images = Prefetch("images", queryset=TaskImage.objects.filter(position=0), to_attr="first_images")
    rows = batch.tasks.order_by("id").select_related("reviewed_by").prefetch_related(first_images)
    paginator = Paginator(rows, ROWS_PER_PAGE)
    if shown in _filters(batch):
        paginator.object_list = FILTERS[shown][1](rows)
    else:
        paginator.count = total  # known from the counts already: no second COUNT query
    return paginator.get_page(page_number)


def _page_number(request) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() and len(value) < 6 else 1


def _context(request, batch: Batch, counts: dict | None = None) -> dict:
    counts = counts or batch.counts()
    shown = request.GET.get("show", "")
    page = _rows(batch, _page_number(request), shown, counts["total"])
    reviewer = batch.can_review(request.user)
    if batch.purpose:
        attach_checks(page.object_list, batch)
    filters = _filters(batch)
    return {
        "shown": shown if shown in filters else "",
        "filters": filters,
        "reviewer": reviewer,
        # "Approve all that pass the checks" is offered while alt texts wait for review; running every check here
        # would cost each poll of a 500-row batch a fifth of a second, so a click that finds none passing says so.
        "approvable": counts["to_review"] if reviewer else 0,
        "batch": batch,
        "counts": counts,
        "page": page,
        "rows": page.object_list,
        "eta": _time_left(batch, counts),
        "is_active": counts["waiting"] + counts["running"] > 0 and not batch.is_draft,
        "can_change": batch.can_change(request.user),
    }


def _time_left(batch: Batch, counts: dict) -> int | None:
    """Seconds left, from the pace so far (None until a few rows have finished)."""
    left = counts["waiting"] + counts["running"]
    if not left or not batch.confirmed or counts["finished"] < 3:
        return None
    elapsed = (timezone.now() - batch.confirmed).total_seconds()
    return round(left * elapsed / counts["finished"])


@require_GET
def batch_detail(request, batch_id: int):
    batch = get_batch_for_user(request, batch_id)
    context = _context(request, batch)
    sent = [message.message for message in messages.get_messages(request) if SENT in message.tags.split()]
    context["sent_message"] = sent[-1] if sent else ""
    if batch.can_change(request.user):
        context["share_form"] = BatchShareForm(request.user, initial={"team": batch.team_id})
    return render(request, "vision/batch_detail.html", context)


@require_GET
def batch_changes(request, batch_id: int):
    """The one poll of a batch page: the summary, and only the rows of this page that changed.

    The browser sends what it shows as `seen=<task id>:<revision>`; unchanged pages answer 304.
    """
    if not request.htmx:
        return redirect("batch_detail", batch_id=batch_id)
    batch = get_batch_for_user(request, batch_id)
    counts = batch.counts()
    seen = {}
    for value in request.GET.getlist("seen")[:ROWS_PER_PAGE]:
        task_id, _, revision = value.partition(":")
        if task_id.isdigit() and revision.isdigit() and len(task_id) < 19:
            seen[int(task_id)] = int(revision)
    digest = hash((frozenset(seen.items()), request.GET.get("show", "")))
    etag = f'"b{batch.pk}-v{counts["version"]}-p{_page_number(request)}-u{request.user.pk}-s{digest}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        context = _context(request, batch, counts)
        context["polling"] = True
        context["changed"] = [row for row in context["rows"] if seen.get(row.pk) != row.revision]
        response = render(request, "vision/batch_detail.html#changes", context)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@require_POST
def batch_confirm(request, batch_id: int):
    batch = get_batch_for_owner(request, batch_id)
    if services.confirm_batch(batch):
        count = batch.tasks.count()
        # Shown in the progress card, which the page's first poll replaces with the live summary.
        messages.success(request, f"Sending {count} image{pluralize(count)}.", extra_tags=f"in-place {SENT}")
    return redirect(batch)


@require_POST
def batch_retry_failed(request, batch_id: int):
    batch = get_batch_for_owner(request, batch_id)
    count = services.retry_failed(batch)
    messages.success(request, f"Trying {count} image{'s' if count != 1 else ''} again.")
    return redirect(batch)


@require_POST
def batch_stop(request, batch_id: int):
    batch = get_batch_for_owner(request, batch_id)
    count, sent = services.stop_rest(batch)
    text = f"Stopped {count} image{pluralize(count)}."
    if sent:
        text += f" {sent} {pluralize(sent, 'was,were')} already with FoxAPI and may still be charged."
    elif count:
        text += " None had been sent, so none is charged."
    messages.success(request, text)
    return redirect(batch)


@require_POST
def batch_delete(request, batch_id: int):
    batch = get_batch_for_owner(request, batch_id)
    was_draft = batch.is_draft
    batch.delete()
    messages.success(request, "The batch was cancelled; nothing was sent." if was_draft else "The batch was deleted.")
    return redirect("history" if not was_draft else "describe")


@require_POST
def batch_approve_passing(request, batch_id: int):
    """Approve every alt text waiting for review (suggested or edited) that passes all the checks."""
    batch = get_batch_for_user(request, batch_id)
    if not batch.can_review(request.user):
        raise Http404
    approved, left = services.approve_passing(batch, request.user)
    if approved:
        text = f"Approved {approved} alt text{pluralize(approved)} that passed every check."
        if left:
            text += (
                f" {left} {pluralize(left, 'was,were')} left for a person because of warnings: "
                "use the “Needs review” filter."
            )
    elif left:
        text = (
            f"Nothing left to approve: the {left} alt text{pluralize(left)} that still "
            f"{pluralize(left, 'needs,need')} review {pluralize(left, 'has,have')} warnings, so a person should "
            f"look at {pluralize(left, 'it,them')} (use the “Needs review” filter)."
        )
    else:
        text = "Nothing left to approve: every finished alt text is approved or rejected."
    messages.success(request, text)
    return redirect(batch)


@require_POST
def batch_share(request, batch_id: int):
    batch = get_batch_for_owner(request, batch_id)
    form = BatchShareForm(request.user, request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown team.")
    batch.share_with(form.cleaned_data["team"])
    messages.success(request, f"Shared with “{batch.team.name}”." if batch.team else "Only you can see this batch now.")
    return redirect(batch)


@require_GET
def batch_export(request, batch_id: int, kind: str):
    """Streamed: CSV or JSON with one row per image, or the "alt text only" CSV for a CMS import."""
    batch = get_batch_for_user(request, batch_id)
    tasks = batch.tasks.order_by("id").prefetch_related(
        Prefetch("images", queryset=TaskImage.objects.only("task_id", "position", "name", "source_url"))
    )
    stamp = timezone.now().strftime("%Y-%m-%d-%H%M")
    if kind == "csv":
        body, content_type, suffix = batch_exports.csv_rows(batch, tasks), "text/csv; charset=utf-8", "csv"
    elif kind == "json":
        body, content_type, suffix = batch_exports.json_rows(batch, tasks), "application/json", "json"
    elif kind == "alt-text.csv":
        body, content_type, suffix = batch_exports.alt_text_rows(tasks), "text/csv; charset=utf-8", "alt-text.csv"
    else:
        raise Http404
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="foxweb-batch-{batch.pk}-{stamp}.{suffix}"'
    return response
