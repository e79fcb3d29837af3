from django.apps import AppConfig


class VisionConfig(AppConfig):
    name = "vision"
    verbose_name = "FoxWeb"

    def ready(self):
        from vision import debug

        debug.install_log_scrubbing()  # no log line, from any library, shows an API key
