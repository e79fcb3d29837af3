"""API keys: encrypted at rest, tested on save, masked everywhere, usable by whom they belong to."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import TEST_KEY, make_task, upload_file
from tests.jobqueue import run_due_jobs, settle
from vision import foxapi, keyvault, sandbox
from vision.models import ApiKey, Membership, Profile, Task

pytestmark = pytest.mark.django_db


def add_key(client, name="Marketing budget", secret=TEST_KEY, holder="personal"):
    return client.post("/keys/", {"name": name, "secret": secret, "holder": holder})


def describe_with(client, key_value, **extra):
    data = {
        "describe": "1",
        "model": "claude-opus-4-7",
        "prompt": "Describe",
        "max_tokens": "300",
        "key": key_value,
        "files": [upload_file()],
        **extra,
    }
    response = client.post("/", data)
    settle()  # the worker sends the task and collects the answer
    return response


def test_a_personal_key_is_tested_encrypted_and_shown_masked(client, alice):
    client.force_login(alice)
    response = add_key(client)
    key = ApiKey.objects.get()
    assert response["Location"] == f"/keys/#key-{key.pk}"  # the page opens at the new key
    assert (key.owner, key.team, key.status, key.last_four) == (alice, None, "ok", TEST_KEY[-4:])
    assert TEST_KEY not in key.encrypted
    assert key.secret() == TEST_KEY
    page = client.get("/keys/").content.decode()
    assert f"…{TEST_KEY[-4:]}" in page
    assert "sk-…" not in page  # no prefix is made up: keys need not start with sk-
    assert "Marketing budget" in page


def test_the_saved_message_is_shown_in_the_new_keys_card(client, alice):
    client.force_login(alice)
    ApiKey.store(name="Another", secret="sk-other-key-1234", owner=alice)
    add_key(client)
    page = client.get("/keys/").content.decode()
    key = ApiKey.objects.get(name="Marketing budget")
    card = page[page.index(f'id="key-{key.pk}"') :]
    card = card[: card.index("</li>")]
    assert "Key “Marketing budget”" in card and "saved." in card
    assert page.count("saved.") == 1  # not also at the top of the page


def test_the_database_alone_reveals_nothing(client, alice):
    client.force_login(alice)
    add_key(client)
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert all(TEST_KEY not in str(value) for value in row), table


def test_a_rejected_key_is_not_saved(client, alice):
    client.force_login(alice)
    response = add_key(client, secret="sk-revoked-1234567890")
    page = response.content.decode()
    assert "FoxAPI did not accept this key" in page
    assert "sk-revoked-1234567890" not in page
    assert not ApiKey.objects.exists()


def test_a_key_that_cannot_be_tested_is_saved_as_untested(client, alice):
    sandbox.inject_faults([{"drop": True}] * 4)
    client.force_login(alice)
    response = add_key(client)
    key = ApiKey.objects.get()
    assert key.status == "untested"
    assert "saved as untested" in client.get(response["Location"]).content.decode()


def test_a_key_without_balance_is_saved_and_flagged(client, alice):
    client.force_login(alice)
    add_key(client, secret="sk-nobalance-12345678")
    page = client.get("/keys/").content.decode()
    assert ApiKey.objects.get().status == "no_balance"
    assert "Out of balance" in page


@pytest.mark.parametrize(
    ("secret", "message"),
    [("", "Paste the key"), ("not a key", "spaces"), ("fox_12", "too short")],
)
def test_malformed_keys_are_explained(client, alice, secret, message):
    client.force_login(alice)
    assert message in add_key(client, secret=secret).content.decode()
    assert not ApiKey.objects.exists()


OTHER_SHAPES = [
    "fox_abc123def456ghi789",
    "3f2b8c1e-9d4a-4e7b-a1c2-5f6e7d8c9b0a",  # a UUID
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmb3h3ZWIifQ.c2lnbmF0dXJlLWhlcmU",  # a JWT
]


@pytest.mark.parametrize("secret", OTHER_SHAPES)
def test_a_key_of_another_shape_is_left_to_foxapi_to_judge(client, alice, monkeypatch, secret):
    """The contract only shows sk-… keys as an example; another FoxAPI may issue other shapes."""
    calls = []
    monkeypatch.setattr(foxapi.FoxAPIClient, "check_key", lambda self, key: calls.append(key) or True)
    client.force_login(alice)
    response = add_key(client, secret=secret)
    key = ApiKey.objects.get()
    assert response.status_code == 302
    assert calls == [secret]
    assert (key.status, key.last_four, key.secret()) == ("ok", secret[-4:], secret)
    page = client.get("/keys/").content.decode()
    assert f"…{secret[-4:]}" in page
    assert "sk-…" not in page
    assert secret not in page


def test_a_key_of_another_shape_that_foxapi_refuses_is_not_saved(client, alice):
    client.force_login(alice)
    page = add_key(client, secret="fox_abc123def456ghi789").content.decode()
    assert "FoxAPI did not accept this key" in page  # FoxAPI's answer, not a rule of the form
    assert "fox_abc123def456ghi789" not in page
    assert not ApiKey.objects.exists()


def test_the_help_text_does_not_promise_a_prefix(client, alice):
    client.force_login(alice)
    page = client.get("/keys/").content.decode()
    assert "Usually starts with sk-." in page


def test_the_leak_watch_catches_a_key_in_a_page(client, alice, _the_test_key_never_leaks):
    client.force_login(alice)
    add_key(client, name=TEST_KEY, secret="")  # the name field is shown again, so the key is too
    assert _the_test_key_never_leaks == ["/keys/"]
    _the_test_key_never_leaks.clear()


def test_a_team_owner_adds_a_team_key_a_member_uses_it(client, alice, bob, team):
    client.force_login(alice)
    add_key(client, name="Shop budget", holder=f"team:{team.pk}")
    key = ApiKey.objects.get()
    assert (key.team, key.owner) == (team, None)
    client.force_login(bob)
    page = client.get("/").content.decode()
    assert f'value="key:{key.pk}"' in page
    response = describe_with(client, f"key:{key.pk}")
    task = Task.objects.get()
    assert response["Location"] == f"/tasks/{task.pk}/"
    assert (task.api_key, task.key_source, task.status) == (key, "key", "completed")
    key.refresh_from_db()
    assert key.last_used is not None


def test_a_member_cannot_see_rename_or_revoke_a_team_key(client, alice, bob, team):
    client.force_login(alice)
    add_key(client, name="Shop budget", holder=f"team:{team.pk}")
    key = ApiKey.objects.get()
    client.force_login(bob)
    page = client.get("/keys/").content.decode()
    assert "Team keys you can use" in page
    assert f"/keys/{key.pk}/revoke/" not in page
    assert client.post(f"/keys/{key.pk}/rename/", {"name": "Mine"}).status_code == 404
    assert client.post(f"/keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert (key.name, key.revoked) == ("Shop budget", None)


def test_a_member_cannot_add_a_key_to_a_team_they_do_not_own(client, bob, team):
    client.force_login(bob)
    response = add_key(client, holder=f"team:{team.pk}")
    assert "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_non_member_cannot_use_a_team_key_even_by_posting_its_id(client, alice, carol, team):
    key = ApiKey.store(name="Shop budget", secret=TEST_KEY, team=team, created_by=alice)
    client.force_login(carol)
    assert f"key:{key.pk}" not in client.get("/").content.decode()
    response = describe_with(client, f"key:{key.pk}")
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_a_revoked_key_stays_on_past_tasks_but_cannot_be_used(client, alice):
    client.force_login(alice)
    add_key(client)
    key = ApiKey.objects.get()
    describe_with(client, f"key:{key.pk}")
    client.post(f"/keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.is_revoked
    task = Task.objects.get()
    assert "Marketing budget" in client.get(f"/tasks/{task.pk}/").content.decode()
    assert describe_with(client, f"key:{key.pk}").status_code == 400
    assert f'value="key:{key.pk}"' not in client.get("/").content.decode()


def test_renaming_and_choosing_a_default(client, alice):
    client.force_login(alice)
    add_key(client, name="First")
    add_key(client, name="Second", secret=TEST_KEY + "2")
    first, second = ApiKey.objects.order_by("id")
    client.post(f"/keys/{first.pk}/rename/", {"name": "Renamed"})
    client.post(f"/keys/{second.pk}/default/")
    first.refresh_from_db()
    assert first.name == "Renamed"
    assert Profile.of(alice).default_key == second
    assert f'<option value="key:{second.pk}" selected>' in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("secret", "status", "words"),
    [
        ("sk-expired-12345678", "rejected", "did not accept the API key"),
        ("sk-nobalance-123456", "no_balance", "balance"),
    ],
)
def test_401_and_402_fail_the_task_plainly_and_flag_the_key(client, alice, secret, status, words):
    key = ApiKey.store(name="Old", secret=secret, owner=alice, created_by=alice, status="ok")
    client.force_login(alice)
    describe_with(client, f"key:{key.pk}")
    task = Task.objects.get()
    assert task.status == "failed"
    assert words in client.get(f"/tasks/{task.pk}/").content.decode()
    key.refresh_from_db()
    assert key.status == status
    assert ("Rejected by FoxAPI" if status == "rejected" else "Out of balance") in client.get("/keys/").content.decode()


def test_a_key_rejected_while_a_task_runs_is_flagged(alice, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    settings.FOXAPI_SANDBOX_DURATION = 30
    key = ApiKey.store(name="K", secret=TEST_KEY, owner=alice, created_by=alice)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = make_task(alice, api_key=key, key_source="key")
        clock.shift(timedelta(seconds=3))
        sandbox.inject_faults([{"status": 401, "method": "GET"}])
        run_due_jobs()
    key.refresh_from_db()
    task.refresh_from_db()
    assert task.status == "failed"
    assert key.status == "rejected"


def test_the_organisation_key_is_offered_to_everyone(client, alice, settings):
    settings.FOXAPI_API_KEY = TEST_KEY
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert '<option value="organisation" selected>Organisation key</option>' in page
    describe_with(client, "organisation")
    task = Task.objects.get()
    assert (task.key_source, task.api_key, task.status) == ("organisation", None, "completed")
    assert "Organisation key" in client.get(f"/tasks/{task.pk}/").content.decode()


def test_without_any_key_the_form_says_where_to_add_one(client, alice, settings):
    settings.FOXAPI_BASE_URL = "https://api.foxapi.invalid"
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "You have no FoxAPI key yet" in page
    response = describe_with(client, "")
    assert "Add a FoxAPI key on the Keys page first" in response.content.decode()


def test_usage_per_key_and_team_is_charted(client, alice, team):
    personal = ApiKey.store(name="Mine", secret=TEST_KEY, owner=alice, created_by=alice)
    shared = ApiKey.store(name="Shop", secret=TEST_KEY, team=team, created_by=alice)
    make_task(alice, api_key=personal, key_source="key")
    make_task(alice, api_key=shared, key_source="key")
    make_task(alice, api_key=shared, key_source="key")
    tokens = sum(Task.objects.filter(api_key=shared).values_list("total_tokens", flat=True))
    client.force_login(alice)
    page = client.get("/keys/").content.decode()
    assert f"2 tasks, {tokens} tokens" in page
    assert "Usage by team" in page
    assert page.count("<svg") == 3
    assert "<title>" in page


def test_the_keys_page_costs_a_fixed_number_of_queries(client, alice, team, django_assert_max_num_queries):
    for number in range(6):
        key = ApiKey.store(name=f"K{number}", secret=TEST_KEY, owner=alice, created_by=alice)
        make_task(alice, api_key=key, key_source="key", submit=False)
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        client.get("/keys/")


def test_encryption_round_trip_and_rotation(settings, alice):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FOXWEB_ENCRYPTION_KEYS = [old]
    key = ApiKey.store(name="K", secret=TEST_KEY, owner=alice, created_by=alice)
    before = key.encrypted
    settings.FOXWEB_ENCRYPTION_KEYS = [new, old]
    assert key.secret() == TEST_KEY  # old keys still decrypt
    from django.core.management import call_command

    call_command("rotate_api_keys")
    key.refresh_from_db()
    assert key.encrypted != before
    settings.FOXWEB_ENCRYPTION_KEYS = [new]
    assert key.secret() == TEST_KEY  # now readable with the newest key alone
    settings.FOXWEB_ENCRYPTION_KEYS = [old]
    with pytest.raises(keyvault.UndecryptableKey):
        key.secret()


def test_an_unreadable_key_fails_the_task_with_a_plain_message(alice, settings):
    from cryptography.fernet import Fernet

    settings.FOXWEB_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    key = ApiKey.store(name="K", secret=TEST_KEY, owner=alice, created_by=alice)
    settings.FOXWEB_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the first one is lost
    task = make_task(alice, api_key=key, key_source="key")
    assert task.status == "failed"
    assert "can no longer be read" in task.error_message


def test_no_key_in_exports_or_logs(client, alice, caplog):
    key = ApiKey.store(name="K", secret=TEST_KEY, owner=alice, created_by=alice)
    make_task(alice, api_key=key, key_source="key")
    client.force_login(alice)
    for url in ("/history/export.csv", "/history/export.json"):
        body = b"".join(client.get(url).streaming_content).decode()
        assert TEST_KEY not in body
        assert f"K (…{TEST_KEY[-4:]})" in body
    assert TEST_KEY not in caplog.text


def test_membership_decides_use_of_team_keys(alice, bob, carol, team):
    key = ApiKey.store(name="Shop", secret=TEST_KEY, team=team, created_by=alice)
    assert key in ApiKey.objects.usable_by(bob)
    assert key not in ApiKey.objects.usable_by(carol)
    assert key in ApiKey.objects.manageable_by(alice)
    assert key not in ApiKey.objects.manageable_by(bob)
    Membership.objects.filter(user=bob).delete()
    assert key not in ApiKey.objects.usable_by(bob)


def test_check_key_uses_a_task_id_that_cannot_exist():
    assert foxapi.client().check_key(TEST_KEY) is True


def test_the_same_key_cannot_be_saved_twice(client, alice):
    client.force_login(alice)
    add_key(client, name="First")
    response = add_key(client, name="Again")
    assert "This key is already saved as “First”." in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_keys_known_to_fail_are_marked_in_the_choice(client, alice):
    ApiKey.store(name="Empty", secret=TEST_KEY, owner=alice, created_by=alice, status="no_balance")
    client.force_login(alice)
    assert "— out of balance" in client.get("/").content.decode()


def test_an_unused_key_says_so_instead_of_an_empty_chart(client, alice):
    fresh = ApiKey.store(name="Fresh", secret=TEST_KEY, owner=alice, created_by=alice)
    client.force_login(alice)
    page = client.get("/keys/").content.decode()
    assert "Not used yet." in page and "Not used in the last 30 days." not in page
    assert "<svg" not in page
    ApiKey.objects.filter(pk=fresh.pk).update(created=timezone.now() - timedelta(days=31))
    assert "Not used in the last 30 days." in client.get("/keys/").content.decode()


@pytest.fixture
def broken_transport(monkeypatch, settings):
    """FoxAPI's transport fails unexpectedly, and DEBUG is on: Django shows its technical error page."""
    settings.DEBUG = True

    def explode(self, request):
        raise RuntimeError("the transport broke")

    monkeypatch.setattr(sandbox.SandboxTransport, "handle_request", explode)


