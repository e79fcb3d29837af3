"""Batch benchmark: a ZIP of photos through FoxWeb, from the upload until every row is finished.

    .venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python bench/batch.py [--sizes 100,500] [--latency 3] [--in-flight 8] [--database sqlite]

For each size it builds a ZIP of that many photos (phone JPEGs, a few HEIC and PNG) and prepares
them in a process pool on every core (the reference for the ideal time), then starts the standalone
FoxAPI sandbox (every task takes --latency seconds), FoxWeb's worker and gunicorn on a scratch
database and media folder, logs in, uploads the ZIP on the describe page (one description each),
confirms the draft batch and watches the database until every row is finished. Meanwhile it reads
the peak memory of the web and worker processes, the worker's CPU time while it prepares the
images, and the queries and rows of the batch page and its poll. Afterwards it times the pool again
(the faster time counts). It prints the figures of all sizes side by side and each target as MET or
MISS. Linux only (it reads /proc). Nothing here runs in the test suite; bench/README.md says what
is measured and holds the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "bench" / "images"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foxweb.settings")

# Every 20 images of a batch: 16 phone JPEGs (12 MP, and one of 24 MP), one HEIC, one PNG with
# transparency, one small JPEG. About 3.5 MB an image, as phones write them: 500 make a 1.8 GB ZIP.
MIX = (
    *("phone12.jpg",) * 15,
    "phone.jpg",
    "phone12.heic",
    "alpha.png",
    "small.jpg",
    "phone12.jpg",
)
MODEL = "claude-opus-4-7"
PRESET = "product"
USER, PASSWORD = "bench", "bench-password-1"
RATIO_TARGET = 1.3
PEAK_TARGET_MB = 300
# While preparing, the worker's threads want at least this share of the cores (are running, or ready to
# run and waiting for a core): what keeps both cores busy on an idle machine, whatever else runs here.
CPU_TARGET = 0.8
QUERY_TARGET = 10
ROWS_PER_PAGE = 50


# --- photos and ZIPs ------------------------------------------------------------------------------


def ensure_photos() -> None:
    """bench/intake.py's photographs, plus a 12-megapixel phone JPEG and HEIC made from phone.jpg."""
    from bench import intake as intake_bench

    intake_bench.ensure_images()
    jpeg, heic = IMAGES / "phone12.jpg", IMAGES / "phone12.heic"
    if jpeg.is_file() and heic.is_file() and jpeg.stat().st_size and heic.stat().st_size:
        return
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    print("Making 12-megapixel phone photos (JPEG and HEIC; the HEIC takes a minute) ...", flush=True)
    with Image.open(IMAGES / "phone.jpg") as image:
        # Stored sideways with the orientation and GPS in EXIF, as phone.jpg is.
        exif = image.info["exif"]
        small = image.resize((4032, 3024) if image.width > image.height else (3024, 4032), Image.Resampling.LANCZOS)
    small.save(jpeg, "JPEG", quality=85, exif=exif)
    small.save(heic, "HEIF", quality=60, exif=exif)


def member_names(count: int) -> list[tuple[str, str]]:
    """(name inside the ZIP, photo) for each image of a batch of `count`."""
    members = []
    for number in range(count):
        photo = MIX[number % len(MIX)]
        members.append((f"photos/IMG_{number + 1:04}{Path(photo).suffix}", photo))
    return members


