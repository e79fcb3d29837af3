"""The history page in the browser: keys do what people expect."""

import pytest

from tests.browser.conftest import check_a11y, log_in
from tests.factories import make_task
from vision.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def test_enter_on_a_selected_row_neither_exports_nor_deletes(new_page, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="alice-password-1")
    make_task(alice)
    page = new_page()
    log_in(page, "alice", "alice-password-1")
    page.goto("/history/")
    check_a11y(page)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    checkbox = page.locator("input.select").first
    checkbox.check()
    checkbox.press("Enter")
    page.get_by_role("button", name="Search").click()  # a later request, so an earlier one would be seen
    page.wait_for_load_state()
    assert posts == []
    assert Task.objects.count() == 1