def test_an_unexpected_error_in_the_worker_is_logged_without_the_key(client, alice, team, broken_transport, caplog):
    key = ApiKey.store(name="Shop", secret=TEST_KEY, team=team, created_by=alice)
    client.force_login(alice)
    describe_with(client, f"key:{key.pk}")
    task = Task.objects.get()
    assert (task.status, task.error_code) == ("failed", "answer_lost")  # it may have gone out: never resent
    assert "the transport broke" in caplog.text  # the traceback is logged...
    # ...and the leak watch (tests/conftest.py) fails the test if the key is in any log line or page


def test_an_error_page_while_adding_a_key_never_shows_it(client, alice, broken_transport):
    client.force_login(alice)
    client.raise_request_exception = False
    response = add_key(client)
    assert response.status_code == 500
    assert "the transport broke" in response.content.decode()


def test_an_error_page_while_adding_a_key_of_another_shape_never_shows_it(client, alice, broken_transport):
    client.force_login(alice)
    client.raise_request_exception = False
    response = add_key(client, secret="fox_live_7Gh2Kp9Qw4Zx")
    page = response.content.decode()
    assert response.status_code == 500
    assert "the transport broke" in page
    assert "7Gh2Kp9Qw4Zx" not in page


def test_a_typed_key_of_another_shape_is_hidden_even_before_foxapi_is_called(client, alice, monkeypatch, settings):
    settings.DEBUG = True

    def fail(self, key):
        raise RuntimeError(f"could not test {key}")

    monkeypatch.setattr(foxapi.FoxAPIClient, "check_key", fail)
    client.force_login(alice)
    client.raise_request_exception = False
    response = add_key(client, secret="fox_live_3Rt8Yu1Io6Pa")
    page = response.content.decode()
    assert response.status_code == 500
    assert "could not test" in page
    assert "3Rt8Yu1Io6Pa" not in page


