"""Re-encrypt every stored FoxAPI key with the newest encryption key (the first of FOXWEB_ENCRYPTION_KEYS)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vision import keyvault
from vision.models import ApiKey


class Command(BaseCommand):
    help = "Re-encrypt every stored FoxAPI key with the first key of FOXWEB_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        done = 0
        with transaction.atomic():
            for key in ApiKey.objects.select_for_update().only("pk", "encrypted"):
                try:
                    key.encrypted = keyvault.rotate(key.encrypted)
                except keyvault.UndecryptableKey:
                    raise CommandError(
                        f"Key {key.pk} cannot be decrypted with any configured key; nothing was changed."
                    ) from None
                key.save(update_fields=["encrypted"])
                done += 1
        self.stdout.write(f"Re-encrypted {done} API key{'s' if done != 1 else ''}.")
