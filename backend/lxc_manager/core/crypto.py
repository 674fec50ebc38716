"""Secrets at rest: AES-256-GCM with a key id, a random 96-bit nonce and associated data bound to the row.

Ciphertext layout (bytes)::

    version (1) | key id (8) | nonce (12) | ciphertext + GCM tag (16)

The key id is the first 8 bytes of SHA-256(key): it names the key without revealing it, so a keyring can
hold the current key and older ones during a rotation. The associated data is the header plus a context
such as ``nodes:<node id>:token_secret`` (see :func:`secret_context`), so a ciphertext copied into another
row or column, or a tampered header, fails to decrypt.

Where the keys come from (first match wins):

1. ``LXCM_SECRET_KEY`` (base64, 32 bytes) is the current key; ``LXCM_SECRET_KEY_OLD`` (comma separated)
   lists older keys that still decrypt. Rotation with env keys is done by the operator (docs/security.md).
2. The key file (``settings.effective_secret_key_file``, default ``<data_dir>/secret.key``), created on
   first use with mode 0600. One base64 key per line; the first line is the current key, further lines
   are older keys kept until ``lxc-manager rotate-keys`` has re-encrypted every row. A file readable or
   writable by group/others is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lxc_manager.core.config import PLACEHOLDER_SECRETS

if TYPE_CHECKING:
    from lxc_manager.core.config import Settings

FORMAT_VERSION = 1
KEY_BYTES = 32
KEY_ID_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
# Random 32-byte keys have ~30 distinct byte values; fewer than this means a made-up key.
MIN_DISTINCT_BYTES_PRODUCTION = 16

KEY_FILE_HEADER = (
    "# lxc-manager secret keys (base64, 32 bytes each). The first key encrypts; the others only decrypt\n"
    "# and are removed by `lxc-manager rotate-keys` once no stored secret uses them. Keep this file private.\n"
)


class CryptoError(Exception):
    """Base class of secret-handling failures. Messages never contain key material or plaintext."""


class KeyConfigurationError(CryptoError):
    """The configured key or key file is missing, malformed or unsafe."""


class SecretDecryptionError(CryptoError):
    """A stored secret cannot be decrypted: wrong or retired key, tampered data, or copied from another row."""


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def decode_key(value: str, *, source: str, strict: bool = False) -> bytes:
    """Decode a base64 key of exactly 32 bytes; ``strict`` (production) also refuses low-entropy keys."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigurationError(
            f"{source} is not valid base64; generate one with: "
            "python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"
        ) from None
    if len(raw) != KEY_BYTES:
        raise KeyConfigurationError(f"{source} must decode to {KEY_BYTES} bytes (got {len(raw)})")
    if strict and len(set(raw)) < MIN_DISTINCT_BYTES_PRODUCTION:
        raise KeyConfigurationError(f"{source} does not look random; generate a key from os.urandom(32)")
    return raw


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:KEY_ID_BYTES]


def secret_context(table: str, row_id: str, column: str) -> bytes:
    """Associated data binding a ciphertext to one column of one row."""
    return f"{table}:{row_id}:{column}".encode()


def ciphertext_key_id(blob: bytes) -> bytes:
    if len(blob) < HEADER_BYTES + TAG_BYTES or blob[0] != FORMAT_VERSION:
        raise SecretDecryptionError("stored secret has an unknown format")
    return blob[1 : 1 + KEY_ID_BYTES]


