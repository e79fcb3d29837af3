"""vision/fetch.py: image URLs are fetched only from public addresses, within a byte cap and a deadline,
and only if what comes back is an image. The network below the fetcher is a real local HTTP server."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests import imagefactory as factory
from vision import fetch
from vision.fetch import FetchError, check_url, fetch_image, fetch_images

PNG = factory.encode(factory.photo(24, 16), "PNG")
JPEG = factory.encode(factory.photo(24, 16), "JPEG")
INSIDE = "This address points to a private or internal network, which FoxWeb does not fetch from."
ip = ipaddress.ip_address


# --- the local server -------------------------------------------------------------------------


def reply(body: bytes, content_type: str = "image/png", status: int = 200, headers: dict | None = None):
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return handle


def redirect(location: str, status: int = 302, headers: dict | None = None):
    return reply(b"", "text/plain", status, {"Location": location, **(headers or {})})


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 in a thread: ``routes`` maps paths to handlers, ``seen`` records requests."""
    routes: dict = {}
    seen: list = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(SimpleNamespace(path=self.path, headers=self.headers))
            route = routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the fetcher hung up
                route(self)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = httpd.server_address[1]
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, routes=routes, seen=seen, stop=stop)
    stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def private_allowed(settings, request):
    """Loopback may be fetched; the test server's port is allowed too (the port rule stays on)."""
    settings.FOXWEB_ALLOW_PRIVATE_URLS = True
    if "server" in request.fixturenames:
        settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443, request.getfixturevalue("server").port]


@pytest.fixture
def private_refused(settings):
    settings.FOXWEB_ALLOW_PRIVATE_URLS = False
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443]


@pytest.fixture
def public_test(settings, server, monkeypatch):
    """Private addresses refused, but "public.test" resolves to the local server and that one address
    (127.0.0.1) counts as public; every other address is judged by the real check."""
    settings.FOXWEB_ALLOW_PRIVATE_URLS = False
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443, server.port]
    names = {
        "public.test": [ip("127.0.0.1")],
        "internal.test": [ip("10.0.0.7")],
        "metadata.test": [ip("169.254.169.254")],
    }
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return names[host]

    real_check = fetch.is_public_address
    monkeypatch.setattr(fetch, "resolve_host", resolve)
    monkeypatch.setattr(fetch, "is_public_address", lambda address: address == ip("127.0.0.1") or real_check(address))
    return SimpleNamespace(url=f"http://public.test:{server.port}", lookups=lookups)


