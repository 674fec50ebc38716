"""Talking to the OpenID provider: discovery, JWKS, the token exchange and ID token validation. No database.

Discovery documents and key sets are cached per issuer (module level, shared by the app's requests); an
ID token signed with a key id we do not know triggers one JWKS refetch (the provider rotated its keys),
rate-limited so a stream of bogus tokens cannot turn us into a JWKS-fetching loop.
"""

from __future__ import annotations

import hmac
import importlib
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from lxc_manager.core.errors import AppError, BadRequest, ServiceUnavailable
from lxc_manager.core.logging import get_logger

log = get_logger(__name__)

DISCOVERY_TTL_S = 15 * 60
JWKS_TTL_S = 60 * 60
# A refetch for an unknown key id happens at most this often per issuer.
JWKS_MIN_REFETCH_S = 10.0
CLOCK_LEEWAY_S = 60
HTTP_TIMEOUT_S = 10.0
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are never accepted.
SAFE_ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_MAX_DOCUMENT_BYTES = 512 * 1024


class OIDCProviderError(AppError):
    """The provider answered something we cannot use (bad discovery document, 5xx, no ID token)."""

    status_code: ClassVar[int] = 502
    code: ClassVar[str] = "oidc_provider_error"
    default_detail: ClassVar[str] = "The identity provider returned an unusable answer"


class OIDCProviderUnavailable(ServiceUnavailable):
    code: ClassVar[str] = "oidc_provider_unavailable"
    default_detail: ClassVar[str] = "The identity provider cannot be reached; try again later"


class OIDCTokenInvalid(BadRequest):
    code: ClassVar[str] = "oidc_token_invalid"
    default_detail: ClassVar[str] = "The identity provider's ID token was rejected"


class OIDCCodeRejected(BadRequest):
    code: ClassVar[str] = "oidc_code_rejected"
    default_detail: ClassVar[str] = "The identity provider refused the authorization code; start the login again"


def _http_library_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(transport errors, HTTP status errors) of plain httpx and, when installed, httpx2: authlib's httpx
    client switches to httpx2 whenever it is importable, and its errors must still map to 502/503."""
    transport: list[type[Exception]] = [httpx.TransportError]
    status: list[type[Exception]] = [httpx.HTTPStatusError]
    try:
        httpx2 = importlib.import_module("httpx2")
    except ImportError:
        pass
    else:
        transport.append(httpx2.TransportError)
        status.append(httpx2.HTTPStatusError)
    return tuple(transport), tuple(status)


_TRANSPORT_ERRORS, _STATUS_ERRORS = _http_library_errors()
_UNUSABLE_ANSWER_ERRORS: tuple[type[Exception], ...] = (*_STATUS_ERRORS, ValueError)


class UnknownSigningKey(Exception):
    """The ID token names a key id that is not in the key set we hold."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_methods: tuple[str, ...]
    id_token_algs: tuple[str, ...]


@dataclass(frozen=True)
class IDTokenClaims:
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    preferred_username: str | None
    name: str | None


_discovery_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_jwks_cache: dict[str, tuple[float, KeySet]] = {}


def clear_caches() -> None:
    _discovery_cache.clear()
    _jwks_cache.clear()


def check_endpoint_url(url: object, what: str) -> str:
    """Provider URLs must be https; plain http is tolerated only on a loopback host (local IdPs, tests)."""
    if not isinstance(url, str) or not url:
        raise OIDCProviderError(f"The identity provider's {what} is missing")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise OIDCProviderError(f"The identity provider's {what} must be an https URL (got {url[:200]!r})")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False, headers={"Accept": "application/json"})


async def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        async with _http_client() as http:
            response = await http.get(url)
    except httpx.TransportError as exc:
        log.warning("oidc_provider_unreachable", what=what, error_type=type(exc).__name__)
        raise OIDCProviderUnavailable(f"The identity provider cannot be reached ({what}); try again later") from exc
    if response.status_code != 200:
        raise OIDCProviderError(f"The identity provider answered HTTP {response.status_code} for its {what}")
    if len(response.content) > _MAX_DOCUMENT_BYTES:
        raise OIDCProviderError(f"The identity provider's {what} is too large")
    try:
        document = response.json()
    except ValueError as exc:
        raise OIDCProviderError(f"The identity provider's {what} is not JSON") from exc
    if not isinstance(document, dict):
        raise OIDCProviderError(f"The identity provider's {what} is not a JSON object")
    return document


