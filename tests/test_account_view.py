"""The account page: defaults for new descriptions, password, logging out everywhere."""

import pytest
from django.test import Client

from vision.models import Profile, Team

pytestmark = pytest.mark.django_db


def test_defaults_are_saved_and_used_by_the_describe_form(client, alice):
    team = Team.found("Shop", alice)
    client.force_login(alice)
    client.post("/account/", {"default_model": "gpt-5.5", "default_preset": "alt-text", "default_team": team.pk})
    profile = Profile.of(alice)
    assert (profile.default_model, profile.default_preset, profile.default_team) == (
        "gpt-5.5",
        "alt-text",
        team,
    )
    page = client.get("/").content.decode()
    assert 'value="gpt-5.5" data-max-images="1" checked' in page
    assert "Write alt text for this image" in page
    assert f'<option value="{team.pk}" selected>Shop</option>' in page


def test_the_last_team_chosen_on_the_describe_form_is_remembered(client, alice):
    from tests.factories import upload_file

    team = Team.found("Shop", alice)
    client.force_login(alice)
    client.post(
        "/",
        {
            "describe": "1",
            "model": "claude-opus-4-7",
            "prompt": "Describe",
            "max_tokens": "300",
            "key": "sandbox",
            "team": team.pk,
            "files": [upload_file()],
        },
    )
    assert Profile.of(alice).default_team == team


def test_a_password_change_keeps_this_session_and_ends_others(alice):
    here, elsewhere = Client(), Client()
    here.force_login(alice)
    elsewhere.force_login(alice)
    response = here.post(
        "/account/password/",
        {
            "old_password": "alice-password-1",
            "new_password1": "new-long-phrase-9",
            "new_password2": "new-long-phrase-9",
        },
    )
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302


def test_a_wrong_old_password_is_explained(client, alice):
    client.force_login(alice)
    response = client.post(
        "/account/password/",
        {"old_password": "nope", "new_password1": "new-long-phrase-9", "new_password2": "new-long-phrase-9"},
    )
    assert "Your old password was entered incorrectly" in response.content.decode()


def test_log_out_everywhere_ends_every_session(alice):
    here, elsewhere = Client(), Client()
    here.force_login(alice)
    elsewhere.force_login(alice)
    response = here.post("/account/logout-everywhere/", {"password": "alice-password-1"})
    assert response["Location"] == "/login/"
    assert here.get("/").status_code == 302
    assert elsewhere.get("/").status_code == 302
    assert Client().login(username="alice", password="alice-password-1")


def test_log_out_everywhere_needs_the_password(client, alice):
    client.force_login(alice)
    response = client.post("/account/logout-everywhere/", {"password": "wrong"})
    assert "That is not your current password." in response.content.decode()
    assert client.get("/").status_code == 200


def test_a_weak_new_password_is_explained_under_the_new_password(client, alice):
    client.force_login(alice)
    response = client.post(
        "/account/password/",
        {"old_password": "alice-password-1", "new_password1": "12345678", "new_password2": "12345678"},
    )
    page = response.content.decode()
    assert 'id="id_new_password1_error"><p>This password is too common.' in page
    assert 'id="id_new_password2_error"' not in page
