"""What a batch (or a selection of history) exports: one row per image, streamed as CSV or JSON.

The text to use is what a person approved or edited, else the model's suggestion; the model's
original, the review state, who reviewed, the language and the checks go alongside.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from vision.alttext.checks import _normalised
from vision.exports import csv_lines, json_chunks
from vision.models import ReviewState, Task

CHUNK = 200
FIELDS = [
    "id",
    "filename",
    "source_url",
    "text",
    "model_text",
    "long_description",
    "review_state",
    "reviewed_by",
    "language",
    "checks",
    "status",
    "error",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "created",
    "finished",
]


def row(task: Task, other_alts: Iterable[str] = ()) -> dict:
    images = list(task.images.all())
    first = images[0] if images else None
    return {
        "id": task.external_id,
        "filename": first.name if first else "",
        "source_url": first.source_url if first else "",
        "text": task.text,
        "model_text": task.model_text,
        "long_description": task.long_description,
        "review_state": task.review_state if task.status == Task.Status.COMPLETED else "",
        "reviewed_by": task.reviewed_by.get_username() if task.reviewed_by_id else "",
        "language": task.language,
        "checks": "; ".join(finding.message for finding in task.findings(other_alts)),
        "status": task.status,
        "error": task.error_message,
        "model": task.model,
        **task.token_counts(),
        "created": task.created.isoformat(),
        "finished": task.finished.isoformat() if task.finished else "",
    }


def _rows(batch, tasks) -> Iterator[dict]:
    repeated = repeated_texts(batch)
    for task in tasks.select_related("reviewed_by").iterator(chunk_size=CHUNK):
        yield row(task, same_as_another(task, repeated))


def repeated_texts(batch) -> Counter:
    """How often each text (compared as the check compares them) occurs among a batch's finished rows."""
    if not batch.purpose:
        return Counter()
    values = batch.tasks.filter(status=Task.Status.COMPLETED).values_list("review_state", "final_text", "alt_text")
    texts = (final if state in ("edited", "approved") and final else alt for state, final, alt in values)
    return Counter(_normalised(text) for text in texts if text)


def same_as_another(task: Task, repeated: Counter) -> list[str]:
    """What to give the duplicate check for this row: its own text when another row has it too."""
    text = task.text
    return [text] if text and repeated[_normalised(text)] > 1 else []


def csv_rows(batch, tasks) -> Iterator[str]:
    return csv_lines(FIELDS, _rows(batch, tasks))


def json_rows(batch, tasks) -> Iterator[str]:
    return json_chunks(_rows(batch, tasks))


def alt_text_rows(tasks) -> Iterator[str]:
    """`filename,alt` for a CMS import: the approved or edited text where there is one, else the model's.

    Finished rows only, and never a rejected one: what is in this file goes live on a site. The full
    CSV and JSON keep rejected rows, with their review state.
    """
    usable = tasks.filter(status=Task.Status.COMPLETED).exclude(review_state=ReviewState.REJECTED)
    finished = usable.iterator(chunk_size=CHUNK)
    lines = ([first.name if (first := next(iter(task.images.all()), None)) else "", task.text] for task in finished)
    return csv_lines(["filename", "alt"], lines)


def attach_checks(tasks: Iterable[Task], batch=None) -> None:
    """Work out each task's checks for a page, the batch's other texts included (one query per batch)."""
    repeated = repeated_texts(batch) if batch is not None else Counter()
    for task in tasks:
        task.checks = task.findings(same_as_another(task, repeated))
