"""Teams: create, invite by single-use expiring link, roles, and the last owner rule."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from vision.models import Invitation, Membership, Team

pytestmark = pytest.mark.django_db


def test_a_user_creates_a_team_and_owns_it(client, alice):
    client.force_login(alice)
    response = client.post("/teams/", {"name": "Shop"})
    team = Team.objects.get()
    assert response["Location"] == f"/teams/{team.pk}/"
    assert team.membership_of(alice).is_owner


def test_a_team_needs_a_name(client, alice):
    client.force_login(alice)
    response = client.post("/teams/", {"name": ""})
    assert "Give the team a name." in response.content.decode()
    assert not Team.objects.exists()


def test_an_owner_makes_an_invitation_link_shown_once(client, alice, team):
    client.force_login(alice)
    page = client.post(f"/teams/{team.pk}/invite/").content.decode()
    invitation = Invitation.objects.get()
    assert f"/invitations/{invitation.token}/" in page
    assert invitation.expires - invitation.created == timedelta(days=7)
    assert invitation.token not in client.get(f"/teams/{team.pk}/").content.decode()


def test_a_member_cannot_invite_or_manage(client, bob, team):
    client.force_login(bob)
    assert client.post(f"/teams/{team.pk}/invite/").status_code == 404
    alice_membership = team.memberships.get(role="owner")
    assert client.post(f"/teams/{team.pk}/members/{alice_membership.pk}/", {"action": "remove"}).status_code == 404
    assert client.post(f"/teams/{team.pk}/", {"name": "Mine now"}).status_code == 404


def test_outsiders_get_404(client, carol, team):
    client.force_login(carol)
    assert client.get(f"/teams/{team.pk}/").status_code == 404
    assert client.post(f"/teams/{team.pk}/leave/").status_code == 404


def test_a_logged_in_colleague_joins_with_the_link(client, alice, carol, team):
    invitation = Invitation.issue(team, alice)
    client.force_login(carol)
    assert "Join the team" in client.get(f"/invitations/{invitation.token}/").content.decode()
    client.post(f"/invitations/{invitation.token}/")
    assert team.membership_of(carol).role == "member"


def test_a_newcomer_creates_an_account_from_the_link(client, alice, team, django_user_model):
    invitation = Invitation.issue(team, alice)
    page = client.get(f"/invitations/{invitation.token}/")
    assert "Create account and join" in page.content.decode()
    response = client.post(
        f"/invitations/{invitation.token}/",
        {"username": "dave", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response["Location"] == f"/teams/{team.pk}/"
    dave = django_user_model.objects.get(username="dave")
    assert team.membership_of(dave) is not None
    assert client.get(f"/teams/{team.pk}/").status_code == 200


def test_a_newcomers_weak_password_is_explained_under_password(client, alice, team):
    invitation = Invitation.issue(team, alice)
    response = client.post(
        f"/invitations/{invitation.token}/", {"username": "dave", "password1": "12345678", "password2": "12345678"}
    )
    page = response.content.decode()
    assert 'id="id_password1_error"><p>This password is too common.' in page
    assert 'id="id_password2_error"' not in page


def test_an_invitation_works_once(client, alice, carol, django_user_model, team):
    invitation = Invitation.issue(team, alice)
    client.force_login(carol)
    client.post(f"/invitations/{invitation.token}/")
    client.logout()
    response = client.post(
        f"/invitations/{invitation.token}/",
        {"username": "eve", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 410
    assert not django_user_model.objects.filter(username="eve").exists()


def test_an_invitation_expires(client, alice, carol, team):
    invitation = Invitation.issue(team, alice)
    client.force_login(carol)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 410
    assert "no longer works" in response.content.decode()
    assert team.membership_of(carol) is None


def test_a_cancelled_invitation_stops_working(client, alice, carol, team):
    invitation = Invitation.issue(team, alice)
    client.force_login(alice)
    client.post(f"/teams/{team.pk}/invitations/{invitation.pk}/cancel/")
    client.force_login(carol)
    assert client.get(f"/invitations/{invitation.token}/").status_code == 410


def test_an_owner_removes_a_member(client, alice, bob, team):
    client.force_login(alice)
    membership = team.membership_of(bob)
    client.post(f"/teams/{team.pk}/members/{membership.pk}/", {"action": "remove"})
    assert team.membership_of(bob) is None


def test_ownership_is_handed_over(client, alice, bob, team):
    client.force_login(alice)
    client.post(f"/teams/{team.pk}/members/{team.membership_of(bob).pk}/", {"action": "make_owner"})
    client.post(f"/teams/{team.pk}/members/{team.membership_of(alice).pk}/", {"action": "make_member"})
    assert team.membership_of(bob).is_owner
    assert not team.membership_of(alice).is_owner


def test_the_last_owner_cannot_leave_or_step_down(client, alice, team):
    client.force_login(alice)
    response = client.post(f"/teams/{team.pk}/leave/", follow=True)
    assert "You are the last owner" in response.content.decode()
    response = client.post(
        f"/teams/{team.pk}/members/{team.membership_of(alice).pk}/", {"action": "make_member"}, follow=True
    )
    assert "at least one owner" in response.content.decode()
    assert team.membership_of(alice).is_owner


def test_a_user_belongs_to_several_teams(client, alice):
    Team.found("One", alice)
    Team.found("Two", alice)
    client.force_login(alice)
    page = client.get("/teams/").content.decode()
    assert "One" in page and "Two" in page
    assert Membership.objects.filter(user=alice).count() == 2


def test_two_of_your_teams_cannot_share_a_name(client, alice, team):
    client.force_login(alice)
    response = client.post("/teams/", {"name": "web EDITORS"})
    assert "You are already in a team called" in response.content.decode()
    other = Team.found("Shop", alice)
    response = client.post(f"/teams/{other.pk}/", {"name": "Web editors"})
    assert "You are already in a team called" in response.content.decode()
    other.refresh_from_db()
    assert other.name == "Shop"


def test_an_owner_deletes_the_team_and_shared_tasks_stay_with_their_owners(client, alice, bob, team):
    from tests.factories import make_task
    from vision.models import Task

    task = make_task(bob, team=team, submit=False)
    client.force_login(bob)
    assert client.post(f"/teams/{team.pk}/delete/").status_code == 404
    client.force_login(alice)
    client.post(f"/teams/{team.pk}/delete/")
    assert not Team.objects.exists()
    task = Task.objects.get(pk=task.pk)
    assert task.team is None
    client.force_login(bob)
    assert client.get(f"/tasks/{task.pk}/").status_code == 200


def test_a_demoted_owners_invitation_stops_working(client, alice, bob, carol, team):
    bob_membership = team.membership_of(bob)
    bob_membership.role = "owner"
    bob_membership.save()
    invitation = Invitation.issue(team, bob)
    bob_membership.role = "member"
    bob_membership.save()
    client.force_login(carol)
    assert client.get(f"/invitations/{invitation.token}/").status_code == 410


def test_a_member_opening_a_link_does_not_spend_it(client, alice, bob, carol, team):
    invitation = Invitation.issue(team, alice)
    client.force_login(bob)
    client.post(f"/invitations/{invitation.token}/")
    invitation.refresh_from_db()
    assert invitation.used_at is None
    client.force_login(carol)
    client.post(f"/invitations/{invitation.token}/")
    assert team.membership_of(carol) is not None
