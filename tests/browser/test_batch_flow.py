"""A web editor with a folder of 40 product photos: one alt text each, confirmed, watched, exported."""

import csv
import io
import zipfile

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import check_a11y, log_in
from vision.models import Batch, Task

pytestmark = pytest.mark.django_db(transaction=True)


def product_photos(folder, count: int) -> list[str]:
    folder.mkdir()
    names = []
    for number in range(count):
        image = Image.new("RGB", (400, 300), (240, 240, 240))
        draw = ImageDraw.Draw(image)
        draw.rectangle((100, 60, 300, 240), fill=((number * 37) % 255, (number * 91) % 255, 120))
        name = f"product-{number:02d}.jpg"
        image.save(folder / name, "JPEG", quality=80)
        names.append(name)
    (folder / "notes.txt").write_text("not an image")  # left out by the folder picker
    return names


def test_a_folder_of_40_photos_becomes_40_alt_texts(new_page, django_user_model, tmp_path, screenshot, settings):
    settings.FOXAPI_SANDBOX_DURATION = 1.0
    django_user_model.objects.create_user("wendy", password="wendy-password-1")
    names = product_photos(tmp_path / "shop", 40)
    page = new_page()
    log_in(page, "wendy", "wendy-password-1")

    page.get_by_role("button", name="Alt text (≤ 125 characters)").click()
    page.locator("#folder-input").set_input_files(str(tmp_path / "shop"))
    page.locator("#image-count").get_by_text("40 images ready.").wait_for(timeout=90_000)
    assert page.get_by_label("One description for each image").is_checked()  # the default for alt text
    page.get_by_text("It shows something the reader should know").wait_for()
    check_a11y(page)
    page.get_by_role("button", name="Describe", exact=True).click()

    page.wait_for_url("**/batches/*/")
    page.get_by_role("heading", name="Check before sending").wait_for()
    assert page.get_by_text("Send 40 images").is_visible()
    assert Task.objects.filter(status="draft").count() == 40  # nothing sent yet
    check_a11y(page)
    screenshot(page, "batch-confirm")
    page.get_by_role("button", name="Send 40 images").click()

    page.locator("#batch-summary").get_by_text("Finished.", exact=True).wait_for(timeout=120_000)
    assert page.locator("#batch-summary .count-done strong").inner_text() == "40"
    page.locator(".batch-row .alt-text").first.wait_for()
    check_a11y(page)
    screenshot(page, "batch")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Alt text only (CSV)").click()
    text = download_info.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["filename", "alt"]
    assert sorted(row[0].split("/")[-1] for row in rows[1:]) == names
    batch = Batch.objects.get()
    expected = dict(batch.tasks.values_list("images__name", "alt_text"))
    assert all(row[1] == expected[row[0]] and row[1] for row in rows[1:])

    phone = new_page(viewport={"width": 390, "height": 844})
    log_in(phone, "wendy", "wendy-password-1")
    phone.goto(batch.get_absolute_url())
    phone.locator(".batch-row").first.wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_a11y(phone)


def test_a_zip_switches_to_one_description_each_and_goes_to_the_confirm_step(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("wendy", password="wendy-password-1")
    archive = tmp_path / "twelve.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for number in range(3):
            picture = io.BytesIO()
            Image.new("RGB", (60, 40), (number * 80, 100, 200)).save(picture, "PNG")
            bundle.writestr(f"photo-{number}.png", picture.getvalue())
    page = new_page()
    log_in(page, "wendy", "wendy-password-1")
    assert page.get_by_label("One description of all these images together").is_checked()
    page.get_by_text("Many images at once").click()
    page.get_by_label("A ZIP file of images").set_input_files(str(archive))
    assert page.get_by_label("One description for each image").is_checked()
    page.get_by_role("button", name="Describe", exact=True).click()
    page.wait_for_url("**/batches/*/")
    page.get_by_role("heading", name="Check before sending").wait_for()
    assert Task.objects.filter(status="draft").count() == 3  # nothing sent yet
