"""A task page while its description is on the way: the timer, and where focus goes when it is done."""

import re
from datetime import datetime, timedelta

import pytest

from tests.browser.conftest import check_a11y, log_in
from tests.factories import make_task

pytestmark = pytest.mark.django_db(transaction=True)


def seconds(text: str) -> float:
    match = re.fullmatch(r"(?:(\d+) min )?([\d.]+) s", text.strip())
    assert match, text
    return int(match.group(1) or 0) * 60 + float(match.group(2))


def test_the_so_far_timer_only_goes_forwards(new_page, django_user_model, settings):
    settings.FOXAPI_SANDBOX_DURATION = 120
    settings.FOXWEB_POLL_FIRST_SECONDS = 1.5
    alice = django_user_model.objects.create_user("alice", password="alice-password-1")
    task = make_task(alice)
    page = new_page()
    log_in(page, "alice", "alice-password-1")
    # This computer's clock is a few seconds ahead of the server's, as clocks often are.
    page.clock.install(time=datetime.now() + timedelta(seconds=4))
    page.goto(f"/tasks/{task.pk}/")
    timer = page.locator(".status-card p.muted span").first
    shown = [seconds(timer.inner_text())]
    check_a11y(page)
    for _ in range(4):
        page.clock.run_for(1000)
        shown.append(seconds(timer.inner_text()))
        with page.expect_response(f"**/tasks/{task.pk}/status/"):
            page.clock.run_for(1000)  # the status card is polled and replaced
        timer.wait_for()
        shown.append(seconds(timer.inner_text()))
    assert shown == sorted(shown), shown
    assert shown[-1] > shown[0]


def test_focus_moves_to_the_answer_once_it_arrives(new_page, django_user_model, settings):
    settings.FOXAPI_SANDBOX_DURATION = 3.0
    alice = django_user_model.objects.create_user("alice", password="alice-password-1")
    page = new_page()
    log_in(page, "alice", "alice-password-1")
    task = make_task(alice)
    page.goto(f"/tasks/{task.pk}/")
    page.get_by_role("progressbar").wait_for()
    page.get_by_role("heading", name="Description", exact=True).wait_for(timeout=20_000)
    assert page.evaluate("document.activeElement.id") == f"answer-{task.pk}"
    assert page.get_by_role("status").filter(has_text="The description is ready.").count() == 1
    check_a11y(page)


def test_focus_stays_where_the_user_moved_on_to(new_page, django_user_model, settings):
    settings.FOXAPI_SANDBOX_DURATION = 3.0
    alice = django_user_model.objects.create_user("alice", password="alice-password-1")
    page = new_page()
    log_in(page, "alice", "alice-password-1")
    task = make_task(alice)
    page.goto(f"/tasks/{task.pk}/")
    page.get_by_role("progressbar").wait_for()
    page.get_by_label("Who can see this description").focus()
    page.get_by_role("heading", name="Description", exact=True).wait_for(timeout=20_000)
    assert page.evaluate("document.activeElement.name") == "team"


def test_a_lost_connection_is_said_and_taken_back_when_polls_get_through(new_page, django_user_model, settings):
    settings.FOXAPI_SANDBOX_DURATION = 120
    settings.FOXWEB_POLL_FIRST_SECONDS = 1.0
    alice = django_user_model.objects.create_user("alice", password="alice-password-1")
    task = make_task(alice)
    page = new_page()
    log_in(page, "alice", "alice-password-1")
    page.goto(f"/tasks/{task.pk}/")
    page.route("**/status/", lambda route: route.abort())
    banner = page.locator(".messages", has_text="FoxWeb could not be reached")
    banner.wait_for()
    check_a11y(page)
    page.unroute("**/status/")
    banner.wait_for(state="detached")
    assert page.locator(".messages").inner_text().strip() == ""
