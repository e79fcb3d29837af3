"""Site administrators manage everything in Django's admin; encrypted keys are never shown there."""

from django.contrib import admin

from vision.models import ApiKey, Invitation, Membership, Profile, Task, TaskImage, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created"]
    search_fields = ["name"]
    inlines = [MembershipInline]


class TaskImageInline(admin.TabularInline):
    model = TaskImage
    extra = 0
    fields = [
        "position",
        "name",
        "source_url",
        "width",
        "height",
        "bytes",
        "original_width",
        "original_height",
    ]
    readonly_fields = fields
    can_delete = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "team", "model", "status", "total_tokens", "created"]
    list_filter = ["status", "model"]
    search_fields = ["prompt", "answer", "owner__username", "upstream_id"]
    raw_id_fields = ["owner", "team", "api_key"]
    readonly_fields = [
        "upstream_id", "created", "submitted", "finished", "share_token", "revision",
        "next_attempt", "lease_owner", "lease_until", "job_id", "enqueued", "upstream_checks",
    ]  # fmt: skip
    inlines = [TaskImageInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "team", "masked", "status", "created", "revoked"]
    list_filter = ["status"]
    search_fields = ["name"]
    exclude = ["encrypted"]
    readonly_fields = ["masked", "last_four", "created", "last_used", "status_changed"]

    @admin.display(description="Key")
    def masked(self, key: ApiKey) -> str:
        return key.masked


admin.site.register(Invitation, list_display=["team", "created_by", "created", "expires", "used_by"])
admin.site.register(Profile, list_display=["user", "default_team", "default_model"])
admin.site.site_header = "FoxWeb administration"
