import logging

import pytest
from django.conf import settings as django_settings
from django.core.handlers.base import BaseHandler

from tests.factories import SECRETS
from vision import sandbox


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Every test gets its own media folder and sandbox store, a fast hasher and no fault left over."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FOXAPI_BASE_URL = "sandbox"
    settings.FOXAPI_SANDBOX_DB = tmp_path / "sandbox.sqlite3"
    settings.FOXAPI_SANDBOX_DURATION = 0.0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


def _scanned(chunks, path, leaks):
    for chunk in chunks:
        if any(secret in chunk for secret in SECRETS):
            leaks.append(path)
        yield chunk


@pytest.fixture(autouse=True)
def _the_test_key_never_leaks(monkeypatch, caplog):
    """Every response body of every test (browser tests too), and every log line, is searched for the test keys."""
    caplog.set_level(logging.DEBUG)
    leaks = []
    original = BaseHandler.get_response

    def get_response(self, request):
        response = original(self, request)
        if response.streaming:
            response.streaming_content = _scanned(response.streaming_content, request.path, leaks)
        elif any(secret in response.content for secret in SECRETS):
            leaks.append(request.path)
        return response

    monkeypatch.setattr(BaseHandler, "get_response", get_response)
    yield leaks
    assert leaks == [], f"The API key appeared in the response of {leaks}"
    assert not any(secret.decode() in caplog.text for secret in SECRETS), "An API key appeared in a log line"


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-password-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def carol(django_user_model):
    """Someone on no team of alice's or bob's."""
    return django_user_model.objects.create_user("carol", "carol@example.com", "carol-password-1")


@pytest.fixture
def team(alice, bob):
    """Alice owns the team, Bob is a member."""
    from vision.models import Membership, Team

    team = Team.found("Web editors", alice)
    Membership.objects.create(team=team, user=bob)
    return team
