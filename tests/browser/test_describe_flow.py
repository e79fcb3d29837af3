"""A new user describes a photo from their disk and one from a URL, and watches the answer arrive."""

import io

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import log_in
from vision.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def landscape_photo(size=(2400, 1600)) -> bytes:
    """A photo-like JPEG: sky, sun, hills, with an EXIF orientation to honour."""
    image = Image.new("RGB", size, (120, 170, 230))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.ellipse((width * 0.7, height * 0.1, width * 0.85, height * 0.32), fill=(250, 220, 90))
    draw.polygon(
        [
            (0, height),
            (0, height * 0.6),
            (width * 0.4, height * 0.45),
            (width, height * 0.7),
            (width, height),
        ],
        fill=(60, 130, 60),
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def photo_server(web_server):
    web_server.routes["/harbour.jpg"] = ("image/jpeg", landscape_photo((1200, 800)))
    return f"{web_server.url}/harbour.jpg"


def test_a_new_user_describes_a_photo_and_a_url(new_page, django_user_model, photo_server, tmp_path, screenshot):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    photo = tmp_path / "meadow.jpg"
    photo.write_bytes(landscape_photo())
    page = new_page()
    log_in(page, "edith", "edith-password-1")

    page.get_by_text("Sandbox", exact=True).wait_for()
    page.locator('input[type="file"]').set_input_files(str(photo))
    page.locator('.staged-item:has(input[name="uploads"])', has_text="meadow.jpg").wait_for()
    page.get_by_label("Image addresses (URLs)").fill(photo_server)
    page.get_by_label("Gemini 2.5 Pro").check()
    page.get_by_role("button", name="Alt text (≤ 125 characters)").click()
    screenshot(page, "describe")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Describe", exact=True).click()

    page.wait_for_url("**/tasks/*/")
    page.get_by_role("progressbar").wait_for()
    page.evaluate("window.__sameDocument = true")
    screenshot(page, "running")
    page.get_by_role("heading", name="Description").wait_for(timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True  # the answer arrived without a reload
    answer = page.locator(".answer").inner_text()
    assert "simulated" in answer
    assert page.get_by_role("progressbar").count() == 0
    screenshot(page, "done")

    page.get_by_role("button", name="Copy text").click()
    page.get_by_role("button", name="Copied ✓").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == Task.objects.get().answer

    task = Task.objects.get()
    assert task.model == "gemini-2.5-pro"
    assert [image.name for image in task.images.all()] == ["meadow.jpg", "harbour.jpg"]
    assert task.images.get(name="meadow.jpg").width <= 1536

    page.goto(f"/tasks/{task.pk}/")
    assert "meadow.jpg" in page.content()
    assert "Original: 2400 × 1600" in page.locator(".image-list").inner_text()


def test_the_form_explains_a_model_limit_before_submitting(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    first, second = tmp_path / "one.png", tmp_path / "two.png"
    for path in (first, second):
        Image.new("RGB", (50, 50), (200, 0, 0)).save(path)
    page.locator('input[type="file"]').set_input_files([str(first), str(second)])
    page.locator('.staged-item:has(input[name="uploads"])', has_text="two.png").wait_for()
    page.locator('.staged-item:has(input[name="uploads"])', has_text="one.png").wait_for()
    page.get_by_label("Nemotron 3 Nano Omni").check()
    assert "takes at most 1 image" in page.locator("#image-count").inner_text()
    page.get_by_role("button", name="Describe", exact=True).click()
    page.get_by_text("Nemotron 3 Nano Omni takes at most 1 image per description; you gave 2.").wait_for()
    page.get_by_role("button", name="Remove two.png").click()
    page.locator(".staged-item", has_text="two.png").wait_for(state="detached")
    page.get_by_role("button", name="Describe", exact=True).click()
    page.wait_for_url("**/tasks/*/")
    assert Task.objects.get().images.count() == 1


def test_the_describe_page_works_on_a_phone(new_page, django_user_model):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, "edith", "edith-password-1")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_the_first_visit_creates_the_administrator(new_page):
    page = new_page()
    page.goto("/")
    page.get_by_role("heading", name="Welcome to FoxWeb").wait_for()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill("a-long-pass-phrase")
    page.get_by_label("Password confirmation").fill("a-long-pass-phrase")
    page.get_by_role("button", name="Create administrator account").click()
    page.get_by_role("heading", name="Describe images").wait_for()
    assert "Welcome, ada" in page.content()


def two_photos(tmp_path):
    paths = []
    for name, colour in (("first.png", (200, 0, 0)), ("second.png", (0, 0, 200))):
        path = tmp_path / name
        Image.new("RGB", (50, 50), colour).save(path)
        paths.append(str(path))
    return paths


def test_enter_in_a_one_line_field_describes_and_removes_nothing(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    page.locator('input[type="file"]').set_input_files(two_photos(tmp_path))
    page.locator('.staged-item:has(input[name="uploads"])', has_text="second.png").wait_for()
    page.locator('.staged-item:has(input[name="uploads"])', has_text="first.png").wait_for()
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Longest answer").press("Enter")
    page.wait_for_url("**/tasks/*/")
    assert sorted(image.name for image in Task.objects.get().images.all()) == ["first.png", "second.png"]


def test_enter_without_images_keeps_the_prompt(new_page, django_user_model):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    prompt = page.get_by_label("What should the model do?")
    prompt.fill("Name the colours.")
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Temperature").press("Enter")
    page.get_by_text("Add at least one image").first.wait_for()
    assert page.get_by_label("What should the model do?").input_value() == "Name the colours."
    page.get_by_label("Claude Opus 4.7").press("Enter")  # a radio button: the same implicit submission
    page.get_by_text("Add at least one image").first.wait_for()
    assert page.get_by_label("What should the model do?").input_value() == "Name the colours."


def test_enter_without_javascript_describes_too(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page(javascript=False)
    log_in(page, "edith", "edith-password-1")
    page.get_by_label("What should the model do?").fill("Name the colours.")
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Longest answer").press("Enter")
    page.get_by_text("Add at least one image").first.wait_for()
    assert page.get_by_label("What should the model do?").input_value() == "Name the colours."
    page.get_by_label("Choose images").set_input_files(two_photos(tmp_path))
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Temperature").press("Enter")
    page.wait_for_url("**/tasks/*/")
    assert Task.objects.get().prompt == "Name the colours."
    assert Task.objects.get().images.count() == 2
