"""The public page of a task (/shared/<token>/): unlisted, sends no referrer, and shows a reader only
the answer and thumbnails; full-size images only when the owner chose so."""

import pytest

from tests.factories import make_task
from vision.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_task(alice_client, alice):
    task = make_task(alice, prompt="Internal: describe the Q3 launch photo", image_count=2)
    alice_client.get(f"/tasks/{task.pk}/")  # collects the answer
    alice_client.post(f"/tasks/{task.pk}/public-link/", {"action": "create"})
    task.refresh_from_db()
    return task


def test_it_is_unlisted_and_sends_no_referrer(client, public_task):
    response = client.get(f"/shared/{public_task.share_token}/")
    assert response.status_code == 200
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Referrer-Policy"] == "no-referrer"
    page = response.content.decode()
    assert '<meta name="robots" content="noindex, nofollow, noarchive">' in page
    assert '<meta name="referrer" content="no-referrer">' in page
    thumbnail = client.get(f"/shared/{public_task.share_token}/images/{public_task.images.first().pk}/thumbnail/")
    assert "noindex" in thumbnail["X-Robots-Tag"]


def test_it_shows_the_answer_and_thumbnails_but_not_the_owner_or_prompt(client, public_task):
    page = client.get(f"/shared/{public_task.share_token}/").content.decode()
    assert "Simulated answer" in page
    for image in public_task.images.all():
        assert f"/shared/{public_task.share_token}/images/{image.pk}/thumbnail/" in page
        assert f'/shared/{public_task.share_token}/images/{image.pk}/"' not in page  # no full-size link
        assert image.name not in page
    assert "alice" not in page
    assert "Q3 launch" not in page


def test_full_size_images_answer_404_unless_the_owner_chose_so(client, alice_client, public_task):
    image = public_task.images.first()
    full = f"/shared/{public_task.share_token}/images/{image.pk}/"
    assert public_task.public_full_images is False
    assert client.get(full).status_code == 404
    assert client.get(f"{full}thumbnail/").status_code == 200

    alice_client.post(f"/tasks/{public_task.pk}/public-link/", {"action": "images", "full_images": "on"})
    assert Task.objects.get(pk=public_task.pk).public_full_images is True
    assert client.get(full).status_code == 200
    assert f'href="{full}"' in client.get(f"/shared/{public_task.share_token}/").content.decode()

    alice_client.post(f"/tasks/{public_task.pk}/public-link/", {"action": "images"})  # box unticked
    assert client.get(full).status_code == 404


def test_the_owner_can_allow_full_images_when_making_the_link(alice_client, alice, client):
    task = make_task(alice)
    alice_client.post(f"/tasks/{task.pk}/public-link/", {"action": "create", "full_images": "on"})
    task.refresh_from_db()
    assert task.public_full_images is True
    assert client.get(f"/shared/{task.share_token}/images/{task.images.get().pk}/").status_code == 200


def test_switching_the_link_off_forgets_the_choice(alice_client, public_task):
    alice_client.post(f"/tasks/{public_task.pk}/public-link/", {"action": "images", "full_images": "on"})
    alice_client.post(f"/tasks/{public_task.pk}/public-link/", {"action": "revoke"})
    public_task.refresh_from_db()
    assert (public_task.share_token, public_task.public_full_images) == (None, False)


def test_the_task_page_offers_the_choice(alice_client, alice, public_task):
    page = alice_client.get(f"/tasks/{public_task.pk}/").content.decode()
    assert 'name="full_images"' in page
    assert "Let them open the full-size images" in page
