"""Unchanged status polls answered early (vision.polling): only ever where the view would say "unchanged" too."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_task
from vision import polling
from vision.models import Membership, Task

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def running(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 60
    return make_task(alice)


def etag_of(client, task) -> str:
    return client.get(f"/tasks/{task.pk}/status/", headers=HTMX)["ETag"]


def test_an_unchanged_poll_costs_two_small_statements(alice_client, running):
    etag = etag_of(alice_client, running)
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(f"/tasks/{running.pk}/status/", headers={**HTMX, "If-None-Match": etag})
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert len(queries) == 2


def test_a_changed_card_goes_to_the_view(alice_client, running):
    etag = etag_of(alice_client, running)
    Task.objects.filter(pk=running.pk).update(progress=55, revision=running.revision + 1)
    response = alice_client.get(f"/tasks/{running.pk}/status/", headers={**HTMX, "If-None-Match": etag})
    assert response.status_code == 200
    assert "55% done" in response.content.decode()


def test_a_logged_out_or_expired_session_gets_no_304(client, alice, running):
    client.force_login(alice)
    etag = etag_of(client, running)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(f"/tasks/{running.pk}/status/", headers={**HTMX, "If-None-Match": etag})
    assert response.status_code != 304
    client.force_login(alice)
    etag = etag_of(client, running)
    Session.objects.all().delete()
    assert client.get(f"/tasks/{running.pk}/status/", headers={**HTMX, "If-None-Match": etag}).status_code != 304


def test_a_changed_password_ends_the_early_answer_too(client, alice, running):
    client.force_login(alice)
    etag = etag_of(client, running)
    alice.set_password("a-new-password-9")
    alice.save()
    assert client.get(f"/tasks/{running.pk}/status/", headers={**HTMX, "If-None-Match": etag}).status_code != 304


def test_an_inactive_user_gets_no_304(client, alice, running):
    client.force_login(alice)
    etag = etag_of(client, running)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    assert client.get(f"/tasks/{running.pk}/status/", headers={**HTMX, "If-None-Match": etag}).status_code != 304


def test_a_guessed_etag_gets_a_colleague_nothing(client, alice, carol, running):
    client.force_login(carol)
    guessed = polling.status_etag(running.pk, running.revision, carol.pk, row=False)
    response = client.get(f"/tasks/{running.pk}/status/", headers={**HTMX, "If-None-Match": guessed})
    assert response.status_code == 404


def test_the_rule_agrees_with_visible_to(alice, bob, carol, team, settings):
    settings.FOXAPI_SANDBOX_DURATION = 60
    shared, private = make_task(alice, team=team), make_task(alice)
    owned_by_bob = make_task(bob)
    for user in (alice, bob, carol):
        for task in (shared, private, owned_by_bob):
            visible = Task.objects.visible_to(user).filter(pk=task.pk).exists()
            assert (polling._visible_revision(user.pk, task.pk) is not None) == visible, (user, task)
    Membership.objects.filter(user=bob).delete()
    assert polling._visible_revision(bob.pk, shared.pk) is None
    assert not Task.objects.visible_to(bob).filter(pk=shared.pk).exists()
