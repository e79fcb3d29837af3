"""A new user describes a photo from their disk and one from a URL, and watches the answer arrive."""

import io

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import check_a11y, log_in
from vision.models import Profile, Task, Upload

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
    page.locator('input[name="files"]').set_input_files(str(photo))
    page.locator('.staged-item:has(input[name="uploads"])', has_text="meadow.jpg").wait_for()
    page.get_by_label("Image addresses (URLs)").fill(photo_server)
    page.get_by_label("Gemini 2.5 Pro").check()
    page.get_by_role("button", name="One sentence").click()
    assert page.get_by_label("One description of all these images together").is_checked()
    check_a11y(page)
    screenshot(page, "describe")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Describe", exact=True).click()

    page.wait_for_url("**/tasks/*/")
    page.get_by_role("progressbar").wait_for()
    page.evaluate("window.__sameDocument = true")
    check_a11y(page)
    screenshot(page, "running")
    page.get_by_role("heading", name="Description").wait_for(timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True  # the answer arrived without a reload
    answer = page.locator(".answer").inner_text()
    assert "simulated" in answer
    assert page.get_by_role("progressbar").count() == 0
    check_a11y(page)
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
    page.locator('input[name="files"]').set_input_files([str(first), str(second)])
    page.locator('.staged-item:has(input[name="uploads"])', has_text="two.png").wait_for()
    page.locator('.staged-item:has(input[name="uploads"])', has_text="one.png").wait_for()
    page.get_by_label("Nemotron 3 Nano Omni").check()
    count = page.locator("#image-count")
    expected = (
        "2 images ready. Nemotron 3 Nano Omni takes one image per description: "
        "remove 1, or pick a model that takes more."
    )
    assert count.inner_text() == expected
    check_a11y(page)
    page.get_by_role("button", name="Describe", exact=True).click()
    page.get_by_text("Nemotron 3 Nano Omni takes at most 1 image per description; you gave 2. Remove 1").wait_for()
    assert count.inner_text() == expected  # under the images, next to "Remove all"
    assert page.get_by_role("button", name="Remove all").is_visible()
    check_a11y(page)
    page.get_by_role("button", name="Remove two.png").click()
    page.locator(".staged-item", has_text="two.png").wait_for(state="detached")
    assert count.inner_text() == "1 image ready. Nemotron 3 Nano Omni takes one image per description."
    assert not page.get_by_role("button", name="Remove all").is_visible()
    page.get_by_role("button", name="Describe", exact=True).click()
    page.wait_for_url("**/tasks/*/")
    assert Task.objects.get().images.count() == 1


def test_with_no_model_chosen_the_count_claims_no_limit(new_page, django_user_model, tmp_path):
    # A default model FoxWeb no longer offers leaves every model unchosen.
    user = django_user_model.objects.create_user("fenna", password="fenna-password-1")
    Profile.of(user)
    Profile.objects.filter(user=user).update(default_model="retired-model")
    page = new_page()
    log_in(page, "fenna", "fenna-password-1")
    assert page.locator('input[name="model"]:checked').count() == 0
    picture = tmp_path / "one.png"
    Image.new("RGB", (50, 50), (200, 0, 0)).save(picture)
    page.locator('input[name="files"]').set_input_files([str(picture)])
    page.locator('.staged-item:has(input[name="uploads"])', has_text="one.png").wait_for()
    assert page.locator("#image-count").inner_text() == "1 image ready."
    page.get_by_label("GPT-5.5").check()
    assert page.locator("#image-count").inner_text() == "1 image ready. GPT-5.5 takes one image per description."


def test_the_describe_page_works_on_a_phone(new_page, django_user_model):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, "edith", "edith-password-1")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    check_a11y(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_the_first_visit_creates_the_administrator(new_page):
    page = new_page()
    page.goto("/")
    page.get_by_role("heading", name="Welcome to FoxWeb").wait_for()
    check_a11y(page)
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill("12345678")
    page.get_by_label("Password confirmation").fill("12345678")
    page.get_by_role("button", name="Create administrator account").click()
    password = page.locator(".field", has=page.get_by_label("Password", exact=True))
    assert "This password is too common." in password.inner_text()
    check_a11y(page)
    page.get_by_label("Password", exact=True).fill("a-long-pass-phrase")
    page.get_by_label("Password confirmation").fill("a-long-pass-phrase")
    page.get_by_role("button", name="Create administrator account").click()
    page.get_by_role("heading", name="Describe images").wait_for()
    assert "Welcome, ada" in page.content()
    check_a11y(page)


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
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path))
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
    check_a11y(page)
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


def test_remove_all_clears_a_list_too_long_for_every_model(new_page, django_user_model, tmp_path, settings):
    settings.FOXWEB_MAX_IMAGES_PER_TASK = 2
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    paths = two_photos(tmp_path)
    third = tmp_path / "third.png"
    Image.new("RGB", (50, 50), (0, 200, 0)).save(third)
    page.locator('input[name="files"]').set_input_files([*paths, str(third)])
    page.locator('.staged-item:has(input[name="uploads"])').nth(2).wait_for()
    count = page.locator("#image-count")
    assert count.inner_text() == "3 images ready. Claude Opus 4.7 takes up to 2 images per description: remove 1."
    page.get_by_role("button", name="Remove all").click()
    page.locator(".staged-item").first.wait_for(state="detached")
    assert count.inner_text() == ""
    assert not Upload.objects.exists()


