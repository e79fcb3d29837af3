"""Run FoxWeb's worker: every FoxAPI call and pasted-URL fetch, and the sweeper that keeps tasks moving."""

from django.core.management.base import BaseCommand

from vision.worker import Runner


class Command(BaseCommand):
    help = "Run the FoxWeb worker (jobs and sweeper) until stopped with Ctrl+C or SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=None, help="job threads (default FOXWEB_WORKER_THREADS)")
        parser.add_argument("--burst", action="store_true", help="run the jobs that are due, then stop (for tests)")

    def handle(self, *args, threads, burst, **options):
        Runner(threads=threads, burst=burst).run()
