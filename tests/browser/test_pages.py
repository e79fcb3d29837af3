"""Every main page on a small phone and on a desktop: nothing off screen, nothing axe calls serious."""

import pytest

from tests.browser.conftest import check_a11y, log_in
from tests.factories import make_task
from vision.models import Invitation, Team

pytestmark = pytest.mark.django_db(transaction=True)

MENU = ["Describe", "History", "Teams", "Keys", "Account", "Log out"]


@pytest.mark.parametrize("width", [320, 1280])
def test_every_page_fits_the_screen_and_shows_the_whole_menu(new_page, django_user_model, width):
    alice = django_user_model.objects.create_user("alice", password="alice-password-1")
    team = Team.found("Shop staff with a rather long team name", alice)
    task = make_task(alice, image_count=3, team=team)
    token = task.share_publicly()
    invitation = Invitation.issue(team, alice)
    page = new_page(viewport={"width": width, "height": 800})
    for url in ("/login/", invitation.get_absolute_url()):  # before logging in
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, url
        check_a11y(page)
    log_in(page, "alice", "alice-password-1")
    for url in ("/", "/history/", "/teams/", f"/teams/{team.pk}/", "/keys/", "/account/", f"/tasks/{task.pk}/"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, url
        for name in MENU:
            item = page.get_by_role("navigation", name="Main").get_by_text(name, exact=True)
            box = item.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{name} is off screen on {url}"
        check_a11y(page)
    for url in (f"/shared/{token}/", invitation.get_absolute_url()):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, url
        check_a11y(page)