def test_the_count_always_matches_the_images_shown(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    count = page.locator("#image-count")
    ready = page.locator('.staged-item:has(input[name="uploads"])')
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path))
    ready.nth(1).wait_for()
    assert count.inner_text() == "2 images ready. Claude Opus 4.7 takes up to 10 images per description."
    page.get_by_role("button", name="Remove first.png").click()
    page.locator(".staged-item", has_text="first.png").wait_for(state="detached")
    assert count.inner_text().startswith("1 image ready.")

    broken = tmp_path / "notes.png"
    broken.write_bytes(b"not a picture")
    page.locator('input[name="files"]').set_input_files(str(broken))
    page.locator(".staged-item.failed", has_text="notes.png").wait_for()
    assert count.inner_text().startswith("1 image ready.")
    check_a11y(page)  # the failure is a list item holding an alert, not an alert posing as one
    page.get_by_label("Image addresses (URLs)").fill("https://example.com/a.jpg")
    assert count.inner_text().startswith("1 image ready, 1 address to fetch.")
    page.get_by_label("Image addresses (URLs)").fill("")

    page.reload()
    assert ready.count() == 1
    assert count.inner_text().startswith("1 image ready.")
    page.get_by_role("button", name="Remove second.png").click()
    page.locator(".staged-item", has_text="second.png").wait_for(state="detached")
    assert count.inner_text() == ""


def test_an_upload_after_the_session_ended_leads_to_login_and_back(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "edith", "edith-password-1")
    page.context.clear_cookies(name="sessionid")
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path)[0])
    page.wait_for_url("**/login/?next=/")
    page.get_by_text("Your session ended.").wait_for()
    check_a11y(page)
    page.get_by_label("Username").fill("edith")
    page.get_by_label("Password").fill("edith-password-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Describe images").wait_for()
    assert page.url.endswith("/")
    assert errors == []
    assert "null" not in page.locator("#staged").inner_text()


@pytest.mark.parametrize(
    "answer, message",
    [
        ({"status": 500, "body": "Server Error"}, "Something went wrong on our side. Please try again."),
        ({"status": 413, "body": "Too large"}, "The file is too large to send. Make it smaller and try again."),
        ({"status": 200, "body": "<!doctype html><title>Proxy</title><h1>Sign in</h1>"}, "did not go through"),
        (None, "FoxWeb could not be reached"),
    ],
    ids=["server-error", "too-large", "unexpected-page", "no-connection"],
)
def test_a_failed_upload_says_so_and_the_form_stays_usable(new_page, django_user_model, tmp_path, answer, message):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "edith", "edith-password-1")
    page.route("**/uploads/", lambda route: route.fulfill(**answer) if answer else route.abort())
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path)[0])
    failure = page.locator(".staged-item.failed", has_text="first.png")
    failure.wait_for()
    assert message in failure.inner_text()
    describe = page.get_by_role("button", name="Describe", exact=True)
    assert describe.is_enabled()
    assert page.locator("#image-count").inner_text() == ""
    assert page.locator(".messages").inner_text() == ""
    check_a11y(page)
    failure.get_by_role("button", name="Dismiss this message").click()
    assert page.locator(".staged-item").count() == 0
    page.unroute("**/uploads/")
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path)[0])
    page.locator('.staged-item:has(input[name="uploads"])', has_text="first.png").wait_for()
    assert page.locator("#image-count").inner_text().startswith("1 image ready.")
    assert errors == []


def outlined(page, selector: str) -> bool:
    return page.locator(selector).evaluate("element => getComputedStyle(element).outlineStyle") != "none"


def test_only_the_focused_picker_shows_a_focus_ring(new_page, django_user_model):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    page.locator('input[name="files"]').focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # by keyboard, so :focus-visible applies
    assert page.evaluate("document.activeElement.name") == "files"
    assert outlined(page, 'label.button[for="id_files"]')
    assert not outlined(page, 'label.button[for="folder-input"]')
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "folder-input"
    assert outlined(page, 'label.button[for="folder-input"]')
    assert not outlined(page, 'label.button[for="id_files"]')


