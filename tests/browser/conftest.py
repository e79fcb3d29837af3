"""Browser tests: Playwright for Python driving Debian's Chromium against the live app.

The app runs in pytest-django's live server, pointed at the standalone FoxAPI sandbox on
loopback. Without /usr/bin/chromium these tests are skipped loudly, except under CI=true,
where they fail.
"""

import os
import threading
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from vision import foxapi
from vision.management.commands.foxapi_sandbox import make_server

# Playwright's sync API runs an event loop in this thread; the ORM calls made by tests are still
# plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SKIP_MESSAGE = "!!! BROWSER TESTS SKIPPED: /usr/bin/chromium is missing (apt-get install chromium) !!!"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    if not CHROMIUM.exists():
        terminalreporter.write_sep("!", SKIP_MESSAGE, red=True, bold=True)


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing: browser tests must run on CI.")
        pytest.skip(SKIP_MESSAGE)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def standalone_sandbox(settings):
    """The sandbox as a real server on loopback, with FoxWeb pointed at it."""
    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.FOXAPI_BASE_URL = url
    settings.FOXAPI_SANDBOX_DURATION = 4.0
    yield url
    server.shutdown()
    server.server_close()
    for key in [key for key in foxapi._clients if key[0] == url]:
        foxapi._clients.pop(key).close()
    foxapi._sandbox_probe.pop(url, None)


@pytest.fixture
def background_worker(transactional_db):
    """FoxWeb's worker (job threads and sweeper) running beside the live server, as `make run` runs it."""
    from django.db import connections

    from vision.worker import Runner

    runner = Runner(threads=2, sweep_every=0.5, handle_signals=False)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    yield runner
    runner.stop()
    thread.join(timeout=10)
    connections.close_all()


@pytest.fixture
def app(live_server, standalone_sandbox, background_worker):
    return live_server.url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        folder = Path("test-results")
        folder.mkdir(exist_ok=True)
        for number, page in enumerate(getattr(item, "_pages", [])):
            try:
                page.screenshot(path=str(folder / f"{item.name}-{number}.png"), full_page=True)
                (folder / f"{item.name}-{number}.html").write_text(page.content())
            except Exception:  # the page may be gone; the failure itself is what matters
                pass
    return report


@pytest.fixture
def csp_violations():
    """What the Content-Security-Policy refused, and pages served without one, in every page opened
    by new_page; a test fails (at teardown) if anything is left here."""
    return []


def watch_csp(page, app: str, violations: list[str]) -> None:
    def on_console(message):
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    def on_response(response):
        document = response.request.resource_type == "document" and response.url.startswith(app)
        if document and "content-security-policy" not in response.headers:
            violations.append(f"{response.url}: served without a Content-Security-Policy")

    page.on("console", on_console)
    page.on("response", on_response)


@pytest.fixture
def new_page(request, chromium, app, csp_violations):
    """A function that opens a fresh browser context (one person) and returns its page."""
    contexts = []
    request.node._pages = []

    def open_page(viewport=None, javascript=True, touch=False):
        context = chromium.new_context(
            base_url=app,
            viewport=viewport or {"width": 1280, "height": 900},
            permissions=["clipboard-read", "clipboard-write"],
            java_script_enabled=javascript,
            has_touch=touch,  # a touch-only device: (pointer: coarse) and (hover: none)
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        watch_csp(page, app, csp_violations)
        request.node._pages.append(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert csp_violations == [], "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


@pytest.fixture
def screenshot():
    """Saves a small PNG of a page for the README when FOXWEB_SCREENSHOTS names a folder."""
    folder = os.environ.get("FOXWEB_SCREENSHOTS")

    def take(page, name):
        if not folder:
            return
        from PIL import Image

        path = Path(folder) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
            small.save(path, optimize=True)

    return take


_axe = Axe()
# What fails a test: WCAG problems axe rates serious or critical. Lesser ones are reported by axe
# itself to whoever runs it by hand; these are the ones that lock people out.
BLOCKING_IMPACTS = ("serious", "critical")


def check_a11y(page) -> None:
    """Run axe-core (from axe-playwright-python, injected by the test only) over the page as it is now."""
    results = _axe.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(node['target']) for node in v['nodes'])}"
        for v in blocking
    )
    assert not blocking, f"Accessibility problems on {page.url}:\n{report}"


def log_in(page, username, password):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
