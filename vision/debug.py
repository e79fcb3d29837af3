"""Error pages and error reports never show an API key, with DEBUG on or off."""

import re

from django.template.defaultfilters import pprint
from django.views.debug import SafeExceptionReporterFilter

# Names of variables that hold keys or the headers that carry them.
SENSITIVE_NAMES = frozenset({"api_key", "secret", "headers", "authorization", "plain", "token"})
# What a FoxAPI key looks like inside any other value (a form's cleaned_data, say).
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{4,}")
SENSITIVE_POST_FIELDS = frozenset({"secret", "password", "password1", "password2", "old_password"})


class KeySafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter is off while DEBUG is on; this one is always on, and also hides variables
    by name and any value that contains something shaped like a FoxAPI key."""

    def is_active(self, request):
        return True

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if request is None or not parameters:
            return parameters
        cleansed = parameters.copy()
        for name in SENSITIVE_POST_FIELDS & set(cleansed):
            cleansed[name] = self.cleansed_substitute
        for name, value in cleansed.items():
            if KEY_PATTERN.search(str(value)):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if self._sensitive(name, value) else value) for name, value in variables
        ]

    def _sensitive(self, name, value) -> bool:
        if str(name).lower() in SENSITIVE_NAMES:
            return True
        try:
            text = value if isinstance(value, str) else pprint(value)
        except Exception:  # a value that cannot even be shown is not shown
            return True
        return bool(KEY_PATTERN.search(text[:20000]))