def test_on_a_phone_the_pickers_do_not_overlap_and_touch_screens_get_no_folder_or_drop_hints(
    new_page, django_user_model
):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    narrow = new_page(viewport={"width": 390, "height": 844})  # a narrow window with a mouse
    log_in(narrow, "edith", "edith-password-1")
    files = narrow.locator('label.button[for="id_files"]').bounding_box()
    folder = narrow.locator('label.button[for="folder-input"]').bounding_box()
    separate = (
        folder["y"] >= files["y"] + files["height"]
        or folder["x"] >= files["x"] + files["width"]
        or files["x"] >= folder["x"] + folder["width"]
    )
    assert separate, (files, folder)
    assert abs(files["height"] - folder["height"]) < 1  # each on one line
    zone = narrow.locator("#dropzone").bounding_box()
    assert folder["x"] + folder["width"] <= zone["x"] + zone["width"]

    phone = new_page(viewport={"width": 390, "height": 844}, touch=True)
    log_in(phone, "edith", "edith-password-1")
    assert phone.get_by_text("Choose images…").is_visible()
    assert not phone.get_by_text("Choose a folder…").is_visible()
    assert not phone.get_by_text("Drop images here").is_visible()
    check_a11y(phone)


def test_removing_a_staged_image_moves_focus_to_the_next_one_then_the_picker(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path))
    page.locator('.staged-item:has(input[name="uploads"])').nth(1).wait_for()
    names = page.locator("#staged .staged-name").all_inner_texts()
    page.get_by_role("button", name=f"Remove {names[0]}").focus()
    page.keyboard.press("Enter")
    page.locator(".staged-item", has_text=names[0]).wait_for(state="detached")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == f"Remove {names[1]}"
    page.keyboard.press("Enter")
    page.locator(".staged-item").first.wait_for(state="detached")
    assert page.evaluate("document.activeElement.name") == "files"  # "Choose images…"


def test_describing_after_the_session_ended_explains_and_keeps_the_text(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path)[0])
    page.locator('.staged-item:has(input[name="uploads"])').wait_for()
    page.get_by_role("button", name="Alt text (≤ 125 characters)").click()
    page.get_by_text("It is a link or a button").click()
    page.get_by_label("Where does it go, or what does it do?").fill("Opens the spring catalogue")
    page.get_by_text("Add context (optional)").click()
    page.get_by_label("Keywords").fill("spring, garden")
    page.context.clear_cookies(name="sessionid")  # logged out in another tab
    page.get_by_role("button", name="Describe", exact=True).click()

    page.wait_for_url("**/login/?next=/")
    page.get_by_text("Your session ended. Log in again to carry on; what you typed is kept.").wait_for()
    check_a11y(page)
    page.get_by_label("Username").fill("edith")
    page.get_by_label("Password").fill("edith-password-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Describe images").wait_for()
    assert page.get_by_label("Where does it go, or what does it do?").input_value() == "Opens the spring catalogue"
    assert page.get_by_label("Keywords").input_value() == "spring, garden"
    assert page.get_by_label("Keywords").is_visible()
    assert page.get_by_label("It is a link or a button").is_checked()
    assert page.locator("#staged .staged-item").count() == 1  # the image was kept by the server

    page.get_by_role("button", name="Describe", exact=True).click()
    page.wait_for_url("**/tasks/*/")
    assert Task.objects.get().purpose_detail == "Opens the spring catalogue"
    page.goto("/")  # once described, the form starts afresh
    assert page.get_by_label("Keywords").input_value() == ""


def test_after_a_reload_the_images_mode_and_remove_all_are_as_before(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    page.get_by_role("button", name="Alt text (≤ 125 characters)").click()
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path))
    page.locator('.staged-item:has(input[name="uploads"])').nth(1).wait_for()
    each = page.get_by_label("One description for each image")
    assert each.is_checked()
    count = page.locator("#image-count").inner_text()
    assert count.startswith("2 images ready.")
    assert page.get_by_role("button", name="Remove all").is_visible()

    page.reload()
    page.locator('.staged-item:has(input[name="uploads"])').nth(1).wait_for()
    assert each.is_checked()
    assert page.locator("#image-count").inner_text() == count
    assert page.get_by_role("button", name="Remove all").is_visible()
    page.get_by_role("button", name="Remove all").click()
    page.locator(".staged-item").first.wait_for(state="detached")
    assert not Upload.objects.exists()


def test_logging_out_forgets_the_typed_text(new_page, django_user_model):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    page.get_by_label("What should the model do?").fill("Name the colours.")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "edith", "edith-password-1")
    assert page.get_by_label("What should the model do?").input_value() != "Name the colours."


def test_enter_in_a_small_field_with_one_description_each_only_opens_the_confirm_step(
    new_page, django_user_model, tmp_path
):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    page.get_by_role("button", name="Alt text (≤ 125 characters)").click()
    page.locator('input[name="files"]').set_input_files(two_photos(tmp_path))
    page.locator('.staged-item:has(input[name="uploads"])').nth(1).wait_for()
    assert page.get_by_label("One description for each image").is_checked()
    page.get_by_text("Add context (optional)").click()
    page.get_by_label("Keywords").fill("red, blue")
    page.get_by_label("Keywords").press("Enter")
    page.wait_for_url("**/batches/*/")
    page.get_by_role("heading", name="Check before sending").wait_for()
    # Both images (nothing removed), and nothing sent yet: that waits for "Send 2 images".
    assert sorted(Task.objects.values_list("status", flat=True)) == ["draft", "draft"]