def _str_list(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


async def get_provider_metadata(issuer: str) -> ProviderMetadata:
    """The provider's discovery document (cached), checked against the configured issuer."""
    cached = _discovery_cache.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_S:
        return cached[1]
    check_endpoint_url(issuer, "issuer (LXCM_OIDC_ISSUER)")
    document = await _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
    # OpenID Connect Discovery 4.3: the issuer in the document must be exactly the one we asked for.
    if document.get("issuer") != issuer:
        raise OIDCProviderError(
            f"The discovery document names issuer {str(document.get('issuer'))[:200]!r}, "
            f"but LXCM_OIDC_ISSUER is {issuer!r}; they must be identical"
        )
    advertised_algs = _str_list(document.get("id_token_signing_alg_values_supported")) or ("RS256",)
    algs = tuple(alg for alg in advertised_algs if alg in SAFE_ID_TOKEN_ALGS)
    if not algs:
        raise OIDCProviderError("The identity provider signs ID tokens with no algorithm we accept")
    metadata = ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=check_endpoint_url(document.get("authorization_endpoint"), "authorization endpoint"),
        token_endpoint=check_endpoint_url(document.get("token_endpoint"), "token endpoint"),
        jwks_uri=check_endpoint_url(document.get("jwks_uri"), "JWKS URI"),
        # OAuth 2.0 Authorization Server Metadata: absent means client_secret_basic.
        token_endpoint_auth_methods=_str_list(document.get("token_endpoint_auth_methods_supported"))
        or ("client_secret_basic",),
        id_token_algs=algs,
    )
    _discovery_cache[issuer] = (time.monotonic(), metadata)
    return metadata


async def get_signing_keys(metadata: ProviderMetadata, *, refresh: bool = False) -> KeySet:
    """The provider's JWKS (cached). ``refresh`` refetches unless we fetched very recently."""
    cached = _jwks_cache.get(metadata.issuer)
    now = time.monotonic()
    if cached:
        age = now - cached[0]
        if (not refresh and age < JWKS_TTL_S) or (refresh and age < JWKS_MIN_REFETCH_S):
            return cached[1]
    document = await _get_json(metadata.jwks_uri, "JWKS")
    keys_value = document.get("keys")
    if not isinstance(keys_value, list):
        raise OIDCProviderError("The identity provider's JWKS has no 'keys' list")
    try:
        key_set = KeySet.import_key_set({"keys": keys_value})
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OIDCProviderError("The identity provider's JWKS holds no usable key") from exc
    _jwks_cache[metadata.issuer] = (now, key_set)
    return key_set


def choose_client_auth_method(metadata: ProviderMetadata, has_secret: bool) -> str:
    if not has_secret:
        return "none"
    for method in ("client_secret_basic", "client_secret_post"):
        if method in metadata.token_endpoint_auth_methods:
            return method
    raise OIDCProviderError(
        "The identity provider supports neither client_secret_basic nor client_secret_post "
        f"(it offers {', '.join(metadata.token_endpoint_auth_methods)[:200]})"
    )


