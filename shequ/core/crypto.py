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
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
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


def encrypt_bytes(data: bytes, *, context: str) -> bytes:
    """Encrypt binary data (an uploaded file) with the active key: b"<key id>$" ‖ nonce ‖ ct."""
    key_id, key = _keyring()[0]
    nonce = secrets.token_bytes(12)
    return key_id.encode() + b"$" + nonce + AESGCM(key).encrypt(nonce, data, context.encode())


def decrypt_bytes(token: bytes, *, context: str) -> bytes:
    key_id, sep, raw = bytes(token).partition(b"$")
    if not sep:
        raise DecryptionError("not an encrypted value")
    try:
        return AESGCM(_key(key_id.decode())).decrypt(raw[:12], raw[12:], context.encode())
    except DecryptionError:
        raise
    except Exception as exc:
        raise DecryptionError("cannot decrypt stored value") from exc


class EncryptedBinaryField(models.BinaryField):
    """Binary data stored encrypted (e.g. an import file waiting for the worker)."""

    def __init__(self, *args, context: str = "", **kwargs):
        self.context = context
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["context"] = self.context
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None or len(value) == 0:
            return b"" if value is not None else None
        return decrypt_bytes(bytes(value), context=self.context)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is not None and len(value) > 0:
            value = encrypt_bytes(bytes(value), context=self.context)
        return super().get_db_prep_value(value, connection, prepared)


ENCRYPTED_FIELD_TYPES = (EncryptedTextField, EncryptedBinaryField)


# ---------------------------------------------------------------------------------------------
# The registry of encrypted fields. An app registers each encrypted field once, with the field
# holding its keyed hash (if any) and the normaliser applied before hashing, e.g.
#
#     register_encrypted_field("people.person", "mobile", hash_field="mobile_hash",
#                              normalize=normalize_mobile)
#
# Lookups (`lookup_hashes`), writes (`hash_for`) and key rotation (`rotate_data_key`) all read
# it, so a value and its hash can never be computed two different ways. Rotation also walks
# every EncryptedTextField/EncryptedBinaryField of every model, registered or not, and a system
# check reports encrypted fields that were never registered.


@dataclass(frozen=True)
class EncryptedFieldSpec:
    model: str  # app_label.model_name
    field: str
    hash_field: str | None = None
    normalize: Callable[[str], str] | None = None


_registry: dict[tuple[str, str], EncryptedFieldSpec] = {}


def register_encrypted_field(
    model: str,
    field: str,
    *,
    hash_field: str | None = None,
    normalize: Callable[[str], str] | None = None,
) -> EncryptedFieldSpec:
    """Declare an encrypted field (and its keyed-hash field and normaliser). Idempotent."""
    spec = EncryptedFieldSpec(model.lower(), field, hash_field, normalize)
    _registry[(spec.model, field)] = spec
    return spec


def encrypted_field_spec(model: str, field: str) -> EncryptedFieldSpec:
    return _registry[(model.lower(), field)]


def registered_encrypted_fields() -> list[EncryptedFieldSpec]:
    return list(_registry.values())


@functools.cache
def _field_context(spec: EncryptedFieldSpec) -> str:
    return apps.get_model(spec.model)._meta.get_field(spec.field).context


def hash_for(model: str, field: str, plaintext: str | None) -> str | None:
    """The keyed hash (active key) to store beside a normalised plaintext; None when empty."""
    if not plaintext:
        return None
    spec = encrypted_field_spec(model, field)
    return blind_index(plaintext, context=_field_context(spec))


def lookup_hashes(model: str, field: str, raw: str) -> list[str]:
    """Hashes under every configured key of a raw (un-normalised) value, for exact lookup.

    Raises whatever the normaliser raises on a value that cannot be normalised."""
    spec = encrypted_field_spec(model, field)
    value = spec.normalize(raw) if spec.normalize else raw
    return blind_index_candidates(value, context=_field_context(spec))
