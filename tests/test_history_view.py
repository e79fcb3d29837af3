"""History: the tasks you may see, searchable and filterable, in pages that cost the same at any depth."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_task
from vision.models import Task, Team

pytestmark = pytest.mark.django_db


def answered(owner, answer, **fields):
    task = make_task(owner, submit=False, **fields)
    Task.objects.filter(pk=task.pk).update(answer=answer, status="completed")
    return task


def test_it_lists_own_and_team_tasks_newest_first(client, alice, bob, carol, team):
    older = answered(alice, "A red kite over a beach.", team=team)
    newer = answered(bob, "A bowl of lemons.")
    answered(carol, "Carol's private harbour.")
    client.force_login(bob)
    page = client.get("/history/").content.decode()
    assert page.index("A bowl of lemons.") < page.index("A red kite over a beach.")
    assert "harbour" not in page
    assert "by alice" in page and "shared with Web editors" in page
    assert f"/tasks/{older.pk}/" in page and f"/tasks/{newer.pk}/" in page


def test_search_finds_words_of_the_answer_and_prompt(client, alice):
    answered(alice, "A red kite over a sandy beach.", prompt="Describe the kite")
    answered(alice, "Two lemons in a blue bowl.", prompt="Describe the fruit")
    client.force_login(alice)
    assert "sandy beach" in client.get("/history/?q=kite").content.decode()
    assert "lemons" not in client.get("/history/?q=kite").content.decode()
    assert "lemons" in client.get("/history/?q=FRUIT").content.decode()
    assert "lemons" in client.get("/history/?q=lem").content.decode()  # a word's beginning is enough
    both = client.get("/history/?q=blue+bowl").content.decode()
    assert "lemons" in both
    assert "No descriptions match" in client.get("/history/?q=blue+kite").content.decode()


def test_a_row_names_its_images_so_a_search_by_file_name_shows_why_it_matched(client, alice):
    task = answered(alice, "A red kite over a sandy beach.", image_names="banner.jpg")
    task.images.update(name="banner.jpg")
    client.force_login(alice)
    page = client.get("/history/?q=banner").content.decode()
    assert "A red kite" in page
    assert '<span class="history-name" hx-disable>banner.jpg</span>' in page


def test_filters_narrow_the_list(client, alice, bob, team):
    answered(alice, "Mine with gemini", model="gemini-2.5-pro")
    answered(bob, "Bob shared", team=team)
    failed = make_task(alice, submit=False)
    Task.objects.filter(pk=failed.pk).update(status="failed", prompt="Broken one")
    client.force_login(alice)
    assert "Mine with gemini" in client.get("/history/?model=gemini-2.5-pro").content.decode()
    assert "Bob shared" not in client.get("/history/?model=gemini-2.5-pro").content.decode()
    only_failed = client.get("/history/?status=failed").content.decode()
    assert "Broken one" in only_failed and "Bob shared" not in only_failed
    assert "Bob shared" in client.get("/history/?owner=others").content.decode()
    assert "Bob shared" not in client.get("/history/?owner=me").content.decode()
    assert "Bob shared" in client.get(f"/history/?team={team.pk}").content.decode()


def test_date_filters(client, alice):
    old = answered(alice, "From last month")
    Task.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=30))
    answered(alice, "From today")
    client.force_login(alice)
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    page = client.get(f"/history/?since={since}").content.decode()
    assert "From today" in page and "From last month" not in page
    until = (timezone.now() - timedelta(days=2)).date().isoformat()
    page = client.get(f"/history/?until={until}").content.decode()
    assert "From last month" in page and "From today" not in page


def test_a_team_filter_for_a_team_you_are_not_in_shows_nothing_of_it(client, alice, carol):
    their_team = Team.found("Carol's", carol)
    answered(carol, "Carol's secret", team=their_team)
    client.force_login(alice)
    page = client.get(f"/history/?team={their_team.pk}").content.decode()
    assert "Carol's secret" not in page


def test_pages_go_by_id_and_keep_the_filters(client, alice):
    for number in range(55):
        answered(alice, f"Answer number {number:02d}")
    client.force_login(alice)
    first = client.get("/history/?q=answer").content.decode()
    assert "Answer number 54" in first and "Answer number 04" not in first
    assert first.count('class="history-item"') == 50
    oldest_shown = Task.objects.order_by("-id")[49].pk
    assert f"?q=answer&amp;before={oldest_shown}" in first
    second = client.get(f"/history/?q=answer&before={oldest_shown}").content.decode()
    assert second.count('class="history-item"') == 5
    assert "Answer number 04" in second
    assert "Older" not in second


def test_the_page_costs_the_same_queries_for_10_or_50_tasks(client, alice, bob, team):
    for number in range(10):
        answered(bob if number % 2 else alice, f"Task {number}", team=team, image_count=2)
    client.force_login(alice)
    client.get("/history/")  # warm the session and profile
    with CaptureQueriesContext(connection) as few:
        client.get("/history/")
    for number in range(40):
        answered(bob if number % 2 else alice, f"More {number}", team=team, image_count=2)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/history/")
    assert response.content.decode().count('class="history-item"') == 50
    assert len(many) == len(few) <= 8


def test_unfinished_rows_are_titled_by_their_images_with_the_prompt_below(client, alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    running = make_task(alice, image_count=3, prompt="Count the lemons.")
    client.force_login(alice)
    page = client.get("/history/").content.decode()
    assert "image-0.png + 2 more" in page
    assert '<p class="history-prompt">Count the lemons.</p>' in page
    row = client.get(f"/tasks/{running.pk}/status/?row=1", headers={"HX-Request": "true"}).content.decode()
    assert "image-0.png + 2 more" in row and "Count the lemons." in row


def test_active_tasks_keep_updating_in_the_list(client, alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    task = make_task(alice)
    client.force_login(alice)
    page = client.get("/history/").content.decode()
    assert f'hx-get="/tasks/{task.pk}/status/?row=1"' in page
    row = client.get(f"/tasks/{task.pk}/status/?row=1", headers={"HX-Request": "true"}).content.decode()
    assert row.strip().startswith('<li class="history-item"')


def test_an_owner_deletes_selected_tasks(client, alice):
    keep, drop_one, drop_two = (answered(alice, f"Task {n}") for n in range(3))
    client.force_login(alice)
    response = client.post("/history/delete/", {"task": [drop_one.pk, drop_two.pk]}, follow=True)
    assert "Deleted 2 descriptions." in response.content.decode()
    assert list(Task.objects.all()) == [keep]


def test_deleting_removes_image_files_no_longer_used(client, alice, settings):
    task = make_task(alice, submit=False)
    twin = make_task(alice, submit=False)  # the same image bytes: one shared file
    path = settings.MEDIA_ROOT / task.images.first().file.name
    client.force_login(alice)
    client.post("/history/delete/", {"task": [task.pk]})
    assert path.exists()
    client.post("/history/delete/", {"task": [twin.pk]})
    assert not path.exists()


def read_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_of_the_filtered_tasks(client, alice):
    answered(alice, "Kite on a beach", prompt="=HYPERLINK(evil)")
    answered(alice, "Lemons")
    client.force_login(alice)
    response = client.get("/history/export.csv?q=kite")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="foxweb-descriptions-')
    rows = read_csv(response)
    assert [row["answer"] for row in rows] == ["Kite on a beach"]
    assert rows[0]["images"] == "image-0.png"
    assert rows[0]["prompt"] == "'=HYPERLINK(evil)"
    assert set(rows[0]) >= {"model", "prompt", "answer", "total_tokens", "status", "created", "finished"}


def test_json_export_of_selected_tasks(client, alice):
    one = answered(alice, "One")
    answered(alice, "Two")
    client.force_login(alice)
    response = client.post("/history/export.json", {"task": [one.pk]})
    data = json.loads(b"".join(response.streaming_content))
    assert [item["answer"] for item in data] == ["One"]
    assert data[0]["images"] == ["image-0.png"]


def test_exports_stream_in_chunks_with_a_fixed_number_of_queries(client, alice, monkeypatch):
    from vision.views import history

    monkeypatch.setattr(history, "EXPORT_CHUNK", 5)
    for number in range(12):
        answered(alice, f"Row {number}")
    client.force_login(alice)
    response = client.get("/history/export.json")
    assert response.streaming
    with CaptureQueriesContext(connection) as queries:
        data = json.loads(b"".join(response.streaming_content))
    assert len(data) == 12
    assert len(queries) <= 2 * 3 + 2  # one query for tasks and one for images per chunk of 5


def test_exporting_a_selection_of_nothing_says_so(client, alice):
    answered(alice, "One")
    client.force_login(alice)
    response = client.post("/history/export.csv", {}, follow=True)
    assert "Select the descriptions to export first" in response.content.decode()


def test_huge_ids_are_not_found_rather_than_errors(client, alice, team):
    client.force_login(alice)
    huge = "9" * 25
    assert client.get(f"/teams/{huge}/").status_code == 404
    assert client.get(f"/tasks/{huge}/").status_code == 404
    assert client.post("/history/delete/", {"task": [huge]}).status_code == 302
    assert client.get(f"/?again={huge}").status_code == 200
    describe = {"describe": "1", "model": "claude-opus-4-7", "prompt": "x", "max_tokens": "300", "key": "sandbox"}
    assert client.post("/", {**describe, "uploads": [huge]}).status_code == 400


def test_an_unknown_export_format_is_refused(client, alice):
    client.force_login(alice)
    assert client.get("/history/export.xml").status_code == 400


def test_an_empty_history_says_what_to_do(client, alice):
    client.force_login(alice)
    assert "Describe your first image" in client.get("/history/").content.decode()


def test_filter_by_one_colleague(client, alice, bob, carol, team):
    from vision.models import Membership

    Membership.objects.create(team=team, user=carol)
    answered(bob, "Bob's work", team=team)
    answered(carol, "Carol's work", team=team)
    client.force_login(alice)
    page = client.get(f"/history/?owner={bob.pk}").content.decode()
    assert "Bob&#x27;s work" in page and "Carol" not in page.split("history-list")[-1]
    stranger = client.get("/history/?owner=999999").content.decode()
    assert "Bob&#x27;s work" in stranger  # not a colleague: the filter is ignored, nothing leaks


def test_exports_leave_tokens_empty_when_foxapi_reported_none(client, alice):
    counted = answered(alice, "Counted")
    Task.objects.filter(pk=counted.pk).update(prompt_tokens=800, completion_tokens=20, total_tokens=820)
    answered(alice, "Uncounted")  # completed, but FoxAPI's answer had no usage
    client.force_login(alice)
    rows = {row["answer"]: row for row in read_csv(client.get("/history/export.csv"))}
    assert rows["Counted"]["total_tokens"] == "820"
    assert (rows["Uncounted"]["prompt_tokens"], rows["Uncounted"]["total_tokens"]) == ("", "")
    data = {item["answer"]: item for item in json.loads(b"".join(client.get("/history/export.json").streaming_content))}
    assert data["Counted"]["completion_tokens"] == 20
    assert data["Uncounted"]["total_tokens"] is None
