import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import MiddlewareNotUsed
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

clock = time.perf_counter  # replaced in tests

SESSION_ENDED = "Your session ended. Log in again to carry on; what you typed is kept."


class ServerTimingMiddleware:
    """With FOXWEB_SERVER_TIMING on, tells how long FoxWeb spent on each request: `Server-Timing: app;dur=<ms>`.

    It is first in MIDDLEWARE, so it times everything FoxWeb does for a request, static files
    served by whitenoise included, and the load benchmark (bench/load.py) can compare the two.
    Off by default: it tells anyone how long each request took, and when off it is not even in
    the chain (MiddlewareNotUsed).
    """

    def __init__(self, get_response):
        if not settings.FOXWEB_SERVER_TIMING:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        start = clock()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(clock() - start) * 1000:.3f}"
        return response


class FirstRunMiddleware:
    """Until the first account exists, every page leads to the first-run page.

    Only anonymous requests are checked: a logged-in user proves an account exists.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:
            setup_url = reverse("setup")
            if (
                not request.path.startswith((setup_url, "/static/", "/healthz"))
                and not get_user_model().objects.exists()
            ):
                return redirect(setup_url)
        return self.get_response(request)


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Login is required everywhere; an htmx request whose session ended sends the whole page to
    the login form (and back afterwards) instead of swapping the login page into a status card.

    Only a page opened while logged in sends htmx requests, so the login form can say why it is
    there; the describe page's text is kept by foxweb.js and put back afterwards.
    """

    def handle_no_permission(self, request, view_func):
        if getattr(request, "htmx", False):
            messages.info(request, SESSION_ENDED)
            page = request.htmx.current_url_abs_path or request.get_full_path()
            login_url = redirect_to_login(page, self.get_login_url(view_func))["Location"]
            return HttpResponseClientRedirect(login_url)
        return super().handle_no_permission(request, view_func)
