"""API keys as new users meet them: a personal key, a team key, a member paying with it."""

import pytest
from PIL import Image

from tests.browser.conftest import check_a11y, log_in
from tests.factories import TEST_KEY, TEST_TEAM_KEY
from vision.models import ApiKey, Task

pytestmark = pytest.mark.django_db(transaction=True)

TEAM_KEY = TEST_TEAM_KEY


def test_keys_are_added_used_and_never_shown(new_page, django_user_model, tmp_path, settings, screenshot):
    settings.FOXAPI_SANDBOX_DURATION = 1.0
    for name in ("alice", "bob"):
        django_user_model.objects.create_user(name, password=f"{name}-password-1")
    photo = tmp_path / "mug.png"
    Image.new("RGB", (320, 240), (40, 80, 200)).save(photo)

    # Alice adds a personal key, creates a team and adds a team key.
    alice = new_page()
    log_in(alice, "alice", "alice-password-1")
    alice.get_by_role("link", name="Keys").click()
    alice.get_by_label("Name", exact=True).fill("My own")
    alice.get_by_label("API key").fill(TEST_KEY)
    alice.get_by_role("button", name="Test and save the key").click()
    alice.get_by_text(f"…{TEST_KEY[-4:]}").first.wait_for()
    assert TEST_KEY not in alice.content()
    check_a11y(alice)

    alice.get_by_role("link", name="Teams").click()
    alice.get_by_label("Team name").fill("Marketing")
    alice.get_by_role("button", name="Create team").click()
    alice.get_by_role("button", name="Make an invitation link").click()
    link = alice.locator("#invite-url").input_value()
    alice.get_by_role("link", name="Keys").click()
    alice.get_by_label("Name", exact=True).fill("Marketing budget")
    alice.get_by_label("API key").fill(TEAM_KEY)
    alice.get_by_label("Whose key").select_option(label="The team “Marketing”")
    alice.get_by_role("button", name="Test and save the key").click()
    alice.get_by_role("heading", name="Marketing budget").wait_for()

    # Bob joins and describes an image with the team key.
    bob = new_page()
    log_in(bob, "bob", "bob-password-1")
    bob.goto(link)
    bob.get_by_role("button", name="Join the team").click()
    bob.get_by_role("link", name="Describe").click()
    bob.locator('input[name="files"]').set_input_files(str(photo))
    bob.locator('.staged-item:has(input[name="uploads"])', has_text="mug.png").wait_for()
    bob.get_by_label("Pay with").select_option(label=f"Marketing budget (Marketing, …{TEAM_KEY[-4:]})")
    bob.get_by_role("button", name="Describe", exact=True).click()
    bob.get_by_role("heading", name="Description").wait_for()
    task = Task.objects.get()
    assert task.api_key == ApiKey.objects.get(name="Marketing budget")
    assert "Marketing budget" in bob.content()
    bob.get_by_role("link", name="Keys").click()
    assert "Team keys you can use" in bob.content()
    assert bob.get_by_role("button", name="Revoke").count() == 0
    check_a11y(bob)

    # Alice sees the usage on the keys page.
    alice.reload()
    card = alice.locator(".key", has_text="Marketing budget")
    assert f"1 task, {task.total_tokens} tokens" in card.inner_text()
    assert alice.locator(".usage svg").count() == 2  # the unused personal key has no chart, only a note
    check_a11y(alice)
    screenshot(alice, "keys")

    # No page carries either key; the leak watch in tests/conftest.py checked every response too.
    for page in (alice, bob):
        assert TEST_KEY not in page.content() and TEAM_KEY not in page.content()


def test_on_a_phone_a_saved_key_is_shown_where_the_user_is_looking(new_page, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="alice-password-1")
    for name in ("Archive", "Brochures", "Catalogue"):
        ApiKey.store(name=name, secret=f"sk-{name.lower()}-0000", owner=alice)
    page = new_page(viewport={"width": 390, "height": 700})
    log_in(page, "alice", "alice-password-1")
    page.goto("/keys/")
    page.get_by_role("button", name="Test and save the key").click()
    page.get_by_text("Paste the key from your FoxAPI account.").wait_for()
    check_a11y(page)  # the form with its mistakes marked
    page.get_by_label("Name", exact=True).fill("Zoo photos")
    page.get_by_label("API key").fill(TEST_KEY)
    page.get_by_role("button", name="Test and save the key").click()
    card = page.locator(".key", has_text="Zoo photos")
    card.get_by_role("status").wait_for()
    assert "Key “Zoo photos”" in card.get_by_role("status").inner_text()
    box = card.bounding_box()
    assert 0 <= box["y"] < 700 * 0.5, box  # the new key is on screen, not below the form and the list
    check_a11y(page)
