"""Small builders for tests: images made in memory, tasks, data URIs, a recognisable API key."""

import base64
import io

from PIL import Image

# An API key the sandbox accepts, unmistakable in any page, log or export it must never reach.
TEST_KEY = "sk-test-Zq8v3LxW9kP2mN7rT4yB1c6d"
TEST_TEAM_KEY = "sk-team-Hx4pQ9wE2rT7yU1iO5aS8dF3"
SECRETS = (TEST_KEY.encode(), TEST_TEAM_KEY.encode())


def image_bytes(size=(60, 40), colour=(200, 30, 30), fmt="PNG", mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def data_uri(size=(60, 40), colour=(200, 30, 30), fmt="PNG") -> str:
    mime = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[fmt]
    return f"data:{mime};base64," + base64.b64encode(image_bytes(size, colour, fmt)).decode()


def upload_file(name="photo.png", size=(60, 40), colour=(200, 30, 30), fmt="PNG"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    mime = {"PNG": "image/png", "JPEG": "image/jpeg"}.get(fmt, "application/octet-stream")
    return SimpleUploadedFile(name, image_bytes(size, colour, fmt), content_type=mime)


def make_task(owner, *, submit=True, image_count=1, **fields):
    """A task with prepared images, sent to the sandbox (as the worker would) unless told otherwise."""
    from vision import catalog, images
    from vision.models import Task, TaskImage

    defaults = {
        "model": "claude-opus-4-7",
        "prompt": "Describe it.",
        "max_tokens": 300,
        "key_source": "sandbox",
    }
    task = Task.objects.create(owner=owner, **{**defaults, **fields})
    policy = catalog.size_policy(task.model)
    for position in range(image_count):
        prepared = images.prepare_image(image_bytes(colour=(200, 30, 10 * position)), policy)
        image = TaskImage(task=task, position=position, name=f"image-{position}.png")
        image.store_prepared(prepared)
    if submit:
        from vision import jobs

        jobs.send(task)
        task.refresh_from_db()
    return task