@dataclass(frozen=True)
class Keyring:
    """The current key (encrypts) and older keys (decrypt only). ``repr`` shows key ids, never keys."""

    keys: tuple[bytes, ...] = field(repr=False)
    source: str = "unknown"

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigurationError("a keyring needs at least one key")
        for key in self.keys:
            if len(key) != KEY_BYTES:
                raise KeyConfigurationError(f"keys must be {KEY_BYTES} bytes")

    def __repr__(self) -> str:
        ids = ", ".join(key_id(k).hex() for k in self.keys)
        return f"Keyring(source={self.source!r}, key_ids=[{ids}])"

    @property
    def current(self) -> bytes:
        return self.keys[0]

    @property
    def current_key_id(self) -> bytes:
        return key_id(self.current)

    def _key_for(self, wanted: bytes) -> bytes | None:
        for key in self.keys:
            if secrets.compare_digest(key_id(key), wanted):
                return key
        return None

    def encrypt(self, plaintext: str | bytes, context: bytes) -> bytes:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        header = bytes([FORMAT_VERSION]) + self.current_key_id + secrets.token_bytes(NONCE_BYTES)
        return header + AESGCM(self.current).encrypt(header[-NONCE_BYTES:], data, header + context)

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        wanted = ciphertext_key_id(blob)
        key = self._key_for(wanted)
        if key is None:
            raise SecretDecryptionError(
                f"stored secret was encrypted with key {wanted.hex()}, which is not in the keyring"
            )
        header = blob[:HEADER_BYTES]
        try:
            return AESGCM(key).decrypt(header[-NONCE_BYTES:], blob[HEADER_BYTES:], header + context)
        except InvalidTag:
            raise SecretDecryptionError(
                "stored secret failed authentication (tampered, or copied from another row or column)"
            ) from None

    def decrypt_text(self, blob: bytes, context: bytes) -> str:
        try:
            return self.decrypt(blob, context).decode()
        except UnicodeDecodeError:
            raise SecretDecryptionError("stored secret is not valid text") from None

    def is_current(self, blob: bytes) -> bool:
        return secrets.compare_digest(ciphertext_key_id(blob), self.current_key_id)

    def reencrypt(self, blob: bytes, context: bytes) -> bytes:
        return self.encrypt(self.decrypt(blob, context), context)


# ---------------------------------------------------------------------------------------------- key file


def _check_private(path: Path) -> os.stat_result:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise KeyConfigurationError(f"key file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise KeyConfigurationError(
            f"key file {path} is accessible by group/others (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run: chmod 600 {path}"
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise KeyConfigurationError(f"key file {path} is owned by another user")
    return info


def _format_key_file(keys: Iterable[bytes]) -> str:
    return KEY_FILE_HEADER + "".join(encode_key(k) + "\n" for k in keys)


def _write_private_tmp(path: Path, content: str) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Atomically replace the key file (mode 0600): readers see the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_private_tmp(path, _format_key_file(keys))
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def create_key_file(path: Path) -> None:
    """Create the key file with one fresh key unless it exists; safe when several processes start at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_private_tmp(path, _format_key_file([generate_key()]))
    try:
        os.link(tmp, path)  # atomic create-with-content; fails if another process won the race
        _fsync_dir(path.parent)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def read_key_file(path: Path, *, strict: bool = False) -> tuple[bytes, ...]:
    _check_private(path)
    keys: list[bytes] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        keys.append(decode_key(text, source=f"{path} line {number}", strict=strict))
    if not keys:
        raise KeyConfigurationError(f"key file {path} holds no key")
    return tuple(dict.fromkeys(keys))  # drop duplicates, keep order


# ---------------------------------------------------------------------------------------------- loading

_cache_lock = threading.Lock()
_file_cache: dict[Path, tuple[tuple[int, int, int], Keyring]] = {}


def keys_from_env(settings: Settings) -> tuple[bytes, ...] | None:
    if settings.secret_key is None or not settings.secret_key.get_secret_value().strip():
        return None  # unset (or empty): the key file is used
    if settings.secret_key.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
        if settings.environment == "development":
            return None  # a docs/example placeholder: development falls back to the key file
        raise KeyConfigurationError("LXCM_SECRET_KEY is a placeholder; set a real key")
    strict = settings.environment == "production"
    current = decode_key(settings.secret_key.get_secret_value(), source="LXCM_SECRET_KEY", strict=strict)
    old: list[bytes] = []
    if settings.secret_key_old is not None:
        for index, part in enumerate(settings.secret_key_old.get_secret_value().split(",")):
            if part.strip():
                old.append(decode_key(part, source=f"LXCM_SECRET_KEY_OLD item {index + 1}", strict=strict))
    return tuple(dict.fromkeys([current, *old]))


def load_keyring(settings: Settings) -> Keyring:
    """The keyring for these settings. The key file is re-read when it changes (e.g. after a rotation)."""
    env_keys = keys_from_env(settings)
    if env_keys is not None:
        return Keyring(env_keys, source="environment")
    path = settings.effective_secret_key_file
    if not path.exists():
        create_key_file(path)
    info = _check_private(path)
    stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
    with _cache_lock:
        cached = _file_cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    keyring = Keyring(read_key_file(path, strict=settings.environment == "production"), source="key_file")
    with _cache_lock:
        _file_cache[path] = (stamp, keyring)
    return keyring
