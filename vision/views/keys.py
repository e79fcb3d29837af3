"""The keys page: add, rename, revoke and choose FoxAPI keys, and see what each one paid for."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from vision import usage
from vision.forms import ApiKeyForm, RenameKeyForm
from vision.models import ApiKey, Profile


def _keys_page(request, form: ApiKeyForm, status: int = 200):
    managed = list(ApiKey.objects.manageable_by(request.user).select_related("team", "owner"))
    per_key = usage.usage_by_key([key.pk for key in managed])
    keys_by_team = defaultdict(list)
    for key in managed:
        key.usage = per_key[key.pk]
        if key.team_id:
            keys_by_team[key.team].append(key.pk)
    usable_team_keys = (
        ApiKey.objects.usable_by(request.user)
        .filter(team__isnull=False)
        .exclude(pk__in=[key.pk for key in managed])
        .select_related("team")
    )
    # The message about a key just saved is shown in that key's card, which the page scrolls to:
    # on a phone the list sits below the form, out of sight.
    saved = {message.extra_tags: message.message for message in messages.get_messages(request)}
    for key in managed:
        key.saved_message = saved.get(f"in-place key-{key.pk}", "")
    context = {
        "form": form,
        "keys": managed,
        "usable_team_keys": usable_team_keys,
        "team_usage": usage.combine_by_team(keys_by_team, per_key),
        "default_key_id": Profile.of(request.user).default_key_id,
    }
    return render(request, "vision/keys.html", context, status=status)


@sensitive_post_parameters("secret")
@require_http_methods(["GET", "POST"])
def keys(request):
    if request.method == "GET":
        return _keys_page(request, ApiKeyForm(request.user))
    form = ApiKeyForm(request.user, request.POST)
    if not form.is_valid():
        return _keys_page(request, form)
    key = form.save()
    text = f"Key “{key.name}” ({key.masked}) saved. {form.notice}".strip()
    messages.success(request, text, extra_tags=f"in-place key-{key.pk}")
    return redirect(f"{reverse('keys')}#key-{key.pk}")


def _get_key_for_manager(request, key_id: int) -> ApiKey:
    """A key this user may rename or revoke (their own, or their owned team's); else 404."""
    return get_object_or_404(ApiKey.objects.manageable_by(request.user), pk=key_id)


@require_POST
def key_rename(request, key_id: int):
    key = _get_key_for_manager(request, key_id)
    form = RenameKeyForm(request.POST, instance=key)
    if form.is_valid():
        form.save()
        messages.success(request, "Key renamed.")
    else:
        messages.error(request, "Give the key a name.")
    return redirect("keys")


@require_POST
def key_revoke(request, key_id: int):
    key = _get_key_for_manager(request, key_id)
    key.revoke()
    messages.success(request, f"Key “{key.name}” revoked. Past descriptions still show it; it cannot be used again.")
    return redirect("keys")


@require_POST
def key_default(request, key_id: int):
    """Make a key the one the describe form preselects for this user."""
    key = get_object_or_404(ApiKey.objects.usable_by(request.user), pk=key_id)
    profile = Profile.of(request.user)
    profile.default_key = key
    profile.save(update_fields=["default_key"])
    messages.success(request, f"“{key.name}” is now your default key.")
    return redirect("keys")
