"""The describe page: every form rule, every error path, and nothing typed or uploaded lost."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import image_bytes, make_task, upload_file
from tests.jobqueue import settle
from vision import sandbox
from vision.models import Task, Upload

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "describe": "1",
        "model": "claude-opus-4-7",
        "prompt": "Describe this image in one sentence.",
        "max_tokens": "1024",
        "urls": "",
        "key": "sandbox",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def edit_data(**overrides):
    """What the browser sends when a preset or remove button, not "Describe", was pressed."""
    data = form_data(**overrides)
    del data["describe"]
    return data


def staged_ids(response) -> list[str]:
    return re.findall(r'name="uploads" value="(\d+)"', response.content.decode())


def test_it_shows_the_form_with_models_limits_and_presets(alice_client):
    response = alice_client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    for model in ("claude-opus-4-7", "gemini-2.5-pro", "gpt-5.5", "nemotron-3-nano-omni"):
        assert f'value="{model}"' in page
    assert page.count("One image per description") == 2
    assert page.count("Up to 10 images") == 2
    for preset in ("One sentence", "Alt text (≤ 125 characters)", "Detailed description", "Extract all text"):
        assert preset in page
    assert "Product description" in page
    assert 'name="max_tokens" value="1024"' in page


def test_the_image_limits_shown_come_from_the_catalogue_within_foxweb_s_own(alice_client, settings):
    settings.FOXWEB_MAX_IMAGES_PER_TASK = 3
    page = alice_client.get("/").content.decode()
    assert 'value="claude-opus-4-7" data-max-images="3"' in page
    assert 'value="gpt-5.5" data-max-images="1"' in page
    assert page.count("Up to 3 images") == 2


def test_images_are_prepared_at_the_chosen_model_s_size(alice_client):
    photo = SimpleUploadedFile("square.jpg", image_bytes((2000, 2000), fmt="JPEG"), content_type="image/jpeg")
    alice_client.post("/", form_data(model="gpt-5.5", files=[photo]))
    settle()  # the worker prepares it
    image = Task.objects.get().images.get()
    # 39 x 39 patches of 32 px, the most GPT-5.5 reads: not 1536 x 1536, which it would shrink again.
    assert (image.width, image.height) == (1248, 1248)


def test_it_describes_an_uploaded_file_without_javascript(alice_client, alice):
    response = alice_client.post("/", form_data(files=[upload_file("cat.png")]))
    task = Task.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{task.pk}/"
    assert task.owner == alice
    assert task.status == "queued"  # the worker sends it; the request only queued it
    assert task.upstream_id == ""
    image = task.images.get()
    assert (image.name, image.original_width, image.original_height) == ("cat.png", 60, 40)
    assert not Upload.objects.exists()
    settle()
    task.refresh_from_db()
    assert task.upstream_id.startswith("task-llmrouter-")
    assert task.status == "completed"
    assert task.submitted is not None


def test_htmx_submits_redirect_the_page(alice_client):
    response = alice_client.post("/", form_data(files=[upload_file()]), headers={"HX-Request": "true"})
    task = Task.objects.get()
    assert response["HX-Redirect"] == f"/tasks/{task.pk}/"


def test_it_uses_uploads_staged_by_the_page(alice_client):
    staged = alice_client.post("/uploads/", {"file": upload_file("a.png")}, headers={"HX-Request": "true"})
    assert staged.status_code == 200
    [upload_id] = staged_ids(staged)
    response = alice_client.post("/", form_data(uploads=[upload_id]))
    assert response.status_code == 302
    assert Task.objects.get().images.get().name == "a.png"
    assert not Upload.objects.exists()


def test_it_needs_at_least_one_image(alice_client):
    response = alice_client.post("/", form_data(prompt="Keep this prompt"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Add at least one image" in page
    assert "Keep this prompt" in page
    assert not Task.objects.exists()


def test_a_single_image_model_refuses_two_and_keeps_both(alice_client):
    staged = [
        staged_ids(alice_client.post("/uploads/", {"file": upload_file(name, colour=colour)}))[0]
        for name, colour in (("a.png", (200, 30, 30)), ("b.png", (0, 90, 200)))
    ]
    response = alice_client.post("/", form_data(model="nemotron-3-nano-omni", uploads=staged))
    page = response.content.decode()
    assert "Nemotron 3 Nano Omni takes at most 1 image per description; you gave 2. Remove 1 image, or" in page
    assert len(staged_ids(response)) == 2
    assert "a.png" in page and "b.png" in page
    # The user picks another model; the kept uploads go through without choosing files again.
    again = alice_client.post("/", form_data(model="gemini-2.5-pro", uploads=staged_ids(response)))
    assert again.status_code == 302
    assert Task.objects.get().images.count() == 2


def test_too_many_images_are_counted_under_the_images_with_remove_all(alice_client):
    staged = [
        staged_ids(alice_client.post("/uploads/", {"file": upload_file(f"{n}.png", colour=(n, 90, 200))}))[0]
        for n in range(3)
    ]
    response = alice_client.post("/", form_data(model="nemotron-3-nano-omni", uploads=staged))
    page = response.content.decode()
    images_card = page[page.index('id="images-heading"') : page.index('id="model-heading"')]
    assert "you gave 3. Remove 2 images, or choose “One description for each image”." in images_card
    assert (
        "3 images ready. Nemotron 3 Nano Omni takes one image per description: "
        "remove 2, or choose one description for each image."
    ) in images_card
    assert re.search(r'<button[^>]*name="remove_all"[^>]*formnovalidate>Remove all', images_card)
    model_card = page[page.index('id="model-heading"') : page.index('id="prompt-heading"')]
    assert "takes at most" not in model_card


def test_one_description_each_is_offered_when_no_model_takes_that_many(alice_client, settings):
    settings.FOXWEB_MAX_IMAGES_PER_TASK = 2
    staged = [
        staged_ids(alice_client.post("/uploads/", {"file": upload_file(f"{n}.png", colour=(n, 0, 0))}))[0]
        for n in range(3)
    ]
    page = alice_client.post("/", form_data(uploads=staged)).content.decode()
    assert "Claude Opus 4.7 takes at most 2 images per description; you gave 3. Remove 1 image, or choose" in page
    assert "pick a model" not in page
    again = alice_client.post("/", form_data(uploads=staged, mode="each"))
    assert again["Location"].startswith("/batches/")


def test_remove_all_without_javascript_removes_every_staged_image(alice_client):
    first = alice_client.post("/", edit_data(files=[upload_file("a.png"), upload_file("b.png", colour=(0, 0, 1))]))
    ids = staged_ids(first)
    assert len(ids) == 2
    response = alice_client.post("/", edit_data(remove_all="1", uploads=ids, urls="https://example.com/c.jpg"))
    assert staged_ids(response) == []
    assert not Upload.objects.exists()
    page = response.content.decode()
    assert "example.com/c.jpg" not in page
    assert 'id="image-count" aria-live="polite"></p>' in page


def test_the_count_is_shown_after_a_reload(alice_client):
    alice_client.post("/uploads/", {"file": upload_file("a.png")})
    page = alice_client.get("/").content.decode()
    assert "1 image ready. Claude Opus 4.7 takes up to 10 images per description." in page
    assert re.search(r'name="remove_all"[^>]* hidden>', page)


def test_gpt_5_5_takes_one_image(alice_client):
    response = alice_client.post("/", form_data(model="gpt-5.5", files=[upload_file(), upload_file()]))
    assert "GPT-5.5 takes at most 1 image" in response.content.decode()


def test_more_than_ten_images_are_refused(alice_client):
    response = alice_client.post("/", form_data(files=[upload_file(f"{n}.png") for n in range(11)]))
    assert "takes at most 10 images per description; you gave 11" in response.content.decode()


def test_too_many_files_are_refused_before_any_is_read(alice_client, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a file was decoded although there were too many")

    monkeypatch.setattr(Upload, "stage", never)
    response = alice_client.post("/", form_data(model="gpt-5.5", files=[upload_file(f"{n}.png") for n in range(30)]))
    assert (
        "GPT-5.5 takes at most 1 image per description; you gave 30. Remove 29 images, or" in response.content.decode()
    )
    assert not Upload.objects.exists()


def test_a_broken_file_is_named_and_the_good_one_kept(alice_client):
    broken = SimpleUploadedFile("broken.jpg", image_bytes(fmt="JPEG")[:200], content_type="image/jpeg")
    response = alice_client.post("/", form_data(files=[upload_file("good.png"), broken]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "broken.jpg:" in page
    assert len(staged_ids(response)) == 1
    assert "good.png" in page
    assert not Task.objects.exists()


def test_a_file_that_is_not_an_image_is_refused(alice_client):
    svg = SimpleUploadedFile(
        "logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", content_type="image/svg+xml"
    )
    response = alice_client.post("/", form_data(files=[svg]))
    assert "logo.svg:" in response.content.decode()
    assert not Upload.objects.exists()


def test_a_file_over_the_size_limit_is_refused(alice_client, settings):
    settings.FOXWEB_MAX_UPLOAD_BYTES = 100
    response = alice_client.post("/", form_data(files=[upload_file()]))
    assert "photo.png: The file is larger than 100 bytes." in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_tokens", "15", "Give a longest answer of at least 16 tokens."),
        ("max_tokens", "70000", "at most 64,000 tokens"),
        ("max_tokens", "", "Give a longest answer of at least 16 tokens."),
        ("temperature", "2.5", "Use a temperature from 0 to 2."),
        ("temperature", "-1", "Use a temperature from 0 to 2."),
        ("temperature", "warm", "Use a temperature from 0 to 2, e.g. 0.7."),
        ("prompt", "", "Tell the model what to do with the images."),
        ("model", "dall-e", "Pick one of the models listed."),
    ],
)
def test_field_rules_are_shown_next_to_the_field(alice_client, field, value, message):
    response = alice_client.post("/", form_data(files=[upload_file()], **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert len(staged_ids(response)) == 1  # the upload survives the mistake


def test_bad_urls_are_reported_and_kept(alice_client):
    response = alice_client.post("/", form_data(urls="ftp://example.com/a.png\nhttps://ok.example/b.png"))
    page = response.content.decode()
    assert "ftp://example.com/a.png:" in page
    assert "https://ok.example/b.png" in page


@pytest.fixture
def image_server(web_server):
    """One photo, one page that is not an image, and (by omission) a missing file."""
    web_server.routes["/photo.jpg"] = ("image/jpeg", image_bytes((120, 80), (40, 80, 200), "JPEG"))
    web_server.routes["/page.html"] = ("text/html", b"<html>not an image</html>")
    return web_server.url


def test_it_describes_an_image_from_a_url(alice_client, image_server, monkeypatch):
    from vision import fetch

    def no_fetching_in_the_request(url):
        raise AssertionError("the web request fetched a pasted URL")

    with monkeypatch.context() as patched:
        patched.setattr(fetch, "fetch_image", no_fetching_in_the_request)
        response = alice_client.post("/", form_data(urls=f"{image_server}/photo.jpg"))
    assert response.status_code == 302
    image = Task.objects.get().images.get()
    assert (image.name, image.source_url) == ("photo.jpg", f"{image_server}/photo.jpg")
    settle()  # the worker fetches it
    image.refresh_from_db()
    assert (image.original_width, image.original_height) == (120, 80)
    assert Task.objects.get().status == "completed"


def test_url_problems_are_explained_on_the_task_and_nothing_is_sent(alice_client, image_server):
    response = alice_client.post(
        "/", form_data(files=[upload_file()], urls=f"{image_server}/page.html\n{image_server}/missing.jpg")
    )
    task = Task.objects.get()
    assert response["Location"] == f"/tasks/{task.pk}/"
    settle()
    task.refresh_from_db()
    assert (task.status, task.error_code, task.upstream_id) == ("failed", "image_problem", "")
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "page.html: " in page
    assert "The page at this address is not an image." in page
    assert "missing.jpg: " in page
    assert "Nothing was sent to FoxAPI, so nothing was charged." in page
    assert "Try again" in page


def test_a_private_address_is_refused_by_default(alice_client, image_server, settings):
    settings.FOXWEB_ALLOW_PRIVATE_URLS = False
    response = alice_client.post("/", form_data(urls=f"{image_server}/photo.jpg"))
    assert response.status_code == 200
    assert not Task.objects.exists()
    assert f"{image_server}/photo.jpg:" in response.content.decode()


def test_a_refused_submit_keeps_the_task_and_offers_a_retry(alice_client):
    sandbox.inject_faults([{"status": 422, "method": "POST"}])
    response = alice_client.post("/", form_data(files=[upload_file()]))
    task = Task.objects.get()
    assert response["Location"] == f"/tasks/{task.pk}/"
    settle()
    task.refresh_from_db()
    assert task.status == "failed"
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "FoxAPI could not accept this request" in page
    assert "Try again" in page
    retried = alice_client.post(f"/tasks/{task.pk}/retry/")
    assert retried.status_code == 302
    task.refresh_from_db()
    assert task.status == "queued"
    settle()
    task.refresh_from_db()
    assert task.status == "completed"
    assert task.error_message == ""


def test_a_preset_fills_the_prompt_without_javascript(alice_client):
    response = alice_client.post("/", edit_data(choose_preset="alt-text", files=[upload_file()], prompt="old"))
    page = response.content.decode()
    assert "Write alt text for this image" in page
    assert len(staged_ids(response)) == 1
    assert 'class="error"' not in page
    assert not Task.objects.exists()


def test_remove_works_without_javascript(alice_client):
    first = alice_client.post(
        "/", edit_data(choose_preset="one-sentence", files=[upload_file("a.png"), upload_file("b.png")])
    )
    ids = staged_ids(first)
    removed = Upload.objects.get(pk=ids[0])
    second = alice_client.post("/", edit_data(remove_upload=ids[0], uploads=ids))
    assert staged_ids(second) == ids[1:]
    assert Upload.objects.count() == 1
    assert not removed.file.storage.exists(removed.file.name)


def test_someone_elses_upload_cannot_be_used(alice_client, bob):
    theirs = Upload.stage(bob, "secret.png", image_bytes())
    response = alice_client.post("/", form_data(uploads=[str(theirs.pk)]))
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_staging_answers_a_fragment_or_a_plain_error(alice_client):
    good = alice_client.post("/uploads/", {"file": upload_file("a.png")})
    assert good.status_code == 200
    assert 'name="uploads"' in good.content.decode()
    bad = alice_client.post("/uploads/", {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4 nothing")})
    assert bad.status_code == 200  # a user's mistake, explained in the list item that htmx swaps in
    assert bad.content.decode().strip().startswith('<li class="staged-item failed">')
    assert "a.pdf" in bad.content.decode()
    assert alice_client.post("/uploads/", {}).status_code == 400


def test_uploads_are_private(client, alice, bob):
    theirs = Upload.stage(bob, "secret.png", image_bytes())
    client.force_login(alice)
    assert client.get(f"/uploads/{theirs.pk}/thumbnail/").status_code == 404
    assert client.post(f"/uploads/{theirs.pk}/delete/").status_code == 404
    assert Upload.objects.filter(pk=theirs.pk).exists()


def test_describe_again_offers_the_same_images_and_settings(alice_client, alice):
    task = make_task(alice, model="gemini-2.5-pro", prompt="Count the birds.", temperature=0.4, image_count=2)
    response = alice_client.post(f"/tasks/{task.pk}/again/")
    assert response["Location"] == f"/?again={task.pk}"
    page = alice_client.get(response["Location"]).content.decode()
    assert "Count the birds." in page
    assert 'value="gemini-2.5-pro" data-max-images="10" checked' in page
    assert len(re.findall(r'name="uploads" value="\d+"', page)) == 2


def test_describe_again_twice_stages_each_image_once(alice_client, alice):
    task = make_task(alice, image_count=2)
    alice_client.post(f"/tasks/{task.pk}/again/")
    alice_client.post(f"/tasks/{task.pk}/again/")
    assert Upload.objects.count() == 2
    assert len(staged_ids(alice_client.get(f"/?again={task.pk}"))) == 2


def test_describe_again_is_404_for_someone_elses_task(client, alice, bob):
    task = make_task(bob)
    client.force_login(alice)
    assert client.get(f"/?again={task.pk}").status_code == 404
    assert client.post(f"/tasks/{task.pk}/again/").status_code == 404
    assert not Upload.objects.exists()


def test_staged_uploads_are_capped_per_person(alice_client, alice, settings):
    settings.FOXWEB_MAX_STAGED_UPLOADS = 2
    for number in range(2):
        Upload.stage(alice, f"{number}.png", image_bytes(colour=(number, 0, 0)))
    response = alice_client.post("/uploads/", {"file": upload_file("third.png")})
    assert "You already have 2 images waiting to be described" in response.content.decode()
    assert Upload.objects.count() == 2


def test_the_same_image_twice_is_refused(alice_client):
    response = alice_client.post("/", form_data(files=[upload_file("a.png"), upload_file("copy-of-a.png")]))
    assert "The same image is here twice (a.png and copy-of-a.png)" in response.content.decode()
    assert not Task.objects.exists()


def test_images_keep_the_order_they_are_listed_in(alice_client):
    ids = [
        staged_ids(alice_client.post("/uploads/", {"file": upload_file(name, colour=colour)}))[0]
        for name, colour in (("one.png", (10, 10, 10)), ("two.png", (200, 200, 200)))
    ]
    alice_client.post("/", form_data(uploads=list(reversed(ids)), model="gemini-2.5-pro"))
    assert [image.name for image in Task.objects.get().images.all()] == ["two.png", "one.png"]


def test_chosen_images_survive_a_reload(alice_client):
    alice_client.post("/uploads/", {"file": upload_file("kept.png")})
    page = alice_client.get("/").content.decode()
    assert "kept.png" in page
    assert len(staged_ids(alice_client.get("/"))) == 1


def test_describe_again_keeps_the_first_originals_size(alice_client, alice):
    task = make_task(alice, submit=False)
    image = task.images.get()
    type(image).objects.filter(pk=image.pk).update(original_width=4000, original_height=3000, original_bytes=9_000_000)
    alice_client.post(f"/tasks/{task.pk}/again/")
    upload = Upload.objects.get()
    assert (upload.width, upload.height, upload.size) == (4000, 3000, 9_000_000)
    alice_client.post("/", form_data(uploads=[str(upload.pk)]))
    again = Task.objects.exclude(pk=task.pk).get().images.get()
    assert (again.original_width, again.original_height, again.original_bytes) == (4000, 3000, 9_000_000)


def test_images_too_large_together_for_one_request_are_refused(alice_client, monkeypatch):
    from vision import jobs

    monkeypatch.setattr(jobs, "MAX_REQUEST_BYTES", 100)
    alice_client.post("/", form_data(files=[upload_file()]))
    settle()
    task = Task.objects.get()
    assert (task.status, task.upstream_id) == ("failed", "")
    assert "Together these images are too large to send" in task.error_message
    assert "Nothing was sent" in task.error_message


def test_staging_refuses_a_file_over_the_limit_before_reading_it(alice_client, settings):
    settings.FOXWEB_MAX_UPLOAD_BYTES = 100
    response = alice_client.post("/uploads/", {"file": upload_file("big.png")})
    assert 'class="staged-item failed"' in response.content.decode()
    assert "The file is larger than 100 bytes." in response.content.decode()


def test_a_typed_prompt_leaves_room_for_what_foxweb_adds(alice_client):
    """FoxAPI takes 100,000 characters; a batch row's context is added to the typed prompt."""
    response = alice_client.post("/", form_data(prompt="x" * 90_001, files=[upload_file()]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "keep it under 90,000 characters" in page
    assert "FoxAPI takes 100,000 characters at most" in page
    assert not Task.objects.exists()
    alice_client.post("/", form_data(prompt="x" * 90_000, files=[upload_file()]))
    assert Task.objects.get().prompt == "x" * 90_000
