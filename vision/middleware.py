from django.contrib.auth import get_user_model
from django.shortcuts import redirect
from django.urls import reverse


class FirstRunMiddleware:
    """Until the first account exists, every page leads to the first-run page.

    Only anonymous requests are checked: a logged-in user proves an account exists.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:
            setup_url = reverse("setup")
            if not request.path.startswith((setup_url, "/static/")) and not get_user_model().objects.exists():
                return redirect(setup_url)
        return self.get_response(request)
