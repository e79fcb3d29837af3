"""The first-run page of an empty installation."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from vision.forms import SetupForm


@login_not_required
@require_http_methods(["GET", "POST"])
def setup(request):
    """Create the first administrator of an empty installation; gone once anyone exists."""
    User = get_user_model()
    if User.objects.exists():
        return redirect("describe")
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if User.objects.select_for_update().exists():
                return redirect("login")
            user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}. Your administrator account is ready.")
        return redirect("describe")
    return render(request, "vision/setup.html", {"form": form})


# --- Describe -----------------------------------------------------------------------------------
