"""`make run` listens where HOST says, only on this computer unless told otherwise."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned_run(*variables: str) -> str:
    """The commands `make run` would run, without running them."""
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "run", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_run_listens_on_loopback_by_default():
    assert "manage.py devserver 127.0.0.1:8000" in planned_run()


def test_host_and_port_choose_where_run_listens():
    assert "manage.py devserver 0.0.0.0:8123" in planned_run("HOST=0.0.0.0", "PORT=8123")
