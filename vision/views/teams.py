"""Teams: create one, invite colleagues with a link, manage members and owners."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from vision.forms import JoinForm, TeamForm
from vision.models import Invitation, Membership, Team


def _get_team_for_member(request, team_id: int) -> tuple[Team, Membership]:
    """The team and the user's membership of it; 404 for teams they are not in."""
    membership = get_object_or_404(Membership.objects.select_related("team"), team_id=team_id, user=request.user)
    return membership.team, membership


def _get_team_for_owner(request, team_id: int) -> tuple[Team, Membership]:
    team, membership = _get_team_for_member(request, team_id)
    if not membership.is_owner:
        raise Http404
    return team, membership


@require_http_methods(["GET", "POST"])
def team_list(request):
    form = TeamForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        team = Team.found(form.cleaned_data["name"], request.user)
        messages.success(request, f"Team “{team.name}” created. Invite your colleagues below.")
        return redirect(team)
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    return render(request, "vision/teams.html", {"form": form, "memberships": memberships})


def _team_page(request, team: Team, membership: Membership, invitation: Invitation | None = None, rename_form=None):
    members = team.memberships.select_related("user").order_by("-role", "user__username")
    invitations = team.invitations.filter(used_at__isnull=True).select_related("created_by")
    context = {
        "team": team,
        "membership": membership,
        "members": members,
        "invitations": invitations if membership.is_owner else [],
        "new_invitation": invitation,
        "invite_url": request.build_absolute_uri(invitation.get_absolute_url()) if invitation else "",
        "rename_form": rename_form or TeamForm(instance=team, user=request.user),
    }
    return render(request, "vision/team_detail.html", context)


@require_http_methods(["GET", "POST"])
def team_detail(request, team_id: int):
    team, membership = _get_team_for_member(request, team_id)
    if request.method == "POST":
        if not membership.is_owner:
            raise Http404
        form = TeamForm(request.POST, instance=team, user=request.user)
        if not form.is_valid():
            return _team_page(request, Team.objects.get(pk=team.pk), membership, rename_form=form)
        form.save()
        messages.success(request, "Team saved.")
        return redirect(team)
    return _team_page(request, team, membership)


@require_POST
def team_invite(request, team_id: int):
    """A new single-use link, shown once so the owner can copy it to the colleague."""
    team, membership = _get_team_for_owner(request, team_id)
    invitation = Invitation.issue(team, request.user)
    return _team_page(request, team, membership, invitation)


@require_POST
def team_invitation_cancel(request, team_id: int, invitation_id: int):
    team, _ = _get_team_for_owner(request, team_id)
    get_object_or_404(Invitation, team=team, pk=invitation_id, used_at__isnull=True).delete()
    messages.success(request, "Invitation link cancelled; it no longer works.")
    return redirect(team)


@require_POST
def team_member(request, team_id: int, member_id: int):
    """Owners remove members, make them owners, or step down to member themselves."""
    team, _ = _get_team_for_owner(request, team_id)
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # one change of roles at a time per team
        members = Membership.objects.filter(team=team)
        target = get_object_or_404(members, pk=member_id)
        action = request.POST.get("action")
        owners = members.filter(role=Membership.Role.OWNER).count()
        if action in ("remove", "make_member") and target.is_owner and owners == 1:
            messages.error(request, "A team needs at least one owner. Make someone else an owner first.")
        elif action == "remove":
            target.delete()
            messages.success(request, f"{target.user.get_username()} was removed from the team.")
        elif action == "make_owner":
            target.role = Membership.Role.OWNER
            target.save(update_fields=["role"])
            messages.success(request, f"{target.user.get_username()} is now an owner.")
        elif action == "make_member":
            target.role = Membership.Role.MEMBER
            target.save(update_fields=["role"])
            messages.success(request, f"{target.user.get_username()} is now a member.")
    if target.user_id == request.user.pk and action != "make_owner":
        return redirect("team_list") if action == "remove" else redirect(team)
    return redirect(team)


@require_POST
def team_delete(request, team_id: int):
    """An owner deletes the team: shared descriptions become private to their owners again."""
    team, _ = _get_team_for_owner(request, team_id)
    name = team.name
    team.delete()
    messages.success(request, f"Team “{name}” deleted. Descriptions shared with it are private to their owners again.")
    return redirect("team_list")


@require_POST
def team_leave(request, team_id: int):
    team, membership = _get_team_for_member(request, team_id)
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # two owners leaving at once: one waits
        owners = Membership.objects.filter(team=team, role=Membership.Role.OWNER)
        membership = Membership.objects.filter(pk=membership.pk).first()
        if membership is None:  # removed a moment ago
            return redirect("team_list")
        if membership.is_owner and owners.count() == 1:
            messages.error(request, "You are the last owner. Make someone else an owner before you leave.")
            return redirect(team)
        membership.delete()
    messages.success(request, f"You left “{team.name}”. Descriptions you shared with it stay shared.")
    return redirect("team_list")


def _invitation_gone(request):
    return render(request, "vision/invitation.html", {"usable": False}, status=410)


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    """Join a team from an invitation link: logged in, with one click; otherwise by making an account."""
    invitation = Invitation.objects.select_related("team", "created_by").filter(token=token).first()
    if invitation is None or not invitation.is_usable:
        return _invitation_gone(request)
    join_form = None if request.user.is_authenticated else JoinForm(request.POST or None)
    if request.method == "POST" and (join_form is None or join_form.is_valid()):
        with transaction.atomic():
            user = join_form.save() if join_form else request.user
            if not invitation.accept(user):  # used by someone else a moment ago
                transaction.set_rollback(True)
                return _invitation_gone(request)
        if join_form:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to “{invitation.team.name}”.")
        return redirect(invitation.team)
    already = join_form is None and invitation.team.membership_of(request.user) is not None
    context = {"invitation": invitation, "usable": True, "join_form": join_form, "already": already}
    return render(request, "vision/invitation.html", context)
