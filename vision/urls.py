from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from vision.views import account, batches, describe, health, history, keys, setup, tasks, teams


class IdConverter:
    """A database id: digits that fit a 64-bit integer, so a huge number is a 404, not an error."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("", describe.describe, name="describe"),
    path("setup/", setup.setup, name="setup"),
    path("healthz", health.healthz, name="healthz"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Describing
    path("uploads/", describe.upload_create, name="upload_create"),
    path("uploads/<id:upload_id>/delete/", describe.upload_delete, name="upload_delete"),
    path("uploads/<id:upload_id>/thumbnail/", describe.upload_thumbnail, name="upload_thumbnail"),
    path("tasks/<id:task_id>/", tasks.task_detail, name="task_detail"),
    path("tasks/<id:task_id>/status/", tasks.task_status, name="task_status"),
    path("tasks/<id:task_id>/retry/", tasks.task_retry, name="task_retry"),
    path("tasks/<id:task_id>/stop/", tasks.task_stop, name="task_stop"),
    path("tasks/<id:task_id>/review/", tasks.task_review, name="task_review"),
    # Batches
    path("batches/<id:batch_id>/", batches.batch_detail, name="batch_detail"),
    path("batches/<id:batch_id>/changes/", batches.batch_changes, name="batch_changes"),
    path("batches/<id:batch_id>/confirm/", batches.batch_confirm, name="batch_confirm"),
    path("batches/<id:batch_id>/retry-failed/", batches.batch_retry_failed, name="batch_retry_failed"),
    path("batches/<id:batch_id>/stop/", batches.batch_stop, name="batch_stop"),
    path("batches/<id:batch_id>/delete/", batches.batch_delete, name="batch_delete"),
    path("batches/<id:batch_id>/share/", batches.batch_share, name="batch_share"),
    path("batches/<id:batch_id>/approve-passing/", batches.batch_approve_passing, name="batch_approve_passing"),
    path("batches/<id:batch_id>/export.<str:kind>", batches.batch_export, name="batch_export"),
    path("tasks/<id:task_id>/again/", describe.describe_again, name="describe_again"),
    path("tasks/<id:task_id>/share/", tasks.task_share, name="task_share"),
    path("tasks/<id:task_id>/public-link/", tasks.task_public_link, name="task_public_link"),
    path("images/<id:image_id>/", tasks.image_file, {"variant": "full"}, name="image_file"),
    path("images/<id:image_id>/thumbnail/", tasks.image_file, {"variant": "thumb"}, name="image_thumbnail"),
    # Public, read-only links
    path("shared/<str:token>/", tasks.shared_task, name="shared_task"),
    path(
        "shared/<str:token>/images/<id:image_id>/",
        tasks.shared_image,
        {"variant": "full"},
        name="shared_image",
    ),
    path(
        "shared/<str:token>/images/<id:image_id>/thumbnail/",
        tasks.shared_image,
        {"variant": "thumb"},
        name="shared_thumbnail",
    ),
    # History
    path("history/", history.history, name="history"),
    path("history/delete/", history.history_delete, name="history_delete"),
    path("history/export.<str:format>", history.history_export, name="history_export"),
    # Teams
    path("teams/", teams.team_list, name="team_list"),
    path("teams/<id:team_id>/", teams.team_detail, name="team_detail"),
    path("teams/<id:team_id>/invite/", teams.team_invite, name="team_invite"),
    path(
        "teams/<id:team_id>/invitations/<id:invitation_id>/cancel/",
        teams.team_invitation_cancel,
        name="team_invitation_cancel",
    ),
    path("teams/<id:team_id>/members/<id:member_id>/", teams.team_member, name="team_member"),
    path("teams/<id:team_id>/leave/", teams.team_leave, name="team_leave"),
    path("teams/<id:team_id>/delete/", teams.team_delete, name="team_delete"),
    path("invitations/<str:token>/", teams.invitation, name="invitation"),
    # Keys
    path("keys/", keys.keys, name="keys"),
    path("keys/<id:key_id>/rename/", keys.key_rename, name="key_rename"),
    path("keys/<id:key_id>/revoke/", keys.key_revoke, name="key_revoke"),
    path("keys/<id:key_id>/default/", keys.key_default, name="key_default"),
    # Account
    path("account/", account.account, name="account"),
    path("account/password/", account.change_password, name="change_password"),
    path("account/logout-everywhere/", account.logout_everywhere, name="logout_everywhere"),
]