def build_zip(path: Path, count: int) -> None:
    """Deflated, as the usual ZIP tools write it (photographs barely shrink)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, photo in member_names(count):
            archive.write(IMAGES / photo, name)


# --- the reference: the same images prepared in a process pool ---------------------------------


def _pool_setup() -> None:
    import django

    django.setup()


def _prepare_member(zip_path: str, name: str, pipeline: str = "foxweb") -> tuple[float, str]:
    """CPU seconds to prepare one ZIP member at the model's size (FoxWeb's pipeline or the naive one)."""
    from vision import catalog, images

    with zipfile.ZipFile(zip_path) as archive:
        data = archive.read(name)
    policy = catalog.size_policy(MODEL)
    start = time.process_time()
    if pipeline == "naive":
        from django.conf import settings

        from bench import intake as intake_bench

        _, stored = intake_bench.displayed_size(data)
        intake_bench.naive(data, images.target_size(stored, policy), settings.FOXWEB_JPEG_QUALITY)
    else:
        images.prepare_image(data, policy)
    return time.process_time() - start, Path(name).suffix


REFERENCE_SAMPLE = 5 * len(MIX)  # images prepared for the reference (the mix repeats, so more adds nothing)


@dataclass
class Reference:
    """The pool's time for a batch's images, scaled from a sample of whole mixes; the faster of two measurements."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    heic_foxweb: float = 0.0
    heic_naive: float = 0.0

    @property
    def wall(self) -> float:
        return min(self.walls)

    @property
    def cpu(self) -> float:
        return self.cpus[self.walls.index(self.wall)]


def reference_preparation(zip_path: Path, count: int, cores: int, reference: Reference | None = None) -> Reference:
    """Prepare the ZIP's images in a pool of one process per core: the best the machine can do now.

    A sample of whole mixes is prepared (all of a smaller batch) and the time scaled to `count`.
    Measured before the run and again after it, as other work on a shared machine comes and goes;
    the faster measurement counts, so a busy moment never flatters the ideal.
    """
    first = reference is None
    reference = reference or Reference()
    names = [name for name, _ in member_names(count)][:REFERENCE_SAMPLE]
    with ProcessPoolExecutor(max_workers=cores, mp_context=get_context("spawn"), initializer=_pool_setup) as pool:
        list(pool.map(_prepare_member, [str(zip_path)] * cores, [names[0]] * cores))  # warm up every process
        start = time.perf_counter()
        results = list(pool.map(_prepare_member, [str(zip_path)] * len(names), names))
        wall = time.perf_counter() - start
        reference.walls.append(wall * count / len(names))
        reference.cpus.append(sum(cpu for cpu, _ in results) * count / len(names))
        if first:
            heic = next(name for name in names if name.endswith(".heic"))
            runs = 3
            for pipeline in ("foxweb", "naive"):
                zips, heics, pipelines = [str(zip_path)] * runs, [heic] * runs, [pipeline] * runs
                times = [cpu for cpu, _ in pool.map(_prepare_member, zips, heics, pipelines)]
                setattr(reference, f"heic_{pipeline}", statistics.median(times))
    return reference


# --- scratch database and processes -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scratch_environment(scratch: Path, database: str, sandbox_port: int, args) -> dict[str, str]:
    """Production-like settings (DEBUG off) on a scratch database and media folder."""
    from cryptography.fernet import Fernet

    url = f"sqlite:///{scratch / 'bench.sqlite3'}" if database == "sqlite" else database
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FOXWEB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "FOXWEB_TRUSTED_PROXIES": "0",
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(scratch / "media"),
        "FOXAPI_BASE_URL": f"http://127.0.0.1:{sandbox_port}",
        "FOXAPI_SANDBOX_DB": str(scratch / "sandbox.sqlite3"),
        "FOXAPI_SANDBOX_DURATION": str(args.latency),
        "FOXWEB_MAX_IN_FLIGHT_PER_KEY": str(args.in_flight),
        "LOG_LEVEL": "WARNING",
    }
    if args.threads:
        env["FOXWEB_WORKER_THREADS"] = str(args.threads)
    return env