def drip(body_start: bytes, every: float, stop: threading.Event):
    """Headers promising a large image, then one byte at a time, forever (until the test ends)."""

    def handle(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.write(body_start)
        handler.wfile.flush()
        while not stop.wait(every):
            handler.wfile.write(b"\0")
            handler.wfile.flush()

    return handle


def endless(first: bytes, stop: threading.Event, chunked: bool = True):
    """A fast response that never ends: chunked, or without any length (closed by the server)."""

    def handle(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        block = first + bytes(64 * 1024 - len(first))
        for _ in range(2000):  # 128 MB at most, in case the fetcher forgot its cap
            if stop.is_set():
                return
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            block = bytes(64 * 1024)

    return handle


# --- fetching from the local server (private addresses allowed for the test) ------------------


def test_fetches_an_image_and_judges_it_by_content_not_content_type(server, private_allowed):
    server.routes["/photos/cat%20one.png"] = reply(PNG, content_type="text/plain")
    fetched = fetch_image(f"{server.url}/photos/cat%20one.png")
    assert fetched.data == PNG
    assert fetched.content_type == "image/png"
    assert fetched.filename == "cat one.png"
    assert fetched.url == fetched.final_url == f"{server.url}/photos/cat%20one.png"


def test_filename_falls_back_to_image_when_the_path_has_none(server, private_allowed):
    server.routes["/"] = reply(JPEG, content_type="image/jpeg")
    fetched = fetch_image(server.url)
    assert (fetched.filename, fetched.content_type) == ("image", "image/jpeg")


def test_html_page_is_not_an_image(server, private_allowed):
    server.routes["/page"] = reply(b"<!doctype html><html><body>" + b"x" * 5000 + b"</body></html>", "text/html")
    with pytest.raises(FetchError, match="The page at this address is not an image."):
        fetch_image(f"{server.url}/page")


def test_an_svg_drawing_is_refused_with_advice(server, private_allowed):
    server.routes["/logo.svg"] = reply(
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "image/svg+xml"
    )
    with pytest.raises(FetchError, match="SVG drawing. Export it as PNG"):
        fetch_image(f"{server.url}/logo.svg")


def test_html_sent_as_image_png_is_still_not_an_image(server, private_allowed):
    server.routes["/fake.png"] = reply(b"<html><script>alert(1)</script></html>", "image/png")
    with pytest.raises(FetchError, match="not an image"):
        fetch_image(f"{server.url}/fake.png")


def test_a_non_image_is_refused_from_its_first_bytes_without_reading_it_all(server, private_allowed, settings):
    settings.FOXWEB_FETCH_TIMEOUT = 5
    server.routes["/endless.html"] = endless(b"<html>", server.stop)
    started = time.monotonic()
    with pytest.raises(FetchError, match="not an image"):
        fetch_image(f"{server.url}/endless.html")
    assert time.monotonic() - started < 2


def test_follows_redirects(server, private_allowed):
    server.routes["/a"] = redirect("/b", 301)
    server.routes["/b"] = redirect(f"{server.url}/c", 307)
    server.routes["/c"] = redirect("d.png", 308)
    server.routes["/d.png"] = reply(PNG)
    fetched = fetch_image(f"{server.url}/a")
    assert fetched.final_url == f"{server.url}/d.png"
    assert fetched.filename == "d.png"


def test_five_redirects_are_followed_and_the_sixth_is_not(server, private_allowed):
    for hop in range(6):
        server.routes[f"/hop{hop}"] = redirect(f"/hop{hop + 1}")
    server.routes["/hop6"] = reply(PNG)
    assert fetch_image(f"{server.url}/hop1").data == PNG
    with pytest.raises(FetchError, match="redirected more than 5 times"):
        fetch_image(f"{server.url}/hop0")


def test_redirect_loop_gives_up(server, private_allowed):
    server.routes["/loop"] = redirect("/loop")
    with pytest.raises(FetchError, match="redirected more than 5 times"):
        fetch_image(f"{server.url}/loop")
    assert len(server.seen) == 6


def test_redirect_to_another_scheme_is_refused(server, private_allowed):
    server.routes["/to-file"] = redirect("file:///etc/passwd")
    with pytest.raises(FetchError, match="http:// or https://"):
        fetch_image(f"{server.url}/to-file")


def test_no_cookies_are_kept_between_redirects(server, private_allowed):
    server.routes["/login"] = redirect("/image.png", headers={"Set-Cookie": "session=secret; Path=/"})
    server.routes["/image.png"] = reply(PNG)
    fetch_image(f"{server.url}/login")
    assert "Cookie" not in server.seen[-1].headers


def test_sends_no_credentials_and_asks_for_images(server, private_allowed):
    server.routes["/i.png"] = reply(PNG)
    fetch_image(f"{server.url}/i.png")
    headers = server.seen[0].headers
    assert "Authorization" not in headers and "Cookie" not in headers
    assert headers["Accept"] == "image/*"
    assert headers["Host"] == f"127.0.0.1:{server.port}"


def test_proxies_from_the_environment_are_ignored(server, private_allowed, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    server.routes["/i.png"] = reply(PNG)
    assert fetch_image(f"{server.url}/i.png").data == PNG


def test_http_errors_are_named(server, private_allowed):
    with pytest.raises(FetchError, match=r"error 404 \(Not Found\)"):
        fetch_image(f"{server.url}/missing.png")


def test_image_larger_than_the_limit_is_refused_from_its_content_length(server, private_allowed, settings):
    settings.FOXWEB_MAX_UPLOAD_BYTES = 1024 * 1024

    def promises_30_mb(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(30 * 1024 * 1024))
        handler.end_headers()
        handler.wfile.write(PNG)  # and then nothing: only the header can have refused it
        server.stop.wait(10)

    server.routes["/huge.png"] = promises_30_mb
    started = time.monotonic()
    with pytest.raises(FetchError, match="The image at this address is larger than 1 MB."):
        fetch_image(f"{server.url}/huge.png")
    assert time.monotonic() - started < 2


def test_endless_chunked_response_is_cut_at_the_limit(server, private_allowed, settings):
    settings.FOXWEB_MAX_UPLOAD_BYTES = 1024 * 1024
    server.routes["/endless.png"] = endless(PNG[:32], server.stop)
    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetch_image(f"{server.url}/endless.png")


def test_response_without_length_is_cut_at_the_limit(server, private_allowed, settings):
    settings.FOXWEB_MAX_UPLOAD_BYTES = 1024 * 1024
    server.routes["/unsized.png"] = endless(PNG[:32], server.stop, chunked=False)
    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetch_image(f"{server.url}/unsized.png")


def test_content_length_understating_the_body_reads_no_more_than_declared(server, private_allowed):
    def lying(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "40")
        handler.end_headers()
        handler.wfile.write(PNG + bytes(5 * 1024 * 1024))

    server.routes["/short.png"] = lying
    assert fetch_image(f"{server.url}/short.png").data == PNG[:40]


def test_connection_closed_before_the_declared_length_is_an_error(server, private_allowed):
    def broken(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(PNG) * 10))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(PNG)
        handler.close_connection = True

    server.routes["/cut.png"] = broken
    with pytest.raises(FetchError, match="broke off"):
        fetch_image(f"{server.url}/cut.png")


def test_slow_drip_is_stopped_by_the_total_deadline(server, private_allowed, settings):
    settings.FOXWEB_FETCH_TIMEOUT = 0.5
    server.routes["/drip.png"] = drip(PNG[:32], 0.02, server.stop)  # every read succeeds: per-read timeouts never fire
    started = time.monotonic()
    with pytest.raises(FetchError, match="The server took too long to answer."):
        fetch_image(f"{server.url}/drip.png")
    assert time.monotonic() - started < 0.9  # the fetch itself gave up at the deadline


def test_trickled_headers_are_cut_off_at_the_deadline_and_nothing_is_left_open(server, private_allowed, settings):
    settings.FOXWEB_FETCH_TIMEOUT = 0.3
    hung_up = threading.Event()

    def trickle(handler):
        """A status line, then one more header line every 20 ms: every read succeeds, headers never end."""
        try:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for number in range(500):
                if server.stop.wait(0.02):
                    return
                handler.wfile.write(b"X-Line-%d: more to come\r\n" % number)
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            hung_up.set()

    server.routes["/trickle.png"] = trickle
    before = set(threading.enumerate())
    started = time.monotonic()
    with pytest.raises(FetchError, match="The server took too long to answer."):
        fetch_image(f"{server.url}/trickle.png")
    assert time.monotonic() - started < 0.6  # the deadline, not the end of the headers
    leftover = [thread.name for thread in set(threading.enumerate()) - before if "process_request" not in thread.name]
    assert leftover == []  # no fetch thread outlives the request
    assert hung_up.wait(5)  # and the connection was closed: the server's next line found no one


def test_server_that_never_answers_times_out(server, private_allowed, settings):
    settings.FOXWEB_FETCH_TIMEOUT = 0.3
    server.routes["/silent.png"] = lambda handler: server.stop.wait(10)
    started = time.monotonic()
    with pytest.raises(FetchError, match="took too long"):
        fetch_image(f"{server.url}/silent.png")
    assert time.monotonic() - started < 1.5


def test_nothing_listening_is_reported(private_allowed, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443, port]
    with pytest.raises(FetchError, match="could not connect"):
        fetch_image(f"http://127.0.0.1:{port}/x.png")


def test_several_urls_are_fetched_concurrently_in_order(server, private_allowed):
    all_three = threading.Barrier(3, timeout=5)

    def waits_for_the_others(body):
        def handle(handler):
            all_three.wait()  # breaks (and the fetch fails) if the URLs are fetched one by one
            reply(body)(handler)

        return handle

    bodies = [PNG, JPEG, factory.encode(factory.photo(8, 8), "GIF")]
    for name, body in zip("abc", bodies, strict=True):
        server.routes[f"/{name}"] = waits_for_the_others(body)
    results = fetch_images([f"{server.url}/{name}" for name in "abc"])
    assert [result.data for result in results] == bodies


def test_fetch_images_reports_each_failure_in_place(server, private_allowed):
    server.routes["/ok.png"] = reply(PNG)
    results = fetch_images([f"{server.url}/ok.png", "ftp://example.com/x.png", f"{server.url}/missing"])
    assert isinstance(results[0], fetch.FetchedImage)
    assert isinstance(results[1], FetchError) and "http://" in results[1].user_message
    assert isinstance(results[2], FetchError) and "404" in results[2].user_message
    assert fetch_images([]) == []


def test_allowing_private_urls_leaves_the_port_rule_alone(private_allowed, settings):
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443]
    assert check_url("http://127.0.0.1/a.png") == "http://127.0.0.1/a.png"
    with pytest.raises(FetchError, match=r"standard web ports \(80 and 443\)"):
        check_url("http://127.0.0.1:8000/a.png")
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443, 8000]
    assert check_url("http://127.0.0.1:8000/a.png") == "http://127.0.0.1:8000/a.png"


