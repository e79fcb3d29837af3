import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.handlers.base import BaseHandler

from tests.factories import SECRETS
from vision import sandbox


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Every test gets its own media folder and sandbox store, a fast hasher, an empty cache and no fault left over."""
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
    cache.clear()  # no count of failed logins or link guesses carries over
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


class LocalWebServer:
    """A web server on loopback for pasted-URL tests: `routes` maps a path to (content type, body)."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes]] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path not in routes:
                    self.send_error(404)
                    return
                content_type, body = routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def web_server(settings):
    """A local web server that FoxWeb may fetch from (private addresses and its port allowed for the test)."""
    settings.FOXWEB_ALLOW_PRIVATE_URLS = True
    server = LocalWebServer()
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443, server.server.server_address[1]]
    yield server
    server.close()
