from django.apps import AppConfig


class VisionConfig(AppConfig):
    name = "vision"
    verbose_name = "FoxWeb"

    def ready(self):
        from vision import debug, images

        debug.install_log_scrubbing()  # no log line, from any library, shows an API key
        images.keep_large_allocations_returnable()  # freed images leave the process's memory