# --- forbidden addresses (the setting off) ----------------------------------------------------

FORBIDDEN_HOSTS = [
    "127.0.0.1",
    "127.1",
    "127.0.0.2",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "017700000001",
    "0177.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "198.18.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "0.0.0.0",
    "0",
    "[::1]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:10.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::1]",
    "[ff02::1]",
    "[::]",
    "localhost",
    "images.localhost",
]


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_addresses_inside_the_network_are_refused_in_any_spelling(host, private_refused):
    with pytest.raises(FetchError, match=INSIDE):
        check_url(f"http://{host}/image.png")
    with pytest.raises(FetchError, match=INSIDE):
        fetch_image(f"https://{host}/image.png")


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_are_public(address):
    assert fetch.is_public_address(ip(address))


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.integers(0, 2**32 - 1))
def test_every_spelling_of_an_ipv4_address_gets_the_same_verdict(number, private_refused):
    address = ipaddress.IPv4Address(number)
    spellings = [str(address), str(number), f"0x{number:x}", f"0{number:o}", f"{number >> 24}.{number & 0xFFFFFF}"]
    verdicts = set()
    for spelling in spellings:
        try:
            check_url(f"http://{spelling}/")
            verdicts.add("allowed")
        except FetchError as error:
            verdicts.add(error.user_message)
    assert verdicts == {"allowed" if fetch.is_public_address(address) else INSIDE}


