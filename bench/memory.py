"""Peak memory of a FoxWeb server while 50 people upload a huge image at the same moment.

Usage: .venv/bin/python bench/memory.py [--uploads 50] [--megapixels 49] [--max-decodes N]

It builds a PNG of about 49 megapixels that compresses to under 200 kilobytes (under the
60-megapixel limit, so FoxWeb must decode it), starts gunicorn (one worker process, a thread per
upload) on a free port with a scratch database and media folder, logs in, and sends the uploads
to POST /uploads/ all at once from as many threads. Meanwhile it samples the worker's resident
memory (VmRSS) every 20 ms and reads its peak (VmHWM) from /proc at the end, so what is measured
is the server process itself. It prints the figures and each target as MET or MISS.
Linux only (it reads /proc). Nothing here runs in the test suite.

`--max-decodes 50` lifts the limit on images decoded at once, to see what it prevents.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
PEAK_TARGET_MB = 1024
BUSY = "FoxWeb is busy preparing other images"


def huge_png(megapixels: float) -> bytes:
    """A flat drawing of ``megapixels`` that PNG squeezes small: cheap to send, costly to decode."""
    side = int(math.sqrt(megapixels * 1_000_000))
    image = Image.new("RGB", (side, side), (230, 230, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((side // 7, side // 7, side * 4 // 7, side * 5 // 7), fill=(200, 60, 40))
    draw.ellipse((side * 3 // 7, side * 3 // 7, side * 13 // 14, side * 13 // 14), fill=(40, 90, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_status_mb(pid: int, field: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def start_server(scratch: Path, port: int, max_decodes: int | None, threads: int) -> tuple[subprocess.Popen, dict]:
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{scratch / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(scratch / "media"),
        "FOXAPI_SANDBOX_DB": str(scratch / "sandbox.sqlite3"),
        "LOG_LEVEL": "WARNING",
    }
    if max_decodes is not None:
        env["FOXWEB_MAX_DECODES"] = str(max_decodes)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    create_user = (
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('bench', password='bench-password-1')"
    )
    subprocess.run([*manage, "shell", "-c", create_user], env=env, check=True, cwd=ROOT)
    # One gunicorn worker process with a thread for each upload, so all of them are in the server at
    # once (runserver's listen queue of 10 drops connections when 50 arrive together).
    server = subprocess.Popen(
        [
            *[sys.executable, "-m", "gunicorn", "foxweb.wsgi:application"],
            *["--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread"],
            *["--threads", str(threads), "--backlog", "2048", "--timeout", "300"],
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "w"),  # noqa: SIM115
    )
    return server, env


def worker_pid(server: subprocess.Popen) -> int:
    """The gunicorn worker that serves the requests (the arbiter only watches it)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"Expected one gunicorn worker, found {children}.")
    return int(children[0])


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("The server stopped while starting.")
        try:
            httpx.get(f"{url}/login/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("The server did not start within 30 seconds.")


def log_in(url: str) -> httpx.Cookies:
    with httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        answer = client.post(
            "/login/", data={"username": "bench", "password": "bench-password-1", "csrfmiddlewaretoken": token}
        )
        if answer.status_code != 302:
            raise SystemExit(f"Logging in failed ({answer.status_code}).")
        return client.cookies


def upload_all(url: str, cookies: httpx.Cookies, data: bytes, count: int) -> list[tuple[int, str, float]]:
    """``count`` uploads released at the same instant; (status, body, seconds) for each."""
    start = threading.Barrier(count)
    results: list[tuple[int, str, float]] = [(0, "", 0.0)] * count

    def one(number: int) -> None:
        with httpx.Client(base_url=url, cookies=cookies, timeout=300) as client:
            headers = {"X-CSRFToken": cookies["csrftoken"], "HX-Request": "true"}
            start.wait()
            began = time.monotonic()
            try:
                answer = client.post(
                    "/uploads/", files={"file": (f"huge-{number}.png", data, "image/png")}, headers=headers
                )
                results[number] = (answer.status_code, answer.text, time.monotonic() - began)
            except httpx.HTTPError as error:
                results[number] = (0, repr(error), time.monotonic() - began)

    threads = [threading.Thread(target=one, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--megapixels", type=float, default=49)
    parser.add_argument("--max-decodes", type=int, default=None, help="FOXWEB_MAX_DECODES for the server")
    args = parser.parse_args()

    data = huge_png(args.megapixels)
    with Image.open(io.BytesIO(data)) as probe:
        width, height = probe.size
    print(f"Image: {width} × {height} PNG ({width * height / 1e6:.1f} MP), {len(data) / 1024:.0f} KB")

    with tempfile.TemporaryDirectory(prefix="foxweb-bench-memory-") as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server, _env = start_server(Path(folder), port, args.max_decodes, args.uploads)
        try:
            wait_until_up(url, server)
            cookies = log_in(url)
            pid = worker_pid(server)
            baseline = proc_status_mb(pid, "VmRSS")
            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(proc_status_mb(pid, "VmRSS"))
                    done.wait(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            began = time.monotonic()
            results = upload_all(url, cookies, data, args.uploads)
            elapsed = time.monotonic() - began
            done.set()
            sampler.join()
            peak = proc_status_mb(pid, "VmHWM")
            after = proc_status_mb(pid, "VmRSS")
        finally:
            server.terminate()
            server.wait(10)

    staged = sum(1 for status, _body, _ in results if status == 200)
    busy = sum(1 for status, body, _ in results if status == 422 and BUSY in body)
    other = len(results) - staged - busy
    slowest = max(seconds for _, _, seconds in results)
    decodes = args.max_decodes if args.max_decodes is not None else "default (from the cores)"
    print(f"Server: gunicorn, 1 worker, {args.uploads} threads, FOXWEB_MAX_DECODES={decodes}, {os.cpu_count()} cores")
    print(f"Uploads: {args.uploads} at once; {staged} staged, {busy} told FoxWeb is busy, {other} other answers")
    print(f"Time: {elapsed:.1f} s for all, slowest answer {slowest:.1f} s")
    print(
        f"Server memory: {baseline:.0f} MB before, peak {peak:.0f} MB (VmHWM), "
        f"highest sample {max(samples, default=0):.0f} MB, {after:.0f} MB after"
    )
    for status, body, _ in results:
        if not (status == 200 or (status == 422 and BUSY in body)):
            print(f"  unexpected answer {status}: {body[:200]!r}")
            break
    targets = [
        (f"peak server memory under {PEAK_TARGET_MB} MB", peak < PEAK_TARGET_MB),
        ("every upload staged or told FoxWeb is busy (no errors)", other == 0),
        ("at least one upload staged", staged > 0),
    ]
    for label, met in targets:
        print(f"  {'MET ' if met else 'MISS'}  {label}")


if __name__ == "__main__":
    main()
