from django.apps import AppConfig


class VisionConfig(AppConfig):
    name = "vision"
    verbose_name = "FoxWeb"

    def ready(self):
        from vision import catalog, debug, images

        debug.install_log_scrubbing()  # no log line, from any library, shows an API key
        images.keep_large_allocations_returnable()  # freed images leave the process's memory

        # A bad FOXWEB_IMAGE_POLICIES or FOXWEB_DEFAULT_MODEL stops FoxWeb at start-up with a plain
        # message, instead of failing on the first request that needs it.
        catalog.check_settings()
