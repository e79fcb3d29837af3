"""The opt-in Server-Timing header: how long FoxWeb spent on a request, pages and static files alike."""

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from vision import middleware
from vision.middleware import ServerTimingMiddleware

pytestmark = pytest.mark.django_db

TIMING = re.compile(r"^app;dur=\d+\.\d{3}$")


def test_it_is_off_by_default(settings, alice_client):
    assert settings.FOXWEB_SERVER_TIMING is False
    response = alice_client.get("/history/")
    assert response.status_code == 200
    assert "Server-Timing" not in response


def test_it_times_pages_when_switched_on(settings, alice_client):
    settings.FOXWEB_SERVER_TIMING = True
    response = alice_client.get("/history/")
    assert response.status_code == 200
    assert TIMING.match(response["Server-Timing"])


def test_it_times_static_files_served_by_whitenoise_too(settings, client):
    settings.FOXWEB_SERVER_TIMING = True
    settings.WHITENOISE_USE_FINDERS = True
    response = client.get("/static/css/foxweb.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert TIMING.match(response["Server-Timing"])


def test_it_is_first_so_it_times_the_whole_chain(settings):
    assert settings.MIDDLEWARE[0] == "vision.middleware.ServerTimingMiddleware"
    assert settings.MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") > 0


def test_it_reports_the_time_spent_in_milliseconds(settings, monkeypatch):
    settings.FOXWEB_SERVER_TIMING = True
    now = [100.0]
    monkeypatch.setattr(middleware, "clock", lambda: now[0])

    def view(request):
        now[0] += 0.0125  # the rest of the chain takes 12.5 ms
        return HttpResponse("ok")

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))
    assert response["Server-Timing"] == "app;dur=12.500"
