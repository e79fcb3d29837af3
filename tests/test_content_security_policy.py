"""Every page carries a Content-Security-Policy that allows no inline script, and no template needs one."""

import re
from pathlib import Path

import pytest

from tests.factories import make_task

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_pages_carry_the_policy(client, alice, alice_client):
    task = make_task(alice)
    token = task.share_publicly()
    for response in (
        alice_client.get("/"),
        alice_client.get(f"/tasks/{task.pk}/"),
        alice_client.get(f"/tasks/{task.pk}/status/", headers={"HX-Request": "true"}),
        client.get(f"/shared/{token}/"),
    ):
        policy = directives(response)
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:"]
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_the_login_page_carries_it_too(client, alice):
    assert "script-src 'self'" in client.get("/login/")["Content-Security-Policy"]


def test_pages_have_no_inline_script_and_tell_htmx_to_stay_within_the_policy(alice_client):
    page = alice_client.get("/").content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page
    assert '"includeIndicatorStyles": false' in page
    assert '"allowEval": false' in page


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name)
def test_no_template_has_inline_scripts_styles_or_handlers(path):
    text = path.read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []
    assert "<style" not in text
    assert re.findall(r"\sstyle=", text) == []
    assert re.findall(r"\son[a-z]+=", text) == []  # onclick= and friends are inline scripts too
    assert "javascript:" not in text
