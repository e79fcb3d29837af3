"""vision/throttle.py: wrong passwords and unknown public links are limited per client address."""

import pytest
import time_machine

from tests.factories import make_task
from vision import throttle

pytestmark = pytest.mark.django_db

LOGIN = "/login/"


def log_in(client, password, username="alice", forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(LOGIN, {"username": username, "password": password}, headers=headers)


def test_it_answers_429_after_too_many_wrong_passwords_even_to_the_right_one(client, alice, settings):
    settings.FOXWEB_LOGIN_FAILURES_PER_USER = 5
    for _ in range(5):
        assert log_in(client, "wrong").status_code == 200
    response = log_in(client, "alice-password-1")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many attempts" in page
    assert "Wait 15 minutes, then try again." in page
    assert 'class="site-header"' in page  # the app's own page, not a bare error
    assert 0 < int(response["Retry-After"]) <= 900
    assert "_auth_user_id" not in client.session


def test_the_pause_ends_after_the_window(client, alice, settings):
    settings.FOXWEB_LOGIN_FAILURES_PER_USER = 3
    with time_machine.travel("2026-03-02 09:00", tick=False) as traveller:
        for _ in range(3):
            log_in(client, "wrong")
        assert log_in(client, "alice-password-1").status_code == 429
        traveller.shift(600)
        response = log_in(client, "alice-password-1")
        assert response.status_code == 429
        assert int(response["Retry-After"]) == 300
        traveller.shift(301)
        assert log_in(client, "alice-password-1").status_code == 302


def test_a_right_password_forgives_the_earlier_misses(client, alice, settings):
    settings.FOXWEB_LOGIN_FAILURES_PER_USER = 3
    log_in(client, "wrong")
    log_in(client, "wrong")
    assert log_in(client, "alice-password-1").status_code == 302
    client.logout()
    log_in(client, "wrong")
    log_in(client, "wrong")
    assert log_in(client, "alice-password-1").status_code == 302


def test_one_name_locked_leaves_others_free_until_the_address_limit(client, alice, bob, settings):
    settings.FOXWEB_LOGIN_FAILURES_PER_USER = 2
    settings.FOXWEB_LOGIN_FAILURES_PER_ADDRESS = 4
    log_in(client, "wrong")
    log_in(client, "wrong")
    assert log_in(client, "alice-password-1").status_code == 429
    assert log_in(client, "bob-password-1", username="bob").status_code == 302
    client.logout()
    for name in ("carol", "dave"):
        log_in(client, "wrong", username=name)
    assert log_in(client, "bob-password-1", username="Bob").status_code == 429  # the address is spent


def test_behind_a_proxy_each_client_counts_on_its_own(client, alice, settings):
    settings.FOXWEB_TRUSTED_PROXIES = 1
    settings.FOXWEB_LOGIN_FAILURES_PER_USER = 2
    for _ in range(2):
        log_in(client, "wrong", forwarded_for="203.0.113.7")
    assert log_in(client, "wrong", forwarded_for="203.0.113.7").status_code == 429
    # The left part is whatever the client wrote; the proxy's own entry is on the right.
    assert log_in(client, "wrong", forwarded_for="198.51.100.1, 203.0.113.7").status_code == 429
    assert log_in(client, "alice-password-1", forwarded_for="203.0.113.8").status_code == 302


def test_the_client_address_is_remote_addr_unless_proxies_are_trusted(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8")
    settings.FOXWEB_TRUSTED_PROXIES = 0
    assert throttle.client_address(request) == "10.0.0.2"
    settings.FOXWEB_TRUSTED_PROXIES = 1
    assert throttle.client_address(request) == "5.6.7.8"
    settings.FOXWEB_TRUSTED_PROXIES = 2
    assert throttle.client_address(request) == "1.2.3.4"
    settings.FOXWEB_TRUSTED_PROXIES = 3  # fewer entries than proxies: nothing trustworthy there
    assert throttle.client_address(request) == "10.0.0.2"


def test_guessing_public_links_is_answered_429_past_the_limit(client, alice, settings):
    settings.FOXWEB_SHARED_MISSES_PER_ADDRESS = 3
    task = make_task(alice)
    token = task.share_publicly()
    image = task.images.get()
    assert client.get(f"/shared/{token}/").status_code == 200  # successes are not counted
    assert client.get("/shared/guess-1/").status_code == 404
    assert client.get(f"/shared/{token}/images/{image.pk}/").status_code == 404  # full size not chosen
    assert client.get("/shared/guess-2/images/1/thumbnail/").status_code == 404
    response = client.get("/shared/guess-3/")
    assert response.status_code == 429
    assert "links that do not work" in response.content.decode()
    assert client.get(f"/shared/{token}/").status_code == 429  # a right guess gets no answer now either
    assert client.get(f"/shared/{token}/", REMOTE_ADDR="192.0.2.9").status_code == 200  # others can read


def test_limits_count_per_key_and_forget(settings):
    settings.FOXWEB_LOGIN_FAILURES_PER_USER = 2
    limit = throttle.LOGINS_PER_USER
    assert limit.blocked_for("a") == 0
    limit.miss("a")
    limit.miss("a")
    assert 0 < limit.blocked_for("a") <= settings.FOXWEB_THROTTLE_SECONDS
    assert limit.blocked_for("b") == 0
    limit.clear("a")
    assert limit.blocked_for("a") == 0
