"""Two colleagues on one team, and a third person on none, as new users would meet FoxWeb."""

import pytest
from PIL import Image

from tests.browser.conftest import check_a11y, log_in
from vision.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_team_shares_finds_and_exports_a_description(new_page, django_user_model, tmp_path, settings, screenshot):
    settings.FOXAPI_SANDBOX_DURATION = 1.0
    for name in ("alice", "bob", "carol"):
        django_user_model.objects.create_user(name, password=f"{name}-password-1")
    photo = tmp_path / "lemons.png"
    Image.new("RGB", (300, 200), (240, 220, 40)).save(photo)

    # Alice creates a team and makes an invitation link.
    alice = new_page()
    log_in(alice, "alice", "alice-password-1")
    alice.get_by_role("link", name="Teams").click()
    alice.get_by_label("Team name").fill("Shop staff")
    alice.get_by_role("button", name="Create team").click()
    alice.get_by_role("button", name="Make an invitation link").click()
    link = alice.locator("#invite-url").input_value()
    assert "/invitations/" in link
    check_a11y(alice)

    # Bob joins with the link.
    bob = new_page()
    log_in(bob, "bob", "bob-password-1")
    bob.goto(link)
    check_a11y(bob)
    bob.get_by_role("button", name="Join the team").click()
    bob.get_by_role("heading", name="Shop staff").wait_for()

    # Alice describes a photo and shares it with the team.
    alice.get_by_role("link", name="Describe").click()
    alice.locator('input[name="files"]').set_input_files(str(photo))
    alice.locator('.staged-item:has(input[name="uploads"])', has_text="lemons.png").wait_for()
    alice.get_by_label("Share with").select_option(label="Shop staff")
    alice.get_by_role("button", name="Describe", exact=True).click()
    alice.get_by_role("heading", name="Description").wait_for()
    task = Task.objects.get()
    assert task.team.name == "Shop staff"
    word = "yellow"
    assert word in task.answer

    # Bob finds it by a word of the answer and exports it as CSV.
    bob.get_by_role("link", name="History").click()
    bob.get_by_label("Search answers, prompts, file names and addresses").fill(word)
    bob.get_by_role("button", name="Search").click()
    row = bob.locator(".history-item")
    row.first.wait_for()
    assert row.count() == 1
    assert "by alice" in row.inner_text()
    check_a11y(bob)
    screenshot(bob, "history")
    with bob.expect_download() as download:
        bob.get_by_role("link", name="CSV", exact=True).click()
    exported = download.value.path().read_text(encoding="utf-8-sig")
    assert task.answer.splitlines()[0][2:] in exported
    assert "lemons.png" in exported

    # Bob can read it, but not change it.
    bob.goto(f"/tasks/{task.pk}/")
    assert "Read-only" in bob.content()
    assert bob.get_by_role("button", name="Save sharing").count() == 0
    check_a11y(bob)

    # Carol, on no team, reaches it by no URL.
    carol = new_page()
    log_in(carol, "carol", "carol-password-1")
    image = task.images.get()
    for url in (
        f"/tasks/{task.pk}/",
        f"/tasks/{task.pk}/status/",
        f"/images/{image.pk}/",
        f"/images/{image.pk}/thumbnail/",
        f"/?again={task.pk}",
    ):
        assert carol.goto(url).status == 404, url
    carol.goto("/history/")
    assert carol.locator(".history-item").count() == 0
    response = carol.request.get("/history/export.csv")
    assert task.answer.splitlines()[0][2:] not in response.text()
