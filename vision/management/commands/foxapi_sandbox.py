"""Serve the FoxAPI sandbox on loopback, for browser and load tests: the same code as in-process."""

from __future__ import annotations

import ipaddress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from django.core.management.base import BaseCommand, CommandError

from vision import sandbox


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FoxAPI-Sandbox"

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def do_DELETE(self):
        self._answer()

    def _answer(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = sandbox.handle(self.command, url.path, dict(parse_qsl(url.query)), _Headers(self.headers), body)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if isinstance(reply.body, bytes):
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        # A stream: no length, the end of the connection ends the body.
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        try:
            for chunk in reply.body:
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format, *args):  # keep test output quiet; keys are never in the path anyway
        if self.server.verbose:
            super().log_message(format, *args)


class _Headers:
    """Case-insensitive header access, like httpx.Headers."""

    def __init__(self, message):
        self.message = message

    def get(self, name, default=None):
        return self.message.get(name, default)


def make_server(host: str = "127.0.0.1", port: int = 8765, verbose: bool = False) -> ThreadingHTTPServer:
    if not ipaddress.ip_address(host).is_loopback:
        raise CommandError("The sandbox only listens on loopback addresses.")
    server = ThreadingHTTPServer((host, port), SandboxRequestHandler)
    server.daemon_threads = True
    server.verbose = verbose
    return server


class Command(BaseCommand):
    help = "Run the FoxAPI-compatible sandbox as a standalone server on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, host, port, quiet, **options):
        server = make_server(host, port, verbose=not quiet)
        self.stdout.write(f"FoxAPI sandbox (a test double, answers are simulated) on http://{host}:{port}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