def test_host_name_resolving_to_a_private_address_is_refused(private_refused, monkeypatch):
    monkeypatch.setattr(fetch, "resolve_host", lambda host, port: [ip("192.168.0.10")])
    assert check_url("https://printer.example.com/scan.png") == "https://printer.example.com/scan.png"
    with pytest.raises(FetchError, match=INSIDE):
        fetch_image("https://printer.example.com/scan.png")


def test_host_name_resolving_to_one_public_and_one_private_address_is_refused(private_refused, monkeypatch):
    monkeypatch.setattr(fetch, "resolve_host", lambda host, port: [ip("93.184.216.34"), ip("::1")])
    with pytest.raises(FetchError, match=INSIDE):
        fetch_image("https://example.com/a.png")


def test_unknown_host_is_reported(private_refused, monkeypatch):
    def unknown(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(fetch, "resolve_host", unknown)
    with pytest.raises(FetchError, match="could not find the server nowhere.example"):
        fetch_image("https://nowhere.example/a.png")


def test_connects_to_the_checked_address_and_resolves_only_once(server, public_test):
    server.routes["/cat.png"] = reply(PNG)
    fetched = fetch_image(f"{public_test.url}/cat.png")
    assert fetched.data == PNG
    assert fetched.final_url == f"{public_test.url}/cat.png"
    assert server.seen[0].headers["Host"] == f"public.test:{server.port}"
    assert public_test.lookups == ["public.test"]  # nothing asked DNS again before connecting


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://internal.test:{port}/x.png", "http://127.0.0.2:{port}/x.png"],
)
def test_redirect_from_a_public_host_to_an_inside_address_is_refused(server, public_test, target):
    server.routes["/go"] = redirect(target.format(port=server.port))
    with pytest.raises(FetchError, match=INSIDE):
        fetch_image(f"{public_test.url}/go")
    assert [request.path for request in server.seen] == ["/go"]


