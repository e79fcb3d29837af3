"""Every browser test runs with the Content-Security-Policy on and fails on any violation; this checks
that the watch really sees one, and that the pages htmx changes stay within the policy."""

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_watch_reports_what_the_policy_refuses(new_page, django_user_model, csp_violations):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    assert csp_violations == []
    # An inline script, an inline style and an image from elsewhere: all refused, nothing fetched.
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__ran = true";
            document.body.appendChild(script);
            document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
            document.body.insertAdjacentHTML("beforeend", '<img src="https://elsewhere.invalid/x.png">');
        }"""
    )
    expected = ("inline script", "inline style", "elsewhere.invalid")
    while not all(word in "\n".join(csp_violations) for word in expected):
        page.wait_for_event("console", timeout=5_000)  # the browser reports each refusal on its console
    assert page.evaluate("window.__ran === undefined")
    csp_violations.clear()  # expected here; anywhere else they fail the test


def test_htmx_works_under_the_policy(new_page, django_user_model, tmp_path):
    django_user_model.objects.create_user("edith", password="edith-password-1")
    page = new_page()
    log_in(page, "edith", "edith-password-1")
    assert page.evaluate("document.documentElement.classList.contains('js')")
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.locator("style").count() == 0
    # A mistake on the form comes back through htmx and is swapped in without a reload.
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Describe", exact=True).click()
    page.locator(".form-error, [data-error-summary]").first.wait_for()
    assert page.evaluate("window.__sameDocument") is True
