"""`make run`'s devserver: web and worker as one command, and nothing left running when it is stopped."""

import signal
import socket
import time

import pytest

from tests.test_worker_process import manage, wait_for, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_a_supervisors_sigterm_stops_the_web_server_and_the_worker(alice):
    port = free_port()
    devserver = manage("devserver", f"127.0.0.1:{port}", env=worker_env())
    wait_for(lambda: listening(port), seconds=60, what="the web server to listen", process=devserver)
    devserver.send_signal(signal.SIGTERM)
    output, _ = devserver.communicate(timeout=30)
    assert "FoxWeb stopped." in output
    deadline = time.monotonic() + 5
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not listening(port), "runserver's own server process outlived the devserver"