def test_redirect_to_a_non_standard_port_is_refused(server, public_test):
    server.routes["/go"] = redirect("http://public.test:8080/x.png")
    with pytest.raises(FetchError, match="standard web ports"):
        fetch_image(f"{public_test.url}/go")


def test_request_goes_to_the_ip_with_the_host_name_for_http_and_tls():
    with httpx.Client() as client:
        request = fetch.connection_request(client, "https://images.example.com/a/b.png?size=2", ip("93.184.216.34"))
        assert str(request.url) == "https://93.184.216.34/a/b.png?size=2"
        assert request.headers["Host"] == "images.example.com"
        assert request.extensions["sni_hostname"] == "images.example.com"  # certificate checked for the name
        request = fetch.connection_request(client, "http://images.example.com:8080/x", ip("2606:4700::1111"))
        assert str(request.url) == "http://[2606:4700::1111]:8080/x"
        assert request.headers["Host"] == "images.example.com:8080"
        assert "sni_hostname" not in request.extensions


# --- URL checks without the network -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "ws://example.com/socket",
    ],
)
def test_only_http_and_https_are_accepted(url, private_refused):
    with pytest.raises(FetchError, match="Only web addresses starting with http:// or https://"):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://user:pass@example.com/a.png", "https://user@example.com/a.png", "http://:pw@example.com/"],
)
def test_credentials_in_urls_are_refused(url, private_refused):
    with pytest.raises(FetchError, match="user name or password"):
        check_url(url)


@pytest.mark.parametrize("url", ["http://example.com:8080/a.png", "https://example.com:22/", "http://example.com:0/"])
def test_only_standard_ports_are_accepted(url, private_refused):
    with pytest.raises(FetchError, match=r"standard web ports \(80 and 443\)"):
        check_url(url)


def test_words_are_not_a_web_address(private_refused):
    with pytest.raises(FetchError, match="not a web address; it should start with https://"):
        check_url("not a url")
    with pytest.raises(FetchError, match="spaces or control characters"):
        check_url("https://example.com/a photo.png")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8555/a.png", "http://localhost:8000/", "http://10.0.0.1:8080/"])
def test_a_private_address_on_another_port_is_refused_for_being_private(url, private_refused):
    with pytest.raises(FetchError, match="private or internal network"):  # the reason that fixing the port leaves
        check_url(url)


def test_more_ports_can_be_allowed_in_settings(private_refused, settings):
    settings.FOXWEB_FETCH_ALLOWED_PORTS = [80, 443, 8443]
    assert check_url("https://example.com:8443/a.png") == "https://example.com:8443/a.png"


@pytest.mark.parametrize(
    "url",
    [
        "example.com/a.png",
        "http://",
        "https:///a.png",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://1.2.3.4.5/",
        "http://[::1/",
        "http://bad_host!.com/",
    ],
)
def test_malformed_urls_are_refused_with_a_message(url, private_refused):
    with pytest.raises(FetchError) as raised:
        check_url(url)
    assert raised.value.user_message


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("HTTPS://Images.Example.COM/Cat.PNG#top", "https://images.example.com/Cat.PNG"),
        ("http://example.com:80/a.png?x=1", "http://example.com/a.png?x=1"),
        ("https://example.com:443", "https://example.com/"),
        ("  https://example.com/a.png  ", "https://example.com/a.png"),
        ("https://bücher.example/a.png", "https://xn--bcher-kva.example/a.png"),
        ("http://[2606:4700:0::1111]/", "http://[2606:4700::1111]/"),
        ("http://0x5db8d822/", "http://93.184.216.34/"),
    ],
)
def test_check_url_returns_the_normalised_url(url, normalised, private_refused):
    assert check_url(url) == normalised


def test_check_url_does_not_touch_the_network(private_refused, monkeypatch):
    def no_dns(host, port):
        raise AssertionError("check_url must not resolve names")

    monkeypatch.setattr(fetch, "resolve_host", no_dns)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert check_url("https://example.com/a.png") == "https://example.com/a.png"


def test_fetch_errors_carry_a_plain_language_message():
    error = FetchError("The server took too long to answer.")
    assert error.user_message == str(error)
