"""Safe fetching of image URLs that staff paste: the only module that downloads user-given addresses.

Against server-side request forgery: http and https only, standard ports, no credentials in the
URL; every host name is resolved once and refused if ANY of its addresses is not a global unicast
address (IPv4-mapped, NAT64 and 6to4 IPv6 addresses are judged by the IPv4 address inside them);
the connection then goes to the checked address itself, so DNS cannot change in between. Redirects
are followed by hand and checked the same way. No cookies, no proxies from the environment.

Against slow or huge responses: the body is streamed with a byte cap (the upload limit) and the
whole fetch has one wall-clock deadline, not only per-read timeouts: every socket operation
(connect, TLS handshake, each read and write, headers included) waits at most until that deadline,
so a server that trickles its answer a line at a time is cut off there and the connection closed.
The fetch runs in the caller's thread, so nothing is left running after it returns; only a DNS
lookup, which the system resolver cannot be told to abandon, runs in a helper thread. Whether the
body is an image is decided by its first bytes, never by Content-Type.

``FOXWEB_ALLOW_PRIVATE_URLS`` (tests and local demos only; production refuses it) skips the address
checks; ``FOXWEB_FETCH_ALLOWED_PORTS`` is the port rule either way.
"""

from __future__ import annotations

import ipaddress
import logging
import posixpath
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpcore
import httpx
from django.conf import settings

from vision import images

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_URL_LENGTH = 2000
SNIFF_BYTES = 32  # enough for every signature in images.sniff_format
MAX_WORKERS = 8  # fetching waits on the network, so more threads than cores is fine
USER_AGENT = "FoxWeb image fetcher"
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# A host whose last label is a number is an IPv4 address in some spelling (WHATWG URL rules):
# 127.1, 0x7f.1, 017700000001, 2130706433.
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")

INSIDE = "This address points to a private or internal network, which FoxWeb does not fetch from."
NOT_IMAGE = "The page at this address is not an image."
TOO_SLOW = "The server took too long to answer."


class FetchError(Exception):
    """A URL FoxWeb will not or could not fetch; ``user_message`` says why in plain words."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class FetchedImage:
    """The bytes of an image fetched from a URL, and where they came from."""

    url: str
    final_url: str
    data: bytes
    content_type: str
    filename: str


def check_url(url: str) -> str:
    """Check a URL without touching the network; return it normalised or raise FetchError.

    Checks the scheme, credentials, host name, port and (for IP literals, in any spelling) the address.
    """
    return _check_url(url, _limits())


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address a host name resolves to (the one place that asks DNS; tests replace it)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def is_public_address(address: IPAddress) -> bool:
    """True for a global unicast address: not loopback, private, link-local, CGNAT, multicast, reserved..."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def fetch_image(url: str) -> FetchedImage:
    """Fetch one image URL safely within FOXWEB_FETCH_TIMEOUT seconds; raises FetchError.

    The deadline covers everything, headers included, and the connection is closed when it passes.
    """
    deadline = time.monotonic() + float(settings.FOXWEB_FETCH_TIMEOUT)
    try:
        return _fetch(url, deadline, _limits())
    except FetchError:
        raise
    except Exception as error:  # a bug must not become a server error on a form
        logger.exception("fetching %s failed", url)
        raise FetchError("FoxWeb could not fetch this address.") from error


def fetch_images(urls: list[str]) -> list[FetchedImage | FetchError]:
    """Fetch several URLs concurrently; results (or errors) in the same order."""
    if not urls:
        return []

    def one(url: str) -> FetchedImage | FetchError:
        try:
            return fetch_image(url)
        except FetchError as error:
            return error

    with ThreadPoolExecutor(max_workers=min(len(urls), MAX_WORKERS)) as pool:
        return list(pool.map(one, urls))


# --- internals --------------------------------------------------------------------------------

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
}


@dataclass(frozen=True)
class _Limits:
    """The settings one fetch runs under, read once when it starts."""

    allow_private: bool
    allowed_ports: tuple[int, ...]
    max_bytes: int
    max_redirects: int


def _limits() -> _Limits:
    return _Limits(
        allow_private=bool(settings.FOXWEB_ALLOW_PRIVATE_URLS),
        allowed_ports=tuple(settings.FOXWEB_FETCH_ALLOWED_PORTS),
        max_bytes=int(settings.FOXWEB_MAX_UPLOAD_BYTES),
        max_redirects=int(settings.FOXWEB_FETCH_MAX_REDIRECTS),
    )


