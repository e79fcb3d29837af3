"""vision/debug.py: error pages, reports and logged tracebacks never show a key, even one quoted
in an exception's message, and whatever the key looks like."""

import io
import logging

import pytest

from tests.factories import TEST_KEY
from vision import debug, keyvault
from vision.models import Profile

pytestmark = pytest.mark.django_db

ODD_KEY = "orgkey:4b7c9e1f2a3d5e6f7a8b"  # a key of no known shape, once FoxWeb has handled it


@pytest.fixture
def failing_keys_page(alice_client, settings, monkeypatch):
    """The keys page breaks with an exception whose message quotes a key; DEBUG is on."""
    settings.DEBUG = True
    alice_client.raise_request_exception = False

    def fail_with(message):
        def of(user):
            raise RuntimeError(message)

        monkeypatch.setattr(Profile, "of", of)
        return alice_client.get("/keys/", headers={"Accept": "text/html"})

    return fail_with


def test_the_technical_500_page_hides_a_key_in_the_exception_message(failing_keys_page):
    response = failing_keys_page(f"FoxAPI refused {TEST_KEY} for this request")
    page = response.content.decode()
    assert response.status_code == 500
    assert "RuntimeError" in page and "FoxAPI refused" in page  # still a useful page
    assert TEST_KEY not in page
    assert TEST_KEY[8:] not in page
    assert debug.SUBSTITUTE in page


def test_the_plain_text_500_report_hides_it_too(failing_keys_page, alice_client):
    alice_client.raise_request_exception = False
    response = failing_keys_page(f"FoxAPI refused {TEST_KEY}")
    assert response.status_code == 500
    text = alice_client.get("/keys/", headers={"Accept": "text/plain"}).content.decode()
    assert "RuntimeError" in text
    assert TEST_KEY not in text


def test_the_logged_traceback_hides_the_key(failing_keys_page, caplog):
    written = io.StringIO()
    handler = logging.StreamHandler(written)  # a handler of its own, as a production log would have
    logging.getLogger("django.request").addHandler(handler)
    try:
        failing_keys_page(f"FoxAPI refused Authorization: Bearer {TEST_KEY}")
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    assert "Traceback" in written.getvalue() and "RuntimeError: FoxAPI refused" in written.getvalue()
    assert TEST_KEY not in written.getvalue()
    assert "Internal Server Error: /keys/" in caplog.text
    assert TEST_KEY not in caplog.text


def test_a_key_of_another_shape_is_hidden_once_foxweb_has_handled_it(failing_keys_page):
    keyvault.encrypt(ODD_KEY)  # stored (or decrypted, or sent to FoxAPI): now remembered
    page = failing_keys_page(f"the service said no to {ODD_KEY}").content.decode()
    assert ODD_KEY not in page
    assert "4b7c9e1f2a3d5e6f7a8b" not in page


def test_the_organisation_key_is_hidden_whatever_its_shape(failing_keys_page, settings):
    settings.FOXAPI_API_KEY = "fox.live.Q2w3E4r5T6y7"
    page = failing_keys_page("configured with fox.live.Q2w3E4r5T6y7").content.decode()
    assert "Q2w3E4r5T6y7" not in page


@pytest.mark.parametrize(
    "text",
    [
        f"key {TEST_KEY} refused",
        "stripe-style sk_live_51HxYzAbCdEfGhIj refused",
        "headers {'Authorization': 'Bearer abc.DEF-123_456'}",
        "url https://x.example/?api_key=a1b2c3d4e5f6g7h8 failed",
        '{"secret": "Zx81Qw72Er63Ty54"}',
        "api-key: 9f8e7d6c5b4a39281706",
        "key=&#x27;sk-test-Zq8v3LxW9kP2&#x27;",
    ],
)
def test_key_shapes_are_scrubbed(text):
    scrubbed = debug.scrub(text)
    assert scrubbed != text
    assert debug.SUBSTITUTE in scrubbed
    for secret in ("Zq8v3LxW9kP2", "51HxYzAbCdEfGhIj", "abc.DEF-123_456", "a1b2c3d4e5f6g7h8", "Zx81Qw72Er63Ty54"):
        assert secret not in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "task task-8f2c1a9d0e completed",
        "secret = self.cleaned_data['secret']",
        "token_urlsafe(32) made the share_token",
        "GET /tasks/42/status/ 200",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert debug.scrub(text) == text
