"""FoxWeb's data, one module per concern; every model is importable from `vision.models`."""

from vision.models.batches import Batch, BatchQuerySet
from vision.models.keys import KEY_ORGANISATION, KEY_SANDBOX, KEY_SOURCE_LABELS, ApiKey, ApiKeyQuerySet
from vision.models.profiles import Profile
from vision.models.tasks import ReviewEvent, ReviewState, Task, TaskImage, TaskQuerySet, plain_task_error
from vision.models.teams import INVITATION_LIFETIME, Invitation, Membership, Team
from vision.models.uploads import UPLOAD_LIFETIME, Upload
from vision.models.worker import KeyThrottle, WorkerHeartbeat

__all__ = [
    "INVITATION_LIFETIME",
    "KEY_ORGANISATION",
    "KEY_SANDBOX",
    "KEY_SOURCE_LABELS",
    "UPLOAD_LIFETIME",
    "ApiKey",
    "Batch",
    "BatchQuerySet",
    "ApiKeyQuerySet",
    "Invitation",
    "KeyThrottle",
    "Membership",
    "Profile",
    "ReviewEvent",
    "ReviewState",
    "Task",
    "TaskImage",
    "TaskQuerySet",
    "Team",
    "Upload",
    "WorkerHeartbeat",
    "plain_task_error",
]
