from django.contrib.auth import get_user_model
from django.shortcuts import redirect
from django.urls import reverse


class FirstRunMiddleware:
    """Until the first account exists, every page leads to the first-run page."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.ready = False

    def __call__(self, request):
        if not self.ready:
            self.ready = get_user_model().objects.exists()
            setup_url = reverse("setup")
            if not self.ready and not request.path.startswith((setup_url, "/static/")):
                return redirect(setup_url)
        return self.get_response(request)
