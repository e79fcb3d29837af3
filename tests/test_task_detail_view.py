"""The permanent task page: renders fully without JavaScript, never trusts model output as HTML."""

import re

import pytest

from tests.factories import make_task
from vision.models import Task

pytestmark = pytest.mark.django_db


def completed(owner, answer, **fields):
    task = make_task(owner, **fields)
    Task.objects.filter(pk=task.pk).update(answer=answer)
    task.refresh_from_db()
    return task


def test_it_shows_the_answer_images_sizes_and_usage(alice_client, alice):
    task = make_task(alice, image_count=2, include_reasoning=True)
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "Simulated answer from the FoxWeb sandbox" in page
    assert "Original: 60 × 40 PNG" in page
    assert "Sent to the model: 60 × 40 drawing, " in page  # a flat colour is line art: PNG, said in words
    assert f"/images/{task.images.first().pk}/thumbnail/" in page
    assert str(task.total_tokens) in page
    assert "The model&#x27;s reasoning" in page or "The model's reasoning" in page
    assert "Describe again" in page
    assert "hx-trigger" not in page


def test_markdown_is_rendered_and_html_is_not_trusted(alice_client, alice):
    task = completed(alice, "**Bold** line\nnext line\n\n<script>alert(1)</script> [x](javascript:alert(1))")
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "<strong>Bold</strong> line<br>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript' not in page


def test_a_cut_off_answer_says_so(alice_client, alice):
    task = make_task(alice, max_tokens=5)
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "cut off at the longest-answer limit (5 tokens)" in page


def test_a_running_task_refreshes_itself_without_javascript(alice_client, alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    task = make_task(alice)
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert '<progress class="progress" aria-label="Progress" max="100" value="0">' in page


def test_images_are_served_only_to_those_who_may_see_the_task(client, alice, bob):
    task = make_task(alice)
    image = task.images.get()
    client.force_login(alice)
    full = client.get(f"/images/{image.pk}/")
    assert full.status_code == 200
    assert full["Content-Type"] == image.mime_type
    assert b"".join(full.streaming_content) == image.read()
    assert client.get(f"/images/{image.pk}/thumbnail/").status_code == 200
    client.force_login(bob)
    for url in (
        f"/tasks/{task.pk}/",
        f"/tasks/{task.pk}/status/",
        f"/images/{image.pk}/",
        f"/images/{image.pk}/thumbnail/",
    ):
        assert client.get(url, headers={"HX-Request": "true"}).status_code == 404, url
    assert client.post(f"/tasks/{task.pk}/retry/").status_code == 404


def test_unknown_ids_are_404(alice_client):
    assert alice_client.get("/tasks/999999/").status_code == 404
    assert alice_client.get("/images/999999/").status_code == 404


def test_it_is_headed_by_its_images_with_the_prompt_below(alice_client, alice):
    task = make_task(alice, image_count=4, prompt="Write alt text for the shop.")
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert '<h1 class="task-title">image-0.png + 3 more</h1>' in page
    assert '<p class="task-prompt">Write alt text for the shop.</p>' in page
    assert "<title>image-0.png + 3 more · FoxWeb</title>" in page


def test_a_title_names_the_first_image_and_counts_the_rest(alice):
    assert make_task(alice, submit=False, image_count=1).title == "image-0.png"
    assert make_task(alice, submit=False, image_count=2).title == "image-0.png + 1 more"
    bare = make_task(alice, submit=False, image_count=0)
    assert bare.title == f"Description {bare.pk}"


def test_technical_words_are_folded_away_for_those_who_want_them(alice_client, alice):
    task = make_task(alice, temperature=0.7, max_tokens=1024)
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    folded = page[page.index('<details class="tech"><summary>Tokens the model counted</summary>') :]
    assert f"{task.total_tokens} tokens, as the model counted them: {task.prompt_tokens} to read" in folded
    assert "FoxAPI bills in credits" in folded
    assert "the unit FoxAPI charges in" not in page  # the contract bills in credits, not tokens
    assert "<dt>Tokens</dt>" not in page
    settings = page[page.index("<summary>Advanced settings</summary>") :]
    assert "1024 tokens (about 770 words)" in settings
    assert "<dt>Temperature</dt><dd>0.7</dd>" in settings
    assert page.index("<dt>Temperature</dt>") > page.index("<summary>Advanced settings</summary>")


def without_usage(owner):
    """A completed task whose FoxAPI answer had no results[0].usage: every count is 0."""
    task = make_task(owner)
    Task.objects.filter(pk=task.pk).update(prompt_tokens=0, completion_tokens=0, total_tokens=0)
    task.refresh_from_db()
    return task


def test_tokens_not_reported_are_not_shown_as_zero(alice_client, alice):
    task = without_usage(alice)
    assert task.status == "completed" and not task.tokens_reported
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    folded = page[page.index("<summary>Tokens the model counted</summary>") :]
    assert "Not reported" in folded[: folded.index("</details>")]
    assert not re.search(r"\b0 tokens", page)
    card = alice_client.get(f"/tasks/{task.pk}/status/", headers={"HX-Request": "true"}).content.decode()
    assert "Not reported" in card and not re.search(r"\b0 tokens", card)


def test_reported_tokens_are_shown(alice):
    task = make_task(alice)
    assert task.tokens_reported
    assert task.token_counts()["total_tokens"] == task.total_tokens > 0
