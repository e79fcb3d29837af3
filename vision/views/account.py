"""Logging in, and the account page: password, defaults for the describe form, logging out everywhere."""

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from vision import throttle
from vision.forms import ChangePasswordForm, ConfirmPasswordForm, PreferencesForm
from vision.models import Profile


class LoginView(auth_views.LoginView):
    """Django's login, with a limit on wrong passwords per user name and per client address."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        seconds = throttle.login_blocked_for(request, request.POST.get("username", ""))
        if seconds:
            return throttle.too_many(request, seconds, "wrong passwords")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        throttle.login_succeeded(self.request, form.cleaned_data.get("username", ""))
        return super().form_valid(form)

    def form_invalid(self, form):
        throttle.login_failed(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)


def _password_form(user, data=None) -> ChangePasswordForm:
    form = ChangePasswordForm(user, data)
    form.fields["old_password"].widget.attrs.pop("autofocus", None)  # the page opens at the top
    return form


def _account_page(request, **forms):
    context = {
        "preferences_form": PreferencesForm(instance=Profile.of(request.user)),
        "password_form": _password_form(request.user),
        "everywhere_form": ConfirmPasswordForm(request.user),
        **forms,
    }
    return render(request, "vision/account.html", context)


@require_http_methods(["GET", "POST"])
def account(request):
    if request.method == "POST":
        form = PreferencesForm(request.POST, instance=Profile.of(request.user))
        if form.is_valid():
            form.save()
            messages.success(request, "Your defaults are saved.")
            return redirect("account")
        return _account_page(request, preferences_form=form)
    return _account_page(request)


@require_POST
def change_password(request):
    form = _password_form(request.user, request.POST)
    if form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)  # stay logged in here; other sessions end
        messages.success(request, "Your password is changed. Other devices were logged out.")
        return redirect("account")
    return _account_page(request, password_form=form)


@require_POST
def logout_everywhere(request):
    """End every session of this account, this one included.

    Django ties each session to a hash of the password; re-hashing the same password with a
    fresh salt changes that hash, so every existing session stops being valid at once.
    """
    form = ConfirmPasswordForm(request.user, request.POST)
    if not form.is_valid():
        return _account_page(request, everywhere_form=form)
    user = request.user
    user.set_password(form.cleaned_data["password"])
    user.save(update_fields=["password"])
    logout(request)
    messages.success(request, "You are logged out on every device. Log in again to continue.")
    return redirect("login")