def recreate_database(env: dict[str, str]) -> None:
    """An empty scratch database: the SQLite file removed, or the PostgreSQL database dropped and made again."""
    from django.db import connections

    connections.close_all()
    url = env["DATABASE_URL"]
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        drop_database(url, create=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    create_user = (
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({USER!r}, password={PASSWORD!r})"
    )
    subprocess.run([*manage, "shell", "-v", "0", "-c", create_user], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)


def drop_database(url: str, *, create: bool = False) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


class Processes:
    """The processes a run starts, each in its own session, all stopped on the way out."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.scratch / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.started:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.started.clear()


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The {what} stopped while starting.")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise SystemExit(f"The {what} did not start within {timeout:.0f} seconds.")


# --- /proc ------------------------------------------------------------------------------------


def status_mb(pid: int, field_name: str) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RunnableSampler(threading.Thread):
    """How many of a process's threads want a core, on average: those running or waiting in the run queue
    (state R). A thread waiting for a lock, the GIL, the network or the disk does not count. Unlike the
    CPU time a process gets, this does not depend on what else the machine is running."""

    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        tasks = Path(f"/proc/{self.pid}/task")
        while not self.done.wait(self.every):
            runnable = 0
            try:
                for task in tasks.iterdir():
                    with contextlib.suppress(OSError):
                        runnable += (task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
            except OSError:  # the process has ended
                return
            self.samples.append(runnable)

    def stop(self) -> float:
        self.done.set()
        self.join()
        return statistics.fmean(self.samples) if self.samples else 0.0


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


# --- one run ----------------------------------------------------------------------------------


@dataclass
class Run:
    count: int
    zip_mb: float = 0.0
    reference: Reference | None = None
    ideal: float = 0.0
    upload: float = 0.0  # upload and draft batch created
    prepared: float = 0.0  # from confirming until every image is prepared
    done: float = 0.0  # from confirming until every row is finished
    total: float = 0.0  # from the start of the upload until every row is finished
    completed: int = 0
    failed: int = 0
    worker_cpu: float = 0.0  # share of all cores the worker got while preparing
    worker_demand: float = 0.0  # its threads wanting a core while preparing, on average, per core
    web_peak: float = 0.0
    worker_peak: float = 0.0
    web_rest: float = 0.0  # resident memory before the upload
    worker_rest: float = 0.0
    worker_after: float = 0.0  # resident memory once every row is finished
    web_peaks: list[float] = field(default_factory=list)
    page_queries: list[int] = field(default_factory=list)
    poll_queries: list[int] = field(default_factory=list)
    polls: list[tuple[int, int, int, bool]] = field(default_factory=list)  # carried, changed, on page, exact
    load: tuple[float, float] = (0.0, 0.0)
    noticed: float = 0.0  # mean time from a send to the worker noticing the answer
    slots_busy: float = 0.0  # share of the in-flight slots holding a task, from confirming to the last answer


def run_size(count: int, args, scratch: Path, env: dict[str, str], cores: int) -> Run:
    run = Run(count)
    zip_path = scratch / f"batch-{count}.zip"
    print(f"\n== {count} images ==", flush=True)
    print("Building the ZIP ...", flush=True)
    build_zip(zip_path, count)
    run.zip_mb = zip_path.stat().st_size / 1e6
    print(f"ZIP: {run.zip_mb:.0f} MB. Preparing its images in a pool of {cores} processes (the reference) ...")
    run.reference = reference_preparation(zip_path, count, cores)
    print(f"Reference: {run.reference.walls[0]:.1f} s on {cores} cores ({run.reference.cpus[0]:.1f} s CPU)")
    media = Path(env["MEDIA_ROOT"])
    shutil.rmtree(media, ignore_errors=True)
    Path(env["FOXAPI_SANDBOX_DB"]).unlink(missing_ok=True)
    recreate_database(env)
    processes = Processes(scratch)
    try:
        sandbox_port = int(env["FOXAPI_BASE_URL"].rsplit(":", 1)[1])
        python = sys.executable
        sandbox = processes.start(
            "sandbox", [python, "manage.py", "foxapi_sandbox", "--port", str(sandbox_port), "--quiet"], env
        )
        wait_for_port(sandbox_port, sandbox, "sandbox")
        worker = processes.start("worker", [python, "manage.py", "worker"], env)
        web_port = free_port()
        web = processes.start(
            "web",
            [
                *[python, "-m", "gunicorn", "foxweb.wsgi:application", "--bind", f"127.0.0.1:{web_port}"],
                *["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--timeout", "600"],
                "--no-control-socket",  # gunicorn's default socket is one path for every gunicorn of this user
            ],
            env,
        )
        wait_for_port(web_port, web, "web server")
        watch(run, args, env, f"http://127.0.0.1:{web_port}", zip_path, worker, web, cores)
        processes.stop_all()
        print("Preparing the reference again ...", flush=True)
        reference_preparation(zip_path, count, cores, run.reference)
        print(f"Reference: {run.reference.walls[1]:.1f} s on {cores} cores ({run.reference.cpus[1]:.1f} s CPU)")
        run.ideal = ideal(run, args)
    except (Exception, SystemExit):
        for name in ("sandbox", "worker", "web"):
            log = scratch / f"{name}.log"
            if log.is_file() and log.stat().st_size:
                print(f"--- the end of the {name}'s log:\n" + "\n".join(log.read_text().splitlines()[-20:]))
        raise
    finally:
        processes.stop_all()
        zip_path.unlink(missing_ok=True)
    return run


def ideal(run: Run, args) -> float:
    """Rounds of the in-flight limit, each as long as a task takes, and the preparation in the pool."""
    return math.ceil(run.count / args.in_flight) * args.latency + run.reference.wall


def watch(run: Run, args, env, url: str, zip_path: Path, worker, web, cores: int) -> None:
    import httpx
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from vision.models import Batch, Task, TaskImage

    with httpx.Client(base_url=url, timeout=900, follow_redirects=False) as client:
        token = csrf_token(client.get("/login/").text)
        answer = client.post("/login/", data={"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token})
        if answer.status_code != 302:
            raise SystemExit(f"Logging in failed ({answer.status_code}).")
        token = csrf_token(client.get("/").text)
        wait_for_heartbeat(worker)
        run.worker_rest = status_mb(worker.pid, "VmRSS")
        run.web_rest = max((status_mb(pid, "VmRSS") for pid in children(web.pid)), default=0.0)
        run.load = (os.getloadavg()[0], 0.0)
        from vision.forms import PRESETS

        form = {
            "csrfmiddlewaretoken": token,
            "describe": "1",
            "mode": "each",
            "preset": PRESET,
            "prompt": PRESETS[PRESET][1],
            "model": MODEL,
            "max_tokens": "1024",
            "key": "sandbox",
        }
        print("Uploading the ZIP ...", flush=True)
        began = time.monotonic()
        with open(zip_path, "rb") as handle:
            answer = client.post("/", data=form, files={"zip_file": (zip_path.name, handle, "application/zip")})
        run.upload = time.monotonic() - began
        location = answer.headers.get("Location", "")
        match = re.search(r"/batches/(\d+)/", location)
        if answer.status_code != 302 or not match:
            errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', answer.text, re.DOTALL)
            raise SystemExit(f"The upload was not accepted ({answer.status_code}): {errors or answer.text[:500]}")
        batch_id = int(match.group(1))
        batch = Batch.objects.get(pk=batch_id)
        total = batch.tasks.count()
        print(f"Draft batch {batch_id} of {total} images made in {run.upload:.1f} s; confirming ...", flush=True)
        answer = client.post(f"/batches/{batch_id}/confirm/", data={"csrfmiddlewaretoken": token})
        if answer.status_code != 302:
            raise SystemExit(f"Confirming failed ({answer.status_code}).")
    confirmed = time.monotonic()
    cpu_at_confirm = cpu_seconds(worker.pid)
    demand = RunnableSampler(worker.pid)
    demand.start()

    from django.contrib.auth import get_user_model
    from django.test import Client

    browser = Client()
    browser.force_login(get_user_model().objects.get(username=USER))
    images_of_batch = TaskImage.objects.filter(task__batch_id=batch_id)
    limit = ideal(run, args) * 3 + 300
    poll_check = PollCheck(run, browser, batch)
    last_print = 0.0
    while True:
        now = time.monotonic()
        if worker.poll() is not None or web.poll() is not None:
            raise SystemExit("The worker or the web server stopped during the run.")
        counts = batch.counts()
        if not run.prepared:
            prepared = images_of_batch.exclude(file="").count()
            failed_early = batch.tasks.filter(status=Task.Status.FAILED, submitted__isnull=True).count()
            if prepared + failed_early >= total:
                run.prepared = now - confirmed
                run.worker_cpu = (cpu_seconds(worker.pid) - cpu_at_confirm) / run.prepared / cores
                run.worker_demand = demand.stop() / cores
        if counts["finished"] >= total:
            run.done = now - confirmed
            run.total = run.upload + run.done
            break
        if now - confirmed > limit:
            raise SystemExit(f"Not finished after {limit:.0f} s: {counts}")
        if counts["finished"]:
            poll_check.step(now, args.poll_check_every)
        if now - last_print > 15:
            last_print = now
            print(
                f"  {now - confirmed:5.0f} s: {counts['done']} done, {counts['running']} running, "
                f"{counts['waiting']} waiting, {counts['failed']} failed",
                flush=True,
            )
        time.sleep(0.25)
    counts = batch.counts()
    run.completed, run.failed = counts["done"], counts["failed"] + counts["stopped"]
    for page in (1, math.ceil(total / ROWS_PER_PAGE)):  # finished: the page as people come back to it
        with CaptureQueriesContext(connection) as queries:
            browser.get(f"/batches/{batch_id}/?page={page}")
        run.page_queries.append(len(queries))
    sent = list(batch.tasks.exclude(submitted=None).values_list("submitted", "finished"))
    if sent:
        held = sum((finished - submitted).total_seconds() for submitted, finished in sent)
        span = (max(finished for _, finished in sent) - Batch.objects.get(pk=batch_id).confirmed).total_seconds()
        run.noticed = held / len(sent)
        run.slots_busy = held / (args.in_flight * span)
    run.web_peaks = [status_mb(pid, "VmHWM") for pid in children(web.pid)]
    run.web_peak = max(run.web_peaks, default=0.0)
    run.worker_peak = status_mb(worker.pid, "VmHWM")
    run.worker_after = status_mb(worker.pid, "VmRSS")
    run.load = (run.load[0], os.getloadavg()[0])
    print(
        f"All {total} rows finished {run.done:.1f} s after confirming ({run.completed} done, {run.failed} failed).",
        flush=True,
    )


def wait_for_heartbeat(worker: subprocess.Popen, timeout: float = 60) -> None:
    """Until the worker has started its threads and beaten once (so its memory at rest is read then)."""
    from vision.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    while not WorkerHeartbeat.objects.exists():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("The worker did not start.")
        time.sleep(0.2)
    time.sleep(1)


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


class PollCheck:
    """Now and then, open the page where rows are moving and, two seconds later (the page's interval),
    poll it as the browser would: count the queries of both, and check that the poll carries exactly
    the rows that changed since the page was read. In steps, so the watch loop never waits for it."""

    def __init__(self, run: Run, browser, batch):
        self.run, self.browser, self.batch = run, browser, batch
        self.page = 0
        self.seen: dict[int, int] = {}
        self.read_at = 0.0
        self.last = 0.0

    def step(self, now: float, every: float) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from vision.models import Task

        if not self.seen and now - self.last >= every:
            ids = list(self.batch.tasks.order_by("id").values_list("id", flat=True))
            active = self.batch.tasks.filter(status__in=Task.ACTIVE_STATUSES).order_by("id")
            moving = active.values_list("id", flat=True).first()
            self.page = ids.index(moving) // ROWS_PER_PAGE + 1 if moving else 1
            with CaptureQueriesContext(connection) as queries:
                answer = self.browser.get(f"/batches/{self.batch.pk}/?page={self.page}")
            self.run.page_queries.append(len(queries))
            found = re.findall(r'name="seen" value="(\d+):(\d+)"', answer.content.decode())
            self.seen = {int(task): int(revision) for task, revision in found}
            self.read_at = self.last = now
        elif self.seen and now - self.read_at >= 2:
            before = dict(Task.objects.filter(pk__in=self.seen).values_list("id", "revision"))
            with CaptureQueriesContext(connection) as queries:
                answer = self.browser.get(
                    f"/batches/{self.batch.pk}/changes/",
                    {"page": self.page, "seen": [f"{task}:{revision}" for task, revision in self.seen.items()]},
                    headers={"HX-Request": "true"},
                )
            after = dict(Task.objects.filter(pk__in=self.seen).values_list("id", "revision"))
            self.run.poll_queries.append(len(queries))
            carried = {int(task) for task in re.findall(r'id="row-(\d+)"', answer.content.decode())}
            changed_before = {task for task, revision in self.seen.items() if before[task] != revision}
            changed_after = {task for task, revision in self.seen.items() if after[task] != revision}
            exact = changed_before <= carried <= changed_after
            self.run.polls.append((len(carried), len(changed_after), len(self.seen), exact))
            self.seen = {}


# --- report -----------------------------------------------------------------------------------


def pool_share(run: Run, cores: int) -> float:
    """The share of all cores the reference pool kept busy: all of them on an idle machine."""
    return run.reference.cpu / run.reference.wall / cores


def report(runs: list[Run], args, cores: int) -> None:
    def row(label: str, values: list[str]) -> None:
        print(f"{label:<46}" + "".join(f"{value:>14}" for value in values))

    print(
        f"\nFoxWeb batch benchmark: sandbox latency {args.latency:g} s, {args.in_flight} in flight per key, "
        f"{cores} cores, database {args.database_label}"
    )
    row("images", [str(run.count) for run in runs])
    row("ZIP size (MB)", [f"{run.zip_mb:.0f}" for run in runs])
    row(
        "preparation in a pool on all cores, before/after (s)",
        [f"{run.reference.walls[0]:.0f}/{run.reference.walls[1]:.0f}" for run in runs],
    )
    row("  CPU time of the faster (s)", [f"{run.reference.cpu:.1f}" for run in runs])
    row("ideal: rounds x latency + preparation (s)", [f"{run.ideal:.1f}" for run in runs])
    row("upload and draft batch (s)", [f"{run.upload:.1f}" for run in runs])
    row("confirm to every image prepared (s)", [f"{run.prepared:.1f}" for run in runs])
    row("confirm to every row finished (s)", [f"{run.done:.1f}" for run in runs])
    row("upload to every row finished (s)", [f"{run.total:.1f}" for run in runs])
    row("  / ideal", [f"{run.total / run.ideal:.2f}x" for run in runs])
    row("  a send to its answer noticed, mean (s)", [f"{run.noticed:.2f}" for run in runs])
    row("  in-flight slots holding a task", [f"{run.slots_busy:.0%}" for run in runs])
    row("rows done / failed", [f"{run.completed} / {run.failed}" for run in runs])
    row("worker threads wanting a core while preparing", [f"{run.worker_demand * cores:.1f}" for run in runs])
    row("worker CPU while preparing (of all cores)", [f"{run.worker_cpu:.0%}" for run in runs])
    row("  the reference pool's", [f"{pool_share(run, cores):.0%}" for run in runs])
    row("web memory at rest / peak (MB)", [f"{run.web_rest:.0f} / {run.web_peak:.0f}" for run in runs])
    row(
        "worker memory at rest / peak / after (MB)",
        [f"{run.worker_rest:.0f}/{run.worker_peak:.0f}/{run.worker_after:.0f}" for run in runs],
    )
    row("batch page queries (most)", [str(max(run.page_queries, default=0)) for run in runs])
    row("poll queries (most)", [str(max(run.poll_queries, default=0)) for run in runs])
    row(
        "polls: rows carried / changed / on page",
        [
            f"{sum(p[0] for p in run.polls)}/{sum(p[1] for p in run.polls)}/{sum(p[2] for p in run.polls)}"
            for run in runs
        ],
    )
    row(
        "heic CPU, FoxWeb / naive (ms)",
        [f"{run.reference.heic_foxweb * 1000:.0f}/{run.reference.heic_naive * 1000:.0f}" for run in runs],
    )
    row("load average at start / end", [f"{run.load[0]:.1f}/{run.load[1]:.1f}" for run in runs])

    lines = []
    for run in runs:
        ratio = run.total / run.ideal
        lines += [
            (
                f"{run.count} images: upload to all finished {run.total:.0f} s = {ratio:.2f}x the ideal "
                f"{run.ideal:.0f} s (target <= {RATIO_TARGET}x)",
                ratio <= RATIO_TARGET,
            ),
            (f"{run.count} images: every row done ({run.completed} of {run.count})", run.completed == run.count),
            (
                f"{run.count} images: peak memory web {run.web_peak:.0f} MB, worker {run.worker_peak:.0f} MB "
                f"(target < {PEAK_TARGET_MB} MB each)",
                run.web_peak < PEAK_TARGET_MB and run.worker_peak < PEAK_TARGET_MB,
            ),
            (
                f"{run.count} images: while preparing, {run.worker_demand * cores:.1f} of the worker's threads "
                f"wanted a core on average (target >= {CPU_TARGET * cores:.1f} of {cores}); it got "
                f"{run.worker_cpu:.0%} of the cores, a pool of {cores} processes {pool_share(run, cores):.0%}",
                run.worker_demand >= CPU_TARGET,
            ),
            (
                f"{run.count} images: HEIC {run.reference.heic_foxweb * 1000:.0f} ms CPU, naive "
                f"{run.reference.heic_naive * 1000:.0f} ms (target: no slower)",
                run.reference.heic_foxweb <= run.reference.heic_naive,
            ),
            (
                f"{run.count} images: batch page in at most {max(run.page_queries, default=0)} queries "
                f"(target <= {QUERY_TARGET})",
                bool(run.page_queries) and max(run.page_queries) <= QUERY_TARGET,
            ),
            (
                f"{run.count} images: {len(run.polls)} polls carried only the rows that changed "
                f"({sum(p[0] for p in run.polls)} rows of {sum(p[2] for p in run.polls)} shown)",
                bool(run.polls) and all(p[3] for p in run.polls),
            ),
        ]
    print("\nTargets")
    for text, met in lines:
        print(f"  [{'MET ' if met else 'MISS'}] {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500", help="batch sizes, comma-separated (default 100,500)")
    parser.add_argument("--latency", type=float, default=3.0, help="seconds each sandbox task takes")
    parser.add_argument("--in-flight", type=int, default=8, help="FOXWEB_MAX_IN_FLIGHT_PER_KEY")
    parser.add_argument("--threads", type=int, default=0, help="FOXWEB_WORKER_THREADS (default: FoxWeb's)")
    parser.add_argument(
        "--database",
        default="postgres://postgres@127.0.0.1:5432/foxweb_bench_batch",
        help="a scratch PostgreSQL database URL (dropped and made again), or 'sqlite' for a scratch file",
    )
    parser.add_argument("--poll-check-every", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    args.database_label = "SQLite" if args.database == "sqlite" else f"PostgreSQL ({args.database.rsplit('/', 1)[1]})"
    cores = len(os.sched_getaffinity(0))

    def interrupted(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also when started in the background, where SIGINT is ignored
    ensure_photos()
    runs = []
    with tempfile.TemporaryDirectory(prefix="foxweb-bench-batch-") as folder:
        scratch = Path(folder)
        env = scratch_environment(scratch, args.database, free_port(), args)
        os.environ.update(env)  # this process reads the scratch database too, and its pool children inherit it
        import django

        django.setup()
        try:
            for size in sizes:
                runs.append(run_size(size, args, scratch, env, cores))
        except KeyboardInterrupt:
            print("\nStopped.")
            return
        finally:
            from django.db import connections

            connections.close_all()
            if args.database != "sqlite":
                with contextlib.suppress(Exception):
                    drop_database(env["DATABASE_URL"])
    report(runs, args, cores)


if __name__ == "__main__":
    main()
