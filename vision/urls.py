from django.contrib.auth import views as auth_views
from django.urls import path

from vision.views import account, describe, history, keys, setup, tasks, teams

urlpatterns = [
    path("", describe.describe, name="describe"),
    path("setup/", setup.setup, name="setup"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Describing
    path("uploads/", describe.upload_create, name="upload_create"),
    path("uploads/<int:upload_id>/delete/", describe.upload_delete, name="upload_delete"),
    path("uploads/<int:upload_id>/thumbnail/", describe.upload_thumbnail, name="upload_thumbnail"),
    path("tasks/<int:task_id>/", tasks.task_detail, name="task_detail"),
    path("tasks/<int:task_id>/status/", tasks.task_status, name="task_status"),
    path("tasks/<int:task_id>/retry/", tasks.task_retry, name="task_retry"),
    path("tasks/<int:task_id>/share/", tasks.task_share, name="task_share"),
    path("tasks/<int:task_id>/public-link/", tasks.task_public_link, name="task_public_link"),
    path("images/<int:image_id>/", tasks.image_file, {"variant": "full"}, name="image_file"),
    path("images/<int:image_id>/thumbnail/", tasks.image_file, {"variant": "thumb"}, name="image_thumbnail"),
    # Public, read-only links
    path("shared/<str:token>/", tasks.shared_task, name="shared_task"),
    path(
        "shared/<str:token>/images/<int:image_id>/",
        tasks.shared_image,
        {"variant": "full"},
        name="shared_image",
    ),
    path(
        "shared/<str:token>/images/<int:image_id>/thumbnail/",
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
    path("teams/<int:team_id>/", teams.team_detail, name="team_detail"),
    path("teams/<int:team_id>/invite/", teams.team_invite, name="team_invite"),
    path(
        "teams/<int:team_id>/invitations/<int:invitation_id>/cancel/",
        teams.team_invitation_cancel,
        name="team_invitation_cancel",
    ),
    path("teams/<int:team_id>/members/<int:member_id>/", teams.team_member, name="team_member"),
    path("teams/<int:team_id>/leave/", teams.team_leave, name="team_leave"),
    path("invitations/<str:token>/", teams.invitation, name="invitation"),
    # Keys
    path("keys/", keys.keys, name="keys"),
    path("keys/<int:key_id>/rename/", keys.key_rename, name="key_rename"),
    path("keys/<int:key_id>/revoke/", keys.key_revoke, name="key_revoke"),
    path("keys/<int:key_id>/default/", keys.key_default, name="key_default"),
    # Account
    path("account/", account.account, name="account"),
    path("account/password/", account.change_password, name="change_password"),
    path("account/logout-everywhere/", account.logout_everywhere, name="logout_everywhere"),
]
