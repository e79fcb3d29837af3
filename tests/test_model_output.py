"""Model output is inert wherever it is shown: its container carries hx-disable, so even markup that
slipped past the sanitiser could not make htmx send requests."""

from html.parser import HTMLParser

import pytest

from tests.factories import make_task
from vision.models import Task

pytestmark = pytest.mark.django_db

ANSWER = "Marker-answer: a red square."
REASONING = "Marker-reasoning: counted the corners."
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TextUnderHxDisable(HTMLParser):
    """Finds each text node containing ``marker`` and whether an ancestor has hx-disable."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker
        self.stack: list[bool] = []
        self.verdicts: list[bool] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append("hx-disable" in dict(attrs))

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.marker in data:
            self.verdicts.append(any(self.stack))


def shown_only_under_hx_disable(html: str, marker: str) -> bool:
    parser = _TextUnderHxDisable(marker)
    parser.feed(html)
    return bool(parser.verdicts) and all(parser.verdicts)


@pytest.fixture
def answered(alice_client, alice):
    task = make_task(alice, include_reasoning=True)
    alice_client.get(f"/tasks/{task.pk}/")  # collects the sandbox's answer
    Task.objects.filter(pk=task.pk).update(answer=ANSWER, reasoning=REASONING)
    assert Task.objects.get(pk=task.pk).status == "completed"
    return task


def test_it_checks_what_it_claims():
    assert shown_only_under_hx_disable("<div hx-disable><p>x Marker y</p></div>", "Marker")
    assert not shown_only_under_hx_disable("<div hx-disable></div><p>Marker</p>", "Marker")
    assert not shown_only_under_hx_disable("<p>nothing</p>", "Marker")


def test_the_task_page_shows_answer_and_reasoning_under_hx_disable(alice_client, answered):
    page = alice_client.get(f"/tasks/{answered.pk}/").content.decode()
    assert shown_only_under_hx_disable(page, "Marker-answer")
    assert shown_only_under_hx_disable(page, "Marker-reasoning")


def test_the_status_card_shows_the_answer_under_hx_disable(alice_client, answered):
    card = alice_client.get(f"/tasks/{answered.pk}/status/", headers={"HX-Request": "true"}).content.decode()
    assert shown_only_under_hx_disable(card, "Marker-answer")
    assert shown_only_under_hx_disable(card, "Marker-reasoning")


def test_a_failed_task_shows_its_error_under_hx_disable(alice_client, alice):
    task = make_task(alice, submit=False)
    Task.objects.filter(pk=task.pk).update(status="failed", error_message="Marker-error from the service")
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert shown_only_under_hx_disable(page, "Marker-error")


def test_history_rows_show_the_answer_under_hx_disable(alice_client, answered):
    page = alice_client.get("/history/").content.decode()
    assert shown_only_under_hx_disable(page, "Marker-answer")
    row = alice_client.get(f"/tasks/{answered.pk}/status/?row=1", headers={"HX-Request": "true"}).content.decode()
    assert shown_only_under_hx_disable(row, "Marker-answer")


def test_the_shared_page_shows_the_answer_under_hx_disable(client, alice_client, answered):
    alice_client.post(f"/tasks/{answered.pk}/public-link/", {"action": "create"})
    token = Task.objects.get(pk=answered.pk).share_token
    page = client.get(f"/shared/{token}/").content.decode()
    assert shown_only_under_hx_disable(page, "Marker-answer")
