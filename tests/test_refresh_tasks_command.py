"""The refresh_tasks command finishes tasks nobody is watching, so no answer is left behind."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from tests.factories import make_task
from vision.models import Task

pytestmark = pytest.mark.django_db


def test_it_finishes_unwatched_tasks_and_notices_interrupted_ones(alice, settings):
    settings.FOXAPI_SANDBOX_DURATION = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        running = make_task(alice)
        stuck = make_task(alice, submit=False)
        Task.objects.filter(pk=stuck.pk).update(submitting_since=timezone.now() - timedelta(minutes=10))
        failing = make_task(alice, prompt="sandbox:fail")
        finished_earlier = make_task(alice, submit=False)
        Task.objects.filter(pk=finished_earlier.pk).update(status="completed", answer="Kept.")
        clock.shift(timedelta(seconds=31))
        out = StringIO()
        call_command("refresh_tasks", stdout=out)
    running.refresh_from_db()
    stuck.refresh_from_db()
    assert running.status == "completed"
    assert running.answer
    assert (stuck.status, stuck.error_code) == ("failed", "interrupted")
    assert Task.objects.get(pk=failing.pk).status == "failed"
    assert Task.objects.get(pk=finished_earlier.pk).answer == "Kept."
    assert "Checked 3 unfinished description(s); 3 finished now." in out.getvalue()
