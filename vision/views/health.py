"""/healthz: for load balancers and supervisors. No login, no details beyond which part fails."""

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vision.models import WorkerHeartbeat


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database answers and a worker beat within the last minute, else 503."""
    parts = {"database": "ok", "worker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not WorkerHeartbeat.alive():
            parts["worker"] = "failing"
    except DatabaseError:
        parts = {"database": "failing", "worker": "unknown"}
    healthy = all(value == "ok" for value in parts.values())
    return JsonResponse({"status": "ok" if healthy else "failing", **parts}, status=200 if healthy else 503)