async def exchange_code(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> str:
    """Trade the authorization code (with the PKCE verifier) for tokens; returns the raw ID token."""
    auth_method = choose_client_auth_method(metadata, client_secret is not None)
    client = AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=auth_method,
        timeout=HTTP_TIMEOUT_S,
        follow_redirects=False,
    )
    try:
        async with client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            )
    except OAuthError as exc:
        error = _safe_code(getattr(exc, "error", None))
        log.info("oidc_token_exchange_refused", error=error)
        if error in ("invalid_client", "unauthorized_client"):
            raise OIDCProviderError(
                f"The identity provider rejected our client credentials ({error}); "
                "check LXCM_OIDC_CLIENT_ID and LXCM_OIDC_CLIENT_SECRET"
            ) from exc
        # invalid_grant & co: a used, expired or forged code, or a PKCE mismatch.
        raise OIDCCodeRejected(
            f"The identity provider refused the authorization code ({error}); start the login again"
        ) from exc
    except _TRANSPORT_ERRORS as exc:
        log.warning("oidc_provider_unreachable", what="token endpoint", error_type=type(exc).__name__)
        raise OIDCProviderUnavailable("The identity provider's token endpoint cannot be reached") from exc
    except _UNUSABLE_ANSWER_ERRORS as exc:
        raise OIDCProviderError("The identity provider's token endpoint returned an unusable answer") from exc
    id_token = token.get("id_token") if isinstance(token, Mapping) else None
    if not isinstance(id_token, str) or not id_token:
        raise OIDCProviderError("The identity provider returned no ID token (is the 'openid' scope allowed?)")
    return id_token


def _safe_code(value: object) -> str:
    text = str(value or "unknown_error")[:64]
    return "".join(c for c in text if c.isalnum() or c in "_.-") or "unknown_error"


def validate_id_token(
    id_token: str,
    keys: KeySet,
    metadata: ProviderMetadata,
    *,
    client_id: str,
    nonce: str,
    now: int | None = None,
) -> IDTokenClaims:
    """Signature, alg, iss, aud/azp, exp/iat (with leeway), sub and nonce. Raises ``UnknownSigningKey``
    when the key id is not in ``keys`` (the caller refetches the JWKS once), ``OIDCTokenInvalid`` otherwise."""
    try:
        header = jws.extract_compact(id_token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise OIDCTokenInvalid("The ID token is malformed") from exc
    alg = header.get("alg")
    if alg not in metadata.id_token_algs:
        raise OIDCTokenInvalid(f"The ID token is signed with an algorithm we do not accept ({str(alg)[:20]!r})")
    kid = header.get("kid")
    try:
        key = keys.get_by_kid(kid if isinstance(kid, str) else None)
    except InvalidKeyIdError as exc:
        raise UnknownSigningKey(str(kid)[:100]) from exc
    try:
        claims = jwt.decode(id_token, key, algorithms=[alg]).claims
    except BadSignatureError as exc:
        raise OIDCTokenInvalid("The ID token's signature does not verify against the provider's keys") from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise OIDCTokenInvalid("The ID token cannot be decoded") from exc

    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_LEEWAY_S,
        iss={"essential": True, "value": metadata.issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise OIDCTokenInvalid("The ID token has expired") from exc
    except MissingClaimError as exc:
        raise OIDCTokenInvalid(f"The ID token lacks required claims ({exc.claim[:60]})") from exc
    except InvalidClaimError as exc:
        raise OIDCTokenInvalid(_claim_problem(exc.claim)) from exc
    except JoseError as exc:
        raise OIDCTokenInvalid("The ID token's claims are invalid") from exc

    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    # OIDC Core 3.1.3.7: with several audiences azp must be present, and when present it must be us.
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise OIDCTokenInvalid("The ID token was issued to another client (azp)")
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
        raise OIDCTokenInvalid("The ID token's nonce does not match this login")
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise OIDCTokenInvalid("The ID token's subject is empty or too long")
    return IDTokenClaims(
        issuer=metadata.issuer,
        subject=subject,
        email=_short_str(claims.get("email"), 320),
        email_verified=claims.get("email_verified") is True,
        preferred_username=_short_str(claims.get("preferred_username"), 200),
        name=_short_str(claims.get("name"), 200),
    )


def _claim_problem(claim: str) -> str:
    return {
        "iss": "The ID token was issued by another issuer",
        "aud": "The ID token was issued for another client (aud)",
        "iat": "The ID token was issued in the future (check the clocks)",
        "nbf": "The ID token is not valid yet (check the clocks)",
    }.get(claim, f"The ID token's '{claim[:20]}' claim is invalid")


def _short_str(value: object, limit: int) -> str | None:
    # IdP-supplied text ends up in the UI and logs: drop control characters.
    if isinstance(value, str):
        clean = "".join(c for c in value if c.isprintable()).strip()
        return clean[:limit] or None
    return None
