"""Alt text for three images used in three ways: edited, approved, exported."""

import csv
import io

import pytest
from django.utils import timezone
from PIL import Image

from tests.browser.conftest import check_a11y, log_in
from tests.factories import make_task
from vision.models import Batch, Task

pytestmark = pytest.mark.django_db(transaction=True)


def describe_one(page, path, purpose: str, action: str = ""):
    page.goto("/")
    page.locator('input[name="files"]').set_input_files(str(path))
    page.locator('.staged-item:has(input[name="uploads"])', has_text=path.name).wait_for()
    page.get_by_role("button", name="Alt text (≤ 125 characters)").click()
    page.get_by_text(purpose).click()
    if action:
        page.get_by_label("Where does it go, or what does it do?").fill(action)
    page.get_by_role("button", name="Describe", exact=True).click()
    page.wait_for_url("**/tasks/*/")


def test_alt_text_for_three_purposes_edited_approved_exported(new_page, django_user_model, tmp_path, screenshot):
    django_user_model.objects.create_user("ines", password="ines-password-1")
    paths = []
    for name, colour in (("team.png", (200, 40, 40)), ("border.png", (230, 230, 230)), ("cart.png", (20, 90, 200))):
        Image.new("RGB", (300, 200), colour).save(tmp_path / name)
        paths.append(tmp_path / name)
    page = new_page()
    log_in(page, "ines", "ines-password-1")

    page.get_by_role("button", name="Alt text (≤ 125 characters)").click()
    page.get_by_text("It is a link or a button").click()
    check_a11y(page)
    screenshot(page, "alt-text-purpose")

    describe_one(page, paths[0], "It shows something the reader should know")
    page.locator(".alt-text").wait_for(timeout=20_000)
    page.get_by_text("Edit", exact=True).click()
    box = page.get_by_label("Alt text", exact=True)
    # Opening Edit leaves the button in its row and puts the text box below it (not the button on a line of its own).
    edit = page.locator(".edit-alt summary").bounding_box()
    copy = page.locator(".alt-actions").get_by_role("button", name="Copy text").bounding_box()
    assert abs(edit["y"] - copy["y"]) < 4 and edit["x"] > copy["x"]
    assert box.bounding_box()["y"] >= edit["y"] + edit["height"]
    box.fill("Our support team of four, smiling at the Leeds office")
    assert "characters" in page.locator(".edit-alt .help").inner_text()
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".alt-text", has_text="Our support team of four").wait_for()
    assert page.locator(".review-edited").first.is_visible()
    check_a11y(page)
    screenshot(page, "alt-text-edited")

    describe_one(page, paths[1], "It is only decoration")
    page.get_by_text('alt=""').first.wait_for()

    describe_one(page, paths[2], "It is a link or a button", action="View your shopping cart")
    page.locator(".alt-text").wait_for(timeout=20_000)
    page.get_by_role("button", name="Approve").click()
    page.locator(".review-approved").first.wait_for()

    first = Task.objects.get(images__name="team.png")
    page.goto(first.get_absolute_url())
    page.get_by_role("button", name="Approve").click()
    page.locator(".review-approved").first.wait_for()
    check_a11y(page)

    page.goto("/history/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_bytes().decode("utf-8-sig"))))
    by_purpose = {Task.objects.get(pk=row["id"]).purpose: row for row in rows}
    assert by_purpose["informative"]["text"] == "Our support team of four, smiling at the Leeds office"
    assert by_purpose["informative"]["review_state"] == "approved"
    assert by_purpose["link"]["review_state"] == "approved"
    assert by_purpose["decorative"]["text"] == ""
    assert Task.objects.get(purpose="decorative").total_tokens == 0


def focused(page) -> str:
    return page.evaluate("document.activeElement.tagName + ' ' + document.activeElement.textContent.trim()")


def finished_alt_text(owner, batch=None, name="shop.png") -> Task:
    task = make_task(owner, submit=False, batch=batch, purpose="informative", status="completed")
    task.alt_text = f"A red square ({name})"
    task.answer = task.alt_text
    task.save()
    return task


def test_focus_stays_on_the_result_after_approve_reject_and_save(new_page, django_user_model):
    ines = django_user_model.objects.create_user("ines", password="ines-password-1")
    task = finished_alt_text(ines)
    page = new_page()
    log_in(page, "ines", "ines-password-1")
    page.goto(task.get_absolute_url())
    page.get_by_role("button", name="Approve").focus()
    page.keyboard.press("Enter")
    page.locator(".review-approved").first.wait_for()
    assert focused(page) == "SPAN Approved"
    page.keyboard.press("Tab")  # on from the result's state, not from the top of the page
    assert page.evaluate("document.activeElement.closest('.alt-result') !== null")

    page.get_by_role("button", name="Reject").focus()
    page.keyboard.press("Enter")
    page.locator(".review-rejected").first.wait_for()
    assert focused(page) == "SPAN Rejected"

    page.get_by_text("Edit", exact=True).click()
    page.get_by_label("Alt text", exact=True).fill("A red square on a white shelf")
    page.get_by_role("button", name="Save", exact=True).focus()
    page.keyboard.press("Enter")
    page.locator(".review-edited").first.wait_for()
    assert focused(page) == "SPAN Edited"
    check_a11y(page)


def test_focus_stays_on_the_row_after_approving_on_the_batch_page(new_page, django_user_model):
    ines = django_user_model.objects.create_user("ines", password="ines-password-1")
    batch = Batch.objects.create(
        owner=ines,
        name="shop",
        model="claude-opus-4-7",
        prompt="Alt text",
        purpose="informative",
        key_source="sandbox",
        confirmed=timezone.now(),
    )
    finished_alt_text(ines, batch, "one.png")
    second = finished_alt_text(ines, batch, "two.png")
    page = new_page()
    log_in(page, "ines", "ines-password-1")
    page.goto(batch.get_absolute_url())
    row = page.locator(f"#row-{second.pk}")
    row.get_by_role("button", name="Approve").focus()
    page.keyboard.press("Enter")
    row.locator(".review-approved").wait_for()
    assert focused(page) == "SPAN Approved"
    assert page.evaluate(f"document.activeElement.closest('#row-{second.pk}') !== null")
