"""`make run`: FoxWeb's web server and its worker together, for trying FoxWeb on one machine.

Ctrl+C stops both. In production run them separately (see the README): gunicorn for the web,
`manage.py worker` for the work.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has ended
        os.killpg(child.pid, signum)


class Command(BaseCommand):
    help = "Run the development web server and the worker together; Ctrl+C stops both."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        signal.signal(signal.SIGTERM, _interrupt)  # stopped by a supervisor: stop both children too
        host, _, port = addrport.rpartition(":")
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # Each child leads its own process group, so stopping one also stops what it started (runserver's
        # autoreloader runs the server in a process of its own).
        children = [
            subprocess.Popen([*manage, "worker"], start_new_session=True),
            subprocess.Popen([*manage, "runserver", "--skip-checks", addrport], start_new_session=True),
        ]
        try:
            if self._wait_until_listening(host, int(port), children):
                self._say_where_to_go(host, port)
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                _signal_group(child, signal.SIGTERM)  # not SIGINT: a background job ignores it
            for child in children:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=15)
                _signal_group(child, signal.SIGKILL)  # whatever of the group is left
            self.stdout.write("FoxWeb stopped.")

    def _wait_until_listening(self, host: str, port: int, children) -> bool:
        probe = "127.0.0.1" if host in ("", "0.0.0.0") else host.strip("[]")
        for _ in range(120):
            if any(child.poll() is not None for child in children):
                return False
            try:
                with socket.create_connection((probe, port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.25)
        return False

    def _say_where_to_go(self, host: str, port: str) -> None:
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        first = "" if get_user_model().objects.exists() else " The first visit creates the administrator account."
        elsewhere = " Colleagues can open it at this machine's address too." if host == "0.0.0.0" else ""
        self.stdout.write(
            self.style.SUCCESS(f"\nFoxWeb is running: open http://{shown}:{port}/ in your browser.{first}{elsewhere}")
            + " Press Ctrl+C to stop.\n"
        )