def _check_url(url: str, limits: _Limits) -> str:
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise FetchError("This address is too long.")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        if "://" not in url:  # words, not an address with a stray space
            raise FetchError("This is not a web address; it should start with https://.")
        raise FetchError("This address contains spaces or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise FetchError("This is not a valid web address.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        if not scheme or (":" in url and not url.split(":", 1)[1].startswith("//") and "." in scheme):
            raise FetchError("This is not a complete web address; it should start with https://.")
        raise FetchError("Only web addresses starting with http:// or https:// can be fetched.")
    if not parts.netloc:
        raise FetchError("This is not a complete web address; it should start with https://.")
    if "@" in parts.netloc:
        raise FetchError("Addresses with a user name or password are not accepted.")
    host = _normalise_host(parts.hostname or "")
    try:
        port = DEFAULT_PORTS[scheme] if parts.port is None else parts.port
    except ValueError:
        raise FetchError("The port number in this address is not valid.") from None
    if not limits.allow_private:  # first: with the port fixed it would still be refused for this
        if host == "localhost" or host.endswith(".localhost"):
            raise FetchError(INSIDE)
        literal = _ip_literal(host)
        if literal is not None and not is_public_address(literal):
            raise FetchError(INSIDE)
    if port not in limits.allowed_ports:
        ports = " and ".join(str(number) for number in limits.allowed_ports)
        raise FetchError(f"FoxWeb only fetches from the standard web ports ({ports}).")
    netloc = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if not host:
        raise FetchError("This address has no server name.")
    if ":" in host:  # IPv6 literal; urlsplit has removed the brackets
        try:
            return str(ipaddress.IPv6Address(host.split("%")[0]))
        except ValueError:
            raise FetchError("This is not a valid web address.") from None
    literal = _ip_literal(host)
    if literal is not None:
        return str(literal)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise FetchError("The server name in this address is not valid.") from None
    if not HOST_NAME.fullmatch(ascii_host):
        raise FetchError("The server name in this address is not valid.")
    return ascii_host


def _ip_literal(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP literal in any spelling a resolver would accept, else None."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    if not NUMERIC_LABEL.match(host.rstrip(".").rsplit(".", 1)[-1]):
        return None
    try:
        # inet_aton reads the shorthand (127.1), hex (0x7f.1), octal (0177.0.0.1) and single-number
        # (2130706433) forms exactly as the system resolver and browsers do.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise FetchError("This is not a valid web address.") from None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def _fetch(url: str, deadline: float, limits: _Limits) -> FetchedImage:
    current = _check_url(url, limits)
    for _hop in range(limits.max_redirects + 1):
        result = _fetch_one(current, deadline, limits)
        if isinstance(result, bytes):
            return _fetched(url, current, result)
        current = _check_url(urljoin(current, result.location), limits)  # every hop is checked again
    raise FetchError(f"The address redirected more than {limits.max_redirects} times, so FoxWeb gave up.")


@dataclass(frozen=True)
class _Redirect:
    location: str


def _fetch_one(url: str, deadline: float, limits: _Limits) -> bytes | _Redirect:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = DEFAULT_PORTS[parts.scheme] if parts.port is None else parts.port
    addresses = _addresses_for(host, port, limits, deadline)
    for position, address in enumerate(addresses):
        try:
            return _request(url, address, deadline, limits)
        except httpx.ConnectError as error:
            if _is_certificate_error(error):
                raise FetchError("The server's security certificate could not be verified.") from None
            if position == len(addresses) - 1:
                logger.info("could not connect to %s: %r", url, error)
                raise FetchError("FoxWeb could not connect to the server.") from None
    raise AssertionError("unreachable: at least one address")


def _addresses_for(host: str, port: int, limits: _Limits, deadline: float) -> list[IPAddress]:
    """Addresses to connect to, all checked; FetchError if the host is unknown or any address is inside."""
    literal = _ip_literal(host)
    addresses = [literal] if literal is not None else _resolve_within(host, port, deadline)
    if not limits.allow_private and not all(is_public_address(address) for address in addresses):
        raise FetchError(INSIDE)
    return addresses


def _resolve_within(host: str, port: int, deadline: float) -> list[IPAddress]:
    """resolve_host within the deadline: the system resolver has no timeout of its own."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foxweb-dns")
    try:
        addresses = pool.submit(resolve_host, host, port).result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise FetchError(TOO_SLOW) from None
    except (OSError, UnicodeError) as error:
        logger.info("DNS lookup for %s failed: %r", host, error)
        raise FetchError(f"FoxWeb could not find the server {host}.") from None
    finally:
        pool.shutdown(wait=False)
    if not addresses:
        raise FetchError(f"FoxWeb could not find the server {host}.")
    return addresses


def connection_request(client: httpx.Client, url: str, address: IPAddress) -> httpx.Request:
    """A GET for ``url`` sent to the checked ``address``: the IP in the URL, the name in Host and SNI.

    Certificate checks still use the host name (httpx's ``sni_hostname`` extension), and nothing
    resolves the name again, so DNS cannot change the answer between the check and the connection.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    ip_host = f"[{address}]" if address.version == 6 else str(address)
    netloc = ip_host if parts.port is None else f"{ip_host}:{parts.port}"
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    extensions = {}
    if parts.scheme == "https" and _ip_literal(host) is None:
        extensions["sni_hostname"] = host
    headers = {
        "Host": parts.netloc,
        "User-Agent": USER_AGENT,
        "Accept": "image/*",
        "Accept-Encoding": "identity",  # images are compressed already; no gzip bombs
    }
    return client.build_request("GET", target, headers=headers, extensions=extensions)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait ends by the deadline: a server sending a byte a second makes
    each read succeed, so per-read timeouts alone would never fire."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float):
        self._stream = stream
        self._deadline = deadline

    def _timeout(self, timeout: float | None, error: type[Exception]) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise error("the fetch deadline has passed")
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._timeout(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._timeout(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._timeout(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """httpcore's sockets, with the fetch's deadline on connecting and on every later wait."""

    def __init__(self, deadline: float):
        self._deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore.ConnectTimeout("the fetch deadline has passed")
        timeout = remaining if timeout is None else min(timeout, remaining)
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)


def _transport(deadline: float) -> httpx.HTTPTransport:
    """httpx's transport over connections bounded by ``deadline``.

    httpx does not take a network backend, so its connection pool is replaced by an identical one
    that has it (httpx is pinned; tests/test_fetch.py fails if this stops working).
    """
    transport = httpx.HTTPTransport(verify=_tls_context(), trust_env=False)
    transport._pool = httpcore.ConnectionPool(ssl_context=_tls_context(), network_backend=_DeadlineBackend(deadline))
    return transport


def _request(url: str, address: IPAddress, deadline: float, limits: _Limits) -> bytes | _Redirect:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(TOO_SLOW)
    # A fresh client per hop: no cookies carried from one hop to the next, no proxies from the environment.
    with httpx.Client(
        transport=_transport(deadline), trust_env=False, follow_redirects=False, timeout=httpx.Timeout(remaining)
    ) as client:
        try:
            response = client.send(connection_request(client, url, address), stream=True)
            try:
                return _read(response, deadline, limits)
            finally:
                response.close()
        except httpx.TimeoutException:
            raise FetchError(TOO_SLOW) from None
        except httpx.ConnectError:
            raise
        except (httpx.HTTPError, httpx.StreamError) as error:
            logger.info("fetching %s failed: %r", url, error)
            raise FetchError("The server broke off the connection before the image arrived completely.") from None


@cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for all fetches: building one takes tens of milliseconds."""
    return ssl.create_default_context()


def _read(response: httpx.Response, deadline: float, limits: _Limits) -> bytes | _Redirect:
    if response.status_code in REDIRECT_STATUSES:
        location = response.headers.get("location", "").strip()
        if not location:
            raise FetchError("The server sent a redirect without saying where to.")
        return _Redirect(location)
    if response.status_code != 200:
        reason = f" ({response.reason_phrase})" if response.reason_phrase else ""
        raise FetchError(f"The server answered with error {response.status_code}{reason}.")
    too_large = f"The image at this address is larger than {images.describe_bytes(limits.max_bytes)}."
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(too_large)
    body = bytearray()
    sniffed = False
    for chunk in response.iter_bytes():  # each piece as it arrives, so the deadline is checked often
        body += chunk
        if len(body) > limits.max_bytes:
            raise FetchError(too_large)
        if not sniffed and len(body) >= SNIFF_BYTES:
            if images.sniff_format(bytes(body[:SNIFF_BYTES])) is None:
                raise FetchError(_not_an_image(body))  # an HTML page, say: stop at the first bytes
            sniffed = True
        if time.monotonic() > deadline:
            raise FetchError(TOO_SLOW)
    if images.sniff_format(bytes(body[:SNIFF_BYTES])) is None:
        raise FetchError(_not_an_image(body))
    return bytes(body)


def _not_an_image(body: bytearray) -> str:
    if b"<svg" in bytes(body[:4096]).lower():
        return "This address points to an SVG drawing. Export it as PNG and upload that instead."
    return NOT_IMAGE


def _fetched(url: str, final_url: str, data: bytes) -> FetchedImage:
    name = unquote(posixpath.basename(urlsplit(final_url).path))
    name = "".join(char for char in name if char.isprintable() and char not in "/\\")[:100].strip()
    return FetchedImage(
        url=url,
        final_url=final_url,
        data=data,
        content_type=CONTENT_TYPES[images.sniff_format(data) or "JPEG"],
        filename=name or "image",
    )


def _is_certificate_error(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
