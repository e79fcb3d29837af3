"""First run: an empty installation offers to create its administrator; login is needed everywhere else."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_it_sends_a_first_visit_to_the_setup_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/setup/"
    page = client.get("/setup/")
    assert b"Welcome to FoxWeb" in page.content
    assert b"Create administrator account" in page.content


def test_it_creates_the_first_administrator_and_logs_them_in(client):
    response = client.post(
        "/setup/",
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    admin = get_user_model().objects.get()
    assert admin.is_superuser and admin.is_staff
    assert client.get("/").status_code == 200


def test_it_keeps_what_was_typed_when_passwords_differ(client):
    response = client.post(
        "/setup/", {"username": "ada", "email": "", "password1": "a-long-pass-phrase", "password2": "another"}
    )
    assert response.status_code == 200
    assert b'value="ada"' in response.content
    assert b"didn\xe2\x80\x99t match" in response.content or b"do not match" in response.content
    assert not get_user_model().objects.exists()


def test_setup_is_closed_once_an_account_exists(client, alice):
    response = client.post(
        "/setup/",
        {"username": "mallory", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 302
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_login_is_required_everywhere_else(client, alice):
    for url in ("/", "/tasks/1/", "/tasks/1/status/", "/images/1/", "/uploads/1/thumbnail/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_the_login_page_logs_in(client, alice):
    page = client.get("/login/")
    assert page.status_code == 200
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_password_gets_a_plain_message(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match an account" in response.content


def test_every_page_shows_the_sandbox_badge(alice_client):
    assert b'class="sandbox-badge"' in alice_client.get("/").content
    assert b"simulated" in alice_client.get("/").content


def test_no_sandbox_badge_for_the_real_service(alice_client, settings):
    settings.FOXAPI_BASE_URL = "https://api.foxapi.cc"
    assert b'class="sandbox-badge"' not in alice_client.get("/").content


def test_an_htmx_poll_after_the_session_ended_sends_the_page_to_login(client, alice):
    response = client.get(
        "/tasks/1/status/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tasks/1/"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/tasks/1/"


def test_the_login_page_says_the_session_ended_after_an_htmx_request(client, alice):
    client.post("/", {"describe": "1"}, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/"})
    page = client.get("/login/?next=/").content.decode()
    assert "Your session ended. Log in again to carry on; what you typed is kept." in page


def test_a_first_visit_to_the_login_page_says_nothing_about_an_ended_session(client, alice):
    client.get("/")
    assert "Your session ended" not in client.get("/login/?next=/").content.decode()


def test_a_weak_password_is_explained_under_password_not_its_confirmation(client):
    response = client.post("/setup/", {"username": "ada", "password1": "12345678", "password2": "12345678"})
    page = response.content.decode()
    assert '<div class="error" id="id_password1_error"><p>This password is too common.' in page
    assert 'id="id_password2_error"' not in page
    assert not get_user_model().objects.exists()


def test_the_first_run_page_says_how_colleagues_join(client):
    page = client.get("/setup/").content.decode()
    assert "add colleagues later" not in page
    assert "invitation link" in page
