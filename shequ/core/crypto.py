"""PII vault: AES-GCM encryption at rest and keyed hashes (HMAC) for exact lookup.

Keys come from SHEQU_DATA_KEY ("id:base64key[,id:base64key…]"); the first key encrypts, every key
decrypts, so rotation is: put the new key first, keep the old one, run `rotate_data_key`, then
drop the old key. Each stored value carries its key id: "<key id>$<base64(nonce ‖ ciphertext)>".
The lookup hash uses a key derived (HKDF) from a data key; during a rotation a value may be
indexed under either key, so lookups try every key (`blind_index_candidates`).
"""

import base64
import functools
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

SEPARATOR = "$"


class DecryptionError(Exception):
    """A stored value cannot be decrypted (unknown key id or tampered ciphertext)."""


@functools.cache
def _keyring() -> tuple[tuple[str, bytes], ...]:
    return tuple(settings.SHEQU_DATA_KEYS)


def reset_keyring() -> None:
    """Forget cached keys (after settings change in tests or a rotation)."""
    _keyring.cache_clear()
    _index_key.cache_clear()


def active_key_id() -> str:
    return _keyring()[0][0]


def _key(key_id: str) -> bytes:
    for kid, key in _keyring():
        if kid == key_id:
            return key
    raise DecryptionError(f"unknown data key id {key_id!r}")


@functools.cache
def _index_key(key_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"shequ-blind-index").derive(
        _key(key_id)
    )


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt with the active key; `context` (e.g. "people.person.id_number") is bound as AAD."""
    key_id, key = _keyring()[0]
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
    return key_id + SEPARATOR + base64.b64encode(nonce + ciphertext).decode()


def decrypt(token: str, *, context: str) -> str:
    key_id, sep, payload = token.partition(SEPARATOR)
    if not sep:
        raise DecryptionError("not an encrypted value")
    try:
        raw = base64.b64decode(payload, validate=True)
        return AESGCM(_key(key_id)).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except DecryptionError:
        raise
    except Exception as exc:  # InvalidTag, binascii.Error, UnicodeDecodeError
        raise DecryptionError("cannot decrypt stored value") from exc


def key_id_of(token: str) -> str:
    return token.partition(SEPARATOR)[0]


def blind_index(value: str, *, context: str, key_id: str | None = None) -> str:
    """Keyed hash of a normalised value, for exact lookup and uniqueness constraints."""
    key = _index_key(key_id or active_key_id())
    return hmac.new(key, f"{context}\x00{value}".encode(), hashlib.sha256).hexdigest()


def blind_index_candidates(value: str, *, context: str) -> list[str]:
    """The value's hash under every configured key (lookups during a key rotation)."""
    return [blind_index(value, context=context, key_id=kid) for kid, _ in _keyring()]


class EncryptedTextField(models.TextField):
    """Text stored encrypted; Python code sees plaintext, the database only ciphertext.

    Lookups other than isnull are meaningless on ciphertext; search through the blind index.
    """

    def __init__(self, *args, context: str = "", **kwargs):
        self.context = context
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["context"] = self.context
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value, context=self.context)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value, context=self.context)
