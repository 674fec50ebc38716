"""API token format: ``lxcm_<lookup>_<secret><checksum>``.

- ``lxcm_`` makes the token recognisable by secret scanners;
- ``lookup`` (12 base62 chars) finds the row without scanning;
- ``secret`` (43 base62 chars, ~256 bits) is stored only as a SHA-256 hash;
- ``checksum`` (6 base62 chars) is CRC32 of everything before it, so scanners and we can reject typos
  and random strings without a database round trip (GitHub's token format).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

PREFIX = "lxcm_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LOOKUP_LENGTH = 12
SECRET_LENGTH = 43
CHECKSUM_LENGTH = 6
TOKEN_RE = re.compile(
    rf"^{PREFIX}([0-9A-Za-z]{{{LOOKUP_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)


@dataclass(frozen=True)
class ParsedToken:
    lookup: str
    secret: str


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def hash_secret(secret: str) -> str:
    # A plain SHA-256 is enough: the secret is 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def generate() -> tuple[str, ParsedToken]:
    """A new token: (plaintext, its parts)."""
    lookup = _random_base62(LOOKUP_LENGTH)
    secret = _random_base62(SECRET_LENGTH)
    body = f"{PREFIX}{lookup}_{secret}"
    return body + checksum(body), ParsedToken(lookup=lookup, secret=secret)


def parse(token: str) -> ParsedToken | None:
    """The token's parts, or None when it is malformed or its checksum is wrong."""
    match = TOKEN_RE.match(token)
    if not match:
        return None
    lookup, secret, check = match.groups()
    if not hmac.compare_digest(checksum(f"{PREFIX}{lookup}_{secret}"), check):
        return None
    return ParsedToken(lookup=lookup, secret=secret)


def display_prefix(lookup: str) -> str:
    """What lists show to identify a token (not secret)."""
    return f"{PREFIX}{lookup}"