def test_the_admin_shows_only_the_last_four(client, alice, django_user_model):
    ApiKey.store(name="Odd", secret="fox_abc123def456ghi789", owner=alice, created_by=alice)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1")
    client.force_login(admin)
    page = client.get("/admin/vision/apikey/").content.decode()
    assert "…i789" in page
    assert "sk-…" not in page


def test_a_key_with_characters_no_key_has_is_refused(client, alice):
    client.force_login(alice)
    assert "characters FoxAPI keys never contain" in add_key(client, secret="sk-abcdé12345").content.decode()


def test_a_removed_member_cannot_retry_with_the_team_key(client, alice, bob, team):
    key = ApiKey.store(name="Shop", secret=TEST_KEY, team=team, created_by=alice)
    client.force_login(bob)
    sandbox.inject_faults([{"status": 422, "method": "POST"}])
    describe_with(client, f"key:{key.pk}")
    task = Task.objects.get()
    assert task.status == "failed"
    Membership.objects.filter(user=bob).delete()
    client.post(f"/tasks/{task.pk}/retry/")
    settle()
    task.refresh_from_db()
    key.refresh_from_db()
    assert task.status == "failed"
    assert "can no longer use the API key" in task.error_message
    assert task.upstream_id == ""


def test_keys_saved_before_encryption_keys_were_configured_still_open(settings, alice):
    from cryptography.fernet import Fernet

    settings.FOXWEB_ENCRYPTION_KEYS = []
    key = ApiKey.store(name="K", secret=TEST_KEY, owner=alice, created_by=alice)
    settings.FOXWEB_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert key.secret() == TEST_KEY
    from django.core.management import call_command

    call_command("rotate_api_keys")
    key.refresh_from_db()
    assert key.secret() == TEST_KEY


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "secret": TEST_KEY, "holder": "personal"},
        {"name": "Marketing budget", "secret": TEST_KEY, "holder": "team:999999"},
        {"name": "Marketing budget", "secret": TEST_KEY},
    ],
)
def test_it_asks_foxapi_about_a_key_only_when_the_rest_of_the_form_is_valid(client, alice, monkeypatch, data):
    calls = []
    monkeypatch.setattr(foxapi.FoxAPIClient, "check_key", lambda self, key: calls.append(key) or True)
    client.force_login(alice)
    response = client.post("/keys/", data)
    assert response.status_code == 200  # the form again, with its mistakes
    assert calls == []
    assert not ApiKey.objects.exists()
    add_key(client)
    assert len(calls) == 1
