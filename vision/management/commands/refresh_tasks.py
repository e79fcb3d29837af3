"""Bring every unfinished task up to date from FoxAPI, whether or not anyone is watching it.

Pages refresh the tasks they show; this command covers the rest (a closed tab, a restart), so
answers are copied into FoxWeb while FoxAPI still has them. Run it from cron or a timer, or
with --every to keep it going.
"""

import time

from django.core.management.base import BaseCommand

from vision.models import Task


class Command(BaseCommand):
    help = "Refresh every unfinished description from FoxAPI (once, or --every N seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="repeat every this many seconds")

    def handle(self, *args, every: float, **options):
        while True:
            checked = finished = 0
            for task in Task.objects.active().select_related("api_key", "owner").iterator():
                checked += 1
                task.refresh_if_due()
                finished += not task.is_active
            self.stdout.write(f"Checked {checked} unfinished description(s); {finished} finished now.")
            if not every:
                return
            time.sleep(every)
