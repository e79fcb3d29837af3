"""Batches: one description per image, from files, a ZIP or a list; confirmed first; one poll; exports."""

import csv
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import image_bytes, upload_file
from tests.jobqueue import settle
from vision import foxapi, sandbox, worker
from vision.models import Batch, Task, Upload

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def batch_data(**overrides):
    data = {
        "describe": "1",
        "mode": "each",
        "model": "claude-opus-4-7",
        "prompt": "Write a product description.",
        "max_tokens": "300",
        "urls": "",
        "key": "sandbox",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def photos(count: int) -> list:
    return [upload_file(f"photo-{n}.png", colour=(10 * n, 100, 200 - n)) for n in range(count)]


def a_zip(members: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return SimpleUploadedFile("photos.zip", buffer.getvalue(), content_type="application/zip")


@pytest.fixture
def submits(monkeypatch):
    calls = []
    original = foxapi.FoxAPIClient.submit_vision_task

    def counting(self, request, **kwargs):
        calls.append(request)
        return original(self, request, **kwargs)

    monkeypatch.setattr(foxapi.FoxAPIClient, "submit_vision_task", counting)
    return calls


def test_one_description_each_makes_a_draft_that_sends_nothing(alice_client, alice, submits):
    response = alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    assert response["Location"] == f"/batches/{batch.pk}/"
    assert batch.is_draft and batch.owner == alice
    assert list(batch.tasks.values_list("status", flat=True)) == ["draft"] * 3
    settle()
    assert submits == []  # nothing is sent before the owner confirms
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "Check before sending" in page
    assert "Send 3 images" in page
    assert "Claude Opus 4.7" in page
    assert "Sandbox demo key" in page
    assert re.search(r"about [\d,]+ tokens sent", page)


def test_confirming_sends_each_image_on_its_own(alice_client, submits):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    alice_client.post(f"/batches/{batch.pk}/confirm/")  # a second click sends nothing more
    settle()
    assert len(submits) == 3
    assert all(len(request.image_urls) == 1 for request in submits)
    assert set(batch.tasks.values_list("status", flat=True)) == {"completed"}
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "<strong>3</strong> done" in page
    assert "Finished." in page


def test_the_sweeper_leaves_the_rows_of_a_confirmed_batch_to_the_batch_job(alice_client, submits):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    # The sweeper runs each second, also while the batch's job is still queueing the rows: it must
    # not queue them a second time.
    assert worker.sweep()["requeued"] == 0
    settle()
    preparations = DBTaskResult.objects.filter(queue_name="images").exclude(task_path__endswith="start_batch")
    assert preparations.count() == 3  # one per row
    assert len(submits) == 3


def test_rows_of_a_batch_whose_job_was_lost_are_found_by_the_sweeper(alice_client, submits):
    alice_client.post("/", batch_data(files=photos(2)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    DBTaskResult.objects.filter(task_path__endswith="start_batch").delete()  # lost with a crashed queue
    with time_machine.travel(timezone.now() + worker.JOB_LOOKUP_AFTER + timedelta(seconds=1)):
        assert worker.sweep()["requeued"] == 2
    settle()
    assert set(batch.tasks.values_list("status", flat=True)) == {"completed"}
    assert len(submits) == 2


def test_the_mode_defaults_to_one_each_for_several_images_with_a_per_image_preset(alice_client):
    data = batch_data(files=photos(2), preset="product", mode=None)
    response = alice_client.post("/", data)
    assert response["Location"].startswith("/batches/")
    together = batch_data(files=photos(2), preset="", mode=None, model="gemini-2.5-pro", prompt="Compare them.")
    response = alice_client.post("/", together)
    assert response["Location"].startswith("/tasks/")


def test_a_zip_keeps_the_good_images_and_names_the_bad_ones(alice_client):
    archive = a_zip(
        {
            "summer/shoes/red.png": image_bytes(colour=(200, 0, 0)),
            "summer/blue.png": image_bytes(colour=(0, 0, 200)),
            "notes.txt": b"not an image",
            "../escape.png": image_bytes(),
        }
    )
    response = alice_client.post("/", batch_data(zip_file=archive))
    batch = Batch.objects.get()
    assert response.status_code == 302
    names = sorted(batch.tasks.values_list("images__name", flat=True))
    assert names == ["summer/blue.png", "summer/shoes/red.png"]
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "notes.txt" in page and "left out" in page
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    settle()
    assert set(batch.tasks.values_list("status", flat=True)) == {"completed"}


def test_a_zip_bomb_is_refused_without_filling_memory(alice_client):
    bomb = a_zip({"huge.png": b"\0" * 30_000_000})
    response = alice_client.post("/", batch_data(zip_file=bomb))
    assert response.status_code == 200
    assert not Batch.objects.exists()
    assert "None of the files or rows could be used" in response.content.decode()


def test_a_zip_is_described_one_each_even_with_together_chosen(alice_client):
    # A ZIP can only be described one image at a time; refusing it made people pick it again.
    response = alice_client.post("/", batch_data(mode="together", zip_file=a_zip({"a.png": image_bytes()})))
    batch = Batch.objects.get()
    assert response["Location"] == f"/batches/{batch.pk}/"
    assert [task.images.get().name for task in batch.tasks.all()] == ["a.png"]


def test_a_list_is_described_one_each_even_with_together_chosen(alice_client, web_server):
    web_server.routes["/shoe.jpg"] = ("image/jpeg", image_bytes((120, 80), (40, 80, 200), "JPEG"))
    text = f"image\n{web_server.url}/shoe.jpg\n"
    csv = SimpleUploadedFile("products.csv", text.encode(), content_type="text/csv")
    response = alice_client.post("/", batch_data(mode="together", url_file=csv))
    batch = Batch.objects.get()
    assert response["Location"] == f"/batches/{batch.pk}/"
    assert batch.tasks.count() == 1


def test_a_csv_brings_ids_context_and_language(alice_client, web_server):
    web_server.routes["/shoe.jpg"] = ("image/jpeg", image_bytes((120, 80), (40, 80, 200), "JPEG"))
    web_server.routes["/hat.jpg"] = ("image/jpeg", image_bytes((80, 120), (200, 80, 40), "JPEG"))
    text = (
        "sku;image;filename;context;language\n"
        f"SKU-1;{web_server.url}/shoe.jpg;shoe.jpg;Red running shoe, size 42;de\n"
        f"SKU-2;{web_server.url}/hat.jpg;;Straw hat;\n"
        "SKU-3;ftp://example.com/secret.jpg;;;\n"
    )
    data = batch_data(url_file=SimpleUploadedFile("products.csv", text.encode(), content_type="text/csv"))
    alice_client.post("/", data)
    batch = Batch.objects.get()
    rows = list(batch.tasks.order_by("id"))
    assert [row.external_id for row in rows] == ["SKU-1", "SKU-2"]
    assert rows[0].images.get().name == "shoe.jpg" and rows[1].images.get().name == "hat.jpg"
    assert "Red running shoe, size 42" in rows[0].prompt
    assert rows[0].language == "de"
    assert "Row 4" in " ".join(batch.problems)
    assert "SKU-2" in alice_client.get("/history/", {"q": "SKU-2"}).content.decode()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    settle()  # the worker fetches each address
    assert set(batch.tasks.values_list("status", flat=True)) == {"completed"}


def test_a_pasted_list_works_like_a_csv(alice_client, web_server):
    web_server.routes["/a.jpg"] = ("image/jpeg", image_bytes(fmt="JPEG"))
    alice_client.post("/", batch_data(urls=f"{web_server.url}/a.jpg\n{web_server.url}/missing.jpg"))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    settle()
    statuses = dict(batch.tasks.values_list("images__name", "status"))
    assert statuses == {"a.jpg": "completed", "missing.jpg": "failed"}
    failed = batch.tasks.get(status="failed")
    assert "Nothing was sent" in failed.error_message


def test_a_batch_is_capped(alice_client, settings):
    settings.FOXWEB_MAX_IMAGES_PER_BATCH = 3
    response = alice_client.post("/", batch_data(files=photos(5)))
    assert "A batch takes at most 3 images; you gave 5." in response.content.decode()
    assert not Upload.objects.exists()


def test_the_poll_carries_only_changed_rows_and_304_when_nothing_changed(alice_client):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    rows = list(batch.tasks.order_by("id"))
    seen = [f"{task.pk}:{task.revision}" for task in rows]
    url = f"/batches/{batch.pk}/changes/"
    first = alice_client.get(url, {"seen": seen}, headers=HTMX)
    assert first.status_code == 200
    assert 'id="batch-summary"' in first.content.decode()
    assert "row-" not in first.content.decode()  # nothing changed since the page was drawn
    again = alice_client.get(url, {"seen": seen}, headers={**HTMX, "If-None-Match": first["ETag"]})
    assert again.status_code == 304
    Task.objects.filter(pk=rows[1].pk).update(status="processing", revision=rows[1].revision + 1)
    changed = alice_client.get(url, {"seen": seen}, headers={**HTMX, "If-None-Match": first["ETag"]})
    body = changed.content.decode()
    assert changed.status_code == 200
    assert f'id="row-{rows[1].pk}"' in body
    assert f'id="row-{rows[0].pk}"' not in body


def test_the_batch_page_for_500_rows_takes_at_most_10_queries(alice_client, alice):
    batch = Batch.objects.create(owner=alice, name="big", model="claude-opus-4-7", prompt="p", confirmed=timezone.now())
    Task.objects.bulk_create(
        [Task(owner=alice, batch=batch, model="claude-opus-4-7", prompt="p", status="queued") for _ in range(500)]
    )
    with CaptureQueriesContext(connection) as page_queries:
        response = alice_client.get(f"/batches/{batch.pk}/")
    assert response.status_code == 200
    assert len(page_queries) <= 10
    with CaptureQueriesContext(connection) as poll_queries:
        alice_client.get(f"/batches/{batch.pk}/changes/", headers=HTMX)
    assert len(poll_queries) <= 10


def test_retry_one_retry_all_stop_and_delete(alice_client, submits):
    sandbox.inject_faults([{"status": 422, "method": "POST"}] * 2)
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    settle()
    failed = list(batch.tasks.filter(status="failed"))
    assert len(failed) == 2
    response = alice_client.post(f"/tasks/{failed[0].pk}/retry/", {"next": "batch"})
    assert response["Location"] == f"/batches/{batch.pk}/"
    settle()
    assert batch.tasks.filter(status="failed").count() == 1
    alice_client.post(f"/batches/{batch.pk}/retry-failed/")
    settle()
    assert set(batch.tasks.values_list("status", flat=True)) == {"completed"}
    response = alice_client.post(f"/batches/{batch.pk}/delete/")
    assert response.status_code == 302
    assert not Batch.objects.exists() and not Task.objects.exists()


def test_stop_the_rest_means_queued_rows_are_never_sent(alice_client, submits):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    alice_client.post(f"/batches/{batch.pk}/stop/")
    settle()
    assert submits == []
    assert set(batch.tasks.values_list("status", flat=True)) == {"cancelled"}


def test_exports_have_one_row_per_image(alice_client):
    alice_client.post("/", batch_data(files=photos(2)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    settle()
    response = alice_client.get(f"/batches/{batch.pk}/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row["filename"] for row in rows] == ["photo-0.png", "photo-1.png"]
    for column in ("id", "source_url", "text", "status", "error", "model", "total_tokens", "created", "finished"):
        assert column in rows[0]
    data = json.loads(b"".join(alice_client.get(f"/batches/{batch.pk}/export.json").streaming_content))
    assert len(data) == 2 and data[0]["status"] == "completed"
    alt = b"".join(alice_client.get(f"/batches/{batch.pk}/export.alt-text.csv").streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(alt)))
    assert lines[0] == ["filename", "alt"]
    assert [line[0] for line in lines[1:]] == ["photo-0.png", "photo-1.png"]


def test_export_cells_cannot_run_as_formulas(alice_client, alice):
    batch = Batch.objects.create(owner=alice, name="b", model="claude-opus-4-7", prompt="p", confirmed=timezone.now())
    Task.objects.create(owner=alice, batch=batch, model="m", prompt="p", status="completed", answer="=HYPERLINK(1)")
    Task.objects.create(owner=alice, batch=batch, model="m", prompt="p", status="completed", answer="- a list item")
    text = b"".join(alice_client.get(f"/batches/{batch.pk}/export.alt-text.csv").streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    assert ",- a list item" in text


def test_others_cannot_see_or_act_on_a_batch(client, alice, bob, carol, team):
    client.force_login(alice)
    client.post("/", batch_data(files=photos(2), team=str(team.pk)))
    batch = Batch.objects.get()
    client.force_login(carol)
    for url in (f"/batches/{batch.pk}/", f"/batches/{batch.pk}/export.csv"):
        assert client.get(url).status_code == 404
    assert client.get(f"/batches/{batch.pk}/changes/", headers=HTMX).status_code == 404
    for action in ("confirm", "retry-failed", "stop", "delete", "share"):
        assert client.post(f"/batches/{batch.pk}/{action}/").status_code == 404
    client.force_login(bob)  # a team member sees it but cannot send or delete it
    assert client.get(f"/batches/{batch.pk}/").status_code == 200
    for action in ("confirm", "delete"):
        assert client.post(f"/batches/{batch.pk}/{action}/").status_code == 404
    batch.refresh_from_db()
    assert batch.is_draft


def test_history_lists_a_batch_once_and_finds_its_rows(alice_client):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    page = alice_client.get("/history/").content.decode()
    assert page.count("Batch: photo-0.png + 2 more") == 1
    assert "3 images" in page
    found = alice_client.get("/history/", {"q": "photo-2"}).content.decode()
    assert "in <a" in found and f"batch {batch.pk}" in found


def test_a_list_row_with_a_private_address_is_left_out(alice_client):
    text = "url\nhttp://10.0.0.1/secret.jpg\nhttps://example.com/ok.jpg\n"
    alice_client.post("/", batch_data(urls=text))
    batch = Batch.objects.get()
    assert list(batch.tasks.values_list("images__name", flat=True)) == ["ok.jpg"]
    assert "Row 2" in " ".join(batch.problems) and "private" in " ".join(batch.problems)


def test_rows_foxapi_cancelled_are_counted_and_labelled_apart_from_stopped_ones(alice_client):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    settle()
    first, second, _ = batch.tasks.order_by("id")
    Task.objects.filter(pk=first.pk).update(status="cancelled", error_code="stopped", error_message="You stopped it.")
    Task.objects.filter(pk=second.pk).update(
        status="cancelled", error_code="cancelled", error_message="FoxAPI cancelled this description."
    )
    assert batch.counts()["stopped"] == 1 and batch.counts()["cancelled"] == 1
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "<strong>1</strong> stopped" in page
    assert "<strong>1</strong> cancelled by FoxAPI" in page
    assert page.count(">Cancelled by FoxAPI</span>") == 1
    assert page.count(">Stopped</span>") == 1
    assert "Retry failed and stopped" in page


def test_rows_without_reported_tokens_say_so_and_export_empty_cells(alice_client):
    alice_client.post("/", batch_data(files=photos(2)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/")
    settle()
    counted, uncounted = batch.tasks.order_by("id")
    Task.objects.filter(pk=uncounted.pk).update(prompt_tokens=0, completion_tokens=0, total_tokens=0)
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert f"{counted.total_tokens} tokens" in page
    assert page.count("tokens not reported") == 1
    assert not re.search(r"\b0 tokens", page)
    response = alice_client.get(f"/batches/{batch.pk}/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row["total_tokens"] for row in rows] == [str(counted.total_tokens), ""]


def test_a_stopped_batch_is_counted_as_stopped_everywhere_and_its_retry_says_so(alice_client):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/", follow=True)
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert 'data-confirm="Stop every image not finished yet? Nothing has been sent yet for these."' in page
    response = alice_client.post(f"/batches/{batch.pk}/stop/", follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["Stopped 3 images. None had been sent, so none is charged."]
    page = response.content.decode()
    assert "<strong>0</strong> failed" in page and "<strong>3</strong> stopped" in page
    assert "Retry failed and stopped" in page and "Retry all failed" not in page
    history = alice_client.get("/history/").content.decode()
    assert "3 stopped" in history and "failed</span>" not in history


def test_stopping_rows_already_with_foxapi_warns_that_they_may_be_charged(alice_client):
    alice_client.post("/", batch_data(files=photos(3)))
    batch = Batch.objects.get()
    alice_client.post(f"/batches/{batch.pk}/confirm/", follow=True)
    Task.objects.filter(pk=batch.tasks.order_by("id").first().pk).update(status="pending", upstream_id="t-1")
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "Those already with FoxAPI may still be charged." in page
    response = alice_client.post(f"/batches/{batch.pk}/stop/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Stopped 3 images. 1 was already with FoxAPI and may still be charged."
    ]


def test_history_counts_failed_and_foxapi_cancelled_rows_apart_from_stopped_ones(alice_client):
    alice_client.post("/", batch_data(files=photos(4)))
    batch = Batch.objects.get()
    first, second, third, _ = batch.tasks.order_by("id")
    Task.objects.filter(pk=first.pk).update(status="cancelled", error_code="stopped")
    Task.objects.filter(pk=second.pk).update(status="cancelled", error_code="cancelled")
    Task.objects.filter(pk=third.pk).update(status="failed", error_code="bad_request")
    history = alice_client.get("/history/").content.decode()
    assert "1 stopped" in history and "1 failed" in history and "1 cancelled by FoxAPI" in history


def test_rows_that_are_not_alt_text_show_the_answer_rendered_and_safe_without_review_tools(alice_client, alice):
    batch = Batch.objects.create(owner=alice, name="b", model="claude-opus-4-7", prompt="p", confirmed=timezone.now())
    answer = '- A **red** kite\n- <script>alert(1)</script> <a href="javascript:x">y</a>'
    task = Task.objects.create(owner=alice, batch=batch, model="m", prompt="p", status="completed", answer=answer)
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "<li>A <strong>red</strong> kite</li>" in page
    assert "<script>alert" not in page and 'href="javascript' not in page and "**red**" not in page
    assert re.search(rf'<div class="row-answer answer" id="answer-{task.pk}" hx-disable>', page)
    assert "Alt text only (CSV)" not in page
    assert "?show=needs-review" not in page and "?show=approved" not in page and "?show=failed" in page
    assert f'id="row-{task.pk}"' in alice_client.get(f"/batches/{batch.pk}/", {"show": "needs-review"}).content.decode()


def test_the_sending_message_counts_in_words_and_gives_way_to_the_live_summary(alice_client):
    alice_client.post("/", batch_data(files=photos(1)))
    batch = Batch.objects.get()
    page = alice_client.post(f"/batches/{batch.pk}/confirm/", follow=True).content.decode()
    assert page.count("Sending 1 image.") == 1 and "Sending 1 images" not in page
    poll = alice_client.get(f"/batches/{batch.pk}/changes/", headers=HTMX).content.decode()
    assert 'id="batch-summary"' in poll and "Sending" not in poll
    settle()
    page = alice_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "Finished." in page and "Sending" not in page
