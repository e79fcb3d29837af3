"""Who may see what: one rule (Task.objects.visible_to, Task.can_change), every endpoint held to it."""

import pytest

from tests.factories import make_task
from vision.models import Task

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def shared_task(alice, team):
    return make_task(alice, team=team)


def read_urls(task):
    image = task.images.first()
    return [
        f"/tasks/{task.pk}/",
        f"/tasks/{task.pk}/status/",
        f"/tasks/{task.pk}/status/?row=1",
        f"/images/{image.pk}/",
        f"/images/{image.pk}/thumbnail/",
        f"/?again={task.pk}",
    ]


def change_requests(task):
    return [
        (f"/tasks/{task.pk}/retry/", {}),
        (f"/tasks/{task.pk}/share/", {"team": ""}),
        (f"/tasks/{task.pk}/public-link/", {"action": "create"}),
    ]


def test_describe_again_works_for_a_team_member_and_no_one_else(client, bob, carol, shared_task):
    client.force_login(carol)
    assert client.post(f"/tasks/{shared_task.pk}/again/").status_code == 404
    client.force_login(bob)
    assert client.post(f"/tasks/{shared_task.pk}/again/").status_code == 302


def test_visible_to_is_own_and_team_shared_tasks(alice, bob, carol, team):
    own = make_task(bob, submit=False)
    shared = make_task(alice, team=team, submit=False)
    private = make_task(alice, submit=False)
    elsewhere = make_task(carol, submit=False)
    assert set(Task.objects.visible_to(bob)) == {own, shared}
    assert set(Task.objects.visible_to(alice)) == {shared, private}
    assert set(Task.objects.visible_to(carol)) == {elsewhere}


def test_visible_to_in_one_query_follows_the_same_rule(alice, bob, carol, team, django_assert_num_queries):
    tasks = [
        make_task(bob, submit=False),
        make_task(alice, team=team, submit=False),
        make_task(alice, submit=False),
        make_task(carol, submit=False),
    ]
    for user in (alice, bob, carol):
        with django_assert_num_queries(1):
            one_query = set(Task.objects.visible_to(user, one_query=True))
        assert one_query == set(Task.objects.visible_to(user))
        for task in tasks:
            found = Task.objects.visible_to(user, one_query=True).filter(pk=task.pk).exists()
            assert found == Task.objects.visible_to(user).filter(pk=task.pk).exists()


def test_a_team_member_reads_a_shared_task(client, bob, shared_task):
    client.force_login(bob)
    for url in read_urls(shared_task):
        assert client.get(url, headers=HTMX).status_code == 200, url


def test_someone_on_another_team_gets_404_everywhere(client, carol, shared_task):
    client.force_login(carol)
    for url in read_urls(shared_task):
        assert client.get(url, headers=HTMX).status_code == 404, url
    for url, data in change_requests(shared_task):
        assert client.post(url, data).status_code == 404, url
    exported = client.post("/history/export.csv", {"task": [shared_task.pk]})
    assert shared_task.prompt not in b"".join(exported.streaming_content).decode()
    client.post("/history/delete/", {"task": [shared_task.pk]})
    assert Task.objects.filter(pk=shared_task.pk).exists()


def test_a_member_cannot_change_or_delete_a_colleagues_task(client, bob, shared_task):
    client.force_login(bob)
    for url, data in change_requests(shared_task):
        assert client.post(url, data).status_code == 404, url
    response = client.post("/history/delete/", {"task": [shared_task.pk]}, follow=True)
    assert "only their owners can delete them" in response.content.decode()
    shared_task.refresh_from_db()
    assert shared_task.share_token is None
    assert shared_task.team is not None


def test_a_member_sees_no_sharing_controls(client, bob, shared_task):
    client.force_login(bob)
    page = client.get(f"/tasks/{shared_task.pk}/").content.decode()
    assert "Save sharing" not in page
    assert "Try again" not in page
    assert "Read-only" in page


def test_leaving_the_team_ends_access(client, bob, team, shared_task):
    client.force_login(bob)
    client.post(f"/teams/{team.pk}/leave/")
    assert client.get(f"/tasks/{shared_task.pk}/").status_code == 404


def test_an_owner_unshares_a_task(client, alice, bob, shared_task):
    client.force_login(alice)
    client.post(f"/tasks/{shared_task.pk}/share/", {"team": ""})
    client.force_login(bob)
    assert client.get(f"/tasks/{shared_task.pk}/").status_code == 404


def test_an_owner_cannot_share_with_a_team_they_are_not_in(client, alice, carol):
    from vision.models import Team

    task = make_task(alice, submit=False)
    their_team = Team.found("Carol's", carol)
    client.force_login(alice)
    assert client.post(f"/tasks/{task.pk}/share/", {"team": their_team.pk}).status_code == 400
    task.refresh_from_db()
    assert task.team is None


def test_the_public_link_shows_the_task_until_revoked(client, alice, shared_task):
    client.force_login(alice)
    client.post(f"/tasks/{shared_task.pk}/public-link/", {"action": "create"})
    shared_task.refresh_from_db()
    token = shared_task.share_token
    assert len(token) >= 40
    image = shared_task.images.first()
    client.logout()
    page = client.get(f"/shared/{token}/")
    assert page.status_code == 200
    assert "Simulated answer" in page.content.decode()
    assert "Save sharing" not in page.content.decode()
    assert client.get(f"/shared/{token}/images/{image.pk}/thumbnail/").status_code == 200
    other = make_task(alice)
    assert client.get(f"/shared/{token}/images/{other.images.first().pk}/").status_code == 404
    client.force_login(alice)
    client.post(f"/tasks/{shared_task.pk}/public-link/", {"action": "revoke"})
    client.logout()
    assert client.get(f"/shared/{token}/").status_code == 404
    assert client.get(f"/shared/{token}/images/{image.pk}/").status_code == 404


def test_guessing_a_public_token_finds_nothing(client, alice):
    make_task(alice)
    assert client.get("/shared/abc/").status_code == 404
