from django.apps import AppConfig


class VisionConfig(AppConfig):
    name = "vision"
    verbose_name = "FoxWeb"

    def ready(self):
        from vision import catalog

        # A bad FOXWEB_IMAGE_POLICIES or FOXWEB_DEFAULT_MODEL stops FoxWeb at start-up with a plain
        # message, instead of failing on the first request that needs it.
        catalog.check_settings()
