"""Encryption of stored FoxAPI keys: Fernet (AES-128-CBC with HMAC-SHA256), with key rotation.

FOXWEB_ENCRYPTION_KEYS lists Fernet keys: the first encrypts, every one of them decrypts, so a
new key can be put in front and `manage.py rotate_api_keys` re-encrypts everything with it.
Without the setting (development only; production refuses to start), a key derived from
SECRET_KEY encrypts, so a fresh checkout works; it stays last in the list, decrypt-only once the
setting is made, so keys saved before can be read and rotated.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from vision import debug


class UndecryptableKey(Exception):
    """A stored key no configured encryption key can open (the keys were changed or lost)."""


def _vault() -> MultiFernet:
    # The key derived from SECRET_KEY always comes last: it encrypts only when nothing is configured,
    # and it still decrypts keys saved before FOXWEB_ENCRYPTION_KEYS was set (rotate them after).
    digest = hashlib.sha256(f"foxweb api keys:{settings.SECRET_KEY}".encode()).digest()
    keys = [*settings.FOXWEB_ENCRYPTION_KEYS, base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "FOXWEB_ENCRYPTION_KEYS must be Fernet keys: "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from None


@sensitive_variables("secret")
def encrypt(secret: str) -> str:
    debug.remember_secret(secret)
    return _vault().encrypt(secret.encode()).decode("ascii")


@sensitive_variables("secret")
def decrypt(token: str) -> str:
    try:
        secret = _vault().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise UndecryptableKey("A stored API key cannot be decrypted with the configured keys.") from None
    debug.remember_secret(secret)  # error pages and logs hide it from now on, whatever its shape
    return secret


def rotate(token: str) -> str:
    """The same secret, encrypted with the first (newest) encryption key."""
    try:
        return _vault().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise UndecryptableKey("A stored API key cannot be decrypted with the configured keys.") from None
