"""A small OpenID Connect provider for tests, served by uvicorn over real HTTP on 127.0.0.1.

It implements discovery, JWKS (an RSA key generated per run), an authorize endpoint that auto-approves
``provider.identity`` (recording each request and honouring state, nonce and the PKCE S256 challenge) and a
token endpoint that checks client authentication, single-use codes, the redirect URI and the PKCE verifier
before returning an RS256 ID token. ``provider.misbehave`` makes it lie in the ways a hostile or broken
IdP (or an attacker in the middle) would: wrong issuer, wrong audience, wrong nonce, expired token,
signature from another key, ``error=access_denied``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeyParameters, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class TestIdentity:
    """Who the provider says is signing in."""

    __test__ = False  # not a pytest test class

    sub: str = "idp-user-1"
    email: str | None = "someone@example.test"
    email_verified: bool = True
    preferred_username: str | None = "someone"
    name: str | None = "Some One"


@dataclass
class Misbehaviour:
    discovery_issuer: str | None = None  # issuer advertised in the discovery document
    token_issuer: str | None = None  # "iss" of the ID token
    audience: str | list[str] | None = None  # "aud" of the ID token
    azp: str | None = None
    nonce: str | None = None  # replaces the nonce of the authorization request
    omit_nonce: bool = False
    expired: bool = False
    sign_with_other_key: bool = False  # same kid, another private key: the signature cannot verify
    authorize_error: str | None = None  # e.g. "access_denied"
    omit_id_token: bool = False
    token_endpoint_crash: bool = False  # the token endpoint answers 500 with an HTML page


@dataclass
class TokenRequestRecord:
    client_auth: str | None  # "client_secret_basic", "client_secret_post" or None
    pkce_verified: bool
    outcome: str  # "issued" or the OAuth error code


@dataclass
class _PendingCode:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str
    identity: TestIdentity


def _key_pair() -> tuple[RSAKey, RSAKey]:
    """The signing key and an impostor with the same kid (whose signatures cannot verify)."""
    parameters: KeyParameters = {"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"}
    return RSAKey.generate_key(2048, parameters=parameters), RSAKey.generate_key(2048, parameters=parameters)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass
class OIDCTestProvider:
    client_id: str = "lxcm-test-client"
    client_secret: str = "lxcm-test-client-secret"
    redirect_uris: tuple[str, ...] = ("http://testserver/api/v1/auth/oidc/callback",)
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    identity: TestIdentity = field(default_factory=TestIdentity)
    misbehave: Misbehaviour = field(default_factory=Misbehaviour)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[TokenRequestRecord] = field(default_factory=list)
    jwks_fetches: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self.key, self.other_key = _key_pair()
        self._codes: dict[str, _PendingCode] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    # --- control --------------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Back to a well-behaved provider with the default identity and empty records."""
        with self._lock:
            self.identity = TestIdentity()
            self.misbehave = Misbehaviour()
            self.auth_methods = ("client_secret_basic", "client_secret_post")
            self.authorize_requests.clear()
            self.token_requests.clear()
            self.jwks_fetches = 0
            self._codes.clear()

    def rotate_key(self) -> None:
        """Sign with a brand-new key (new kid) and publish only that one."""
        self.key, self.other_key = _key_pair()

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)

    # --- endpoints ------------------------------------------------------------------------------------

    async def _discovery(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.misbehave.discovery_issuer or self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": list(self.auth_methods),
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    async def _jwks(self, _: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        redirect_uri = params.get("redirect_uri", "")
        # Never redirect to an unregistered URI (that would make the IdP an open redirector).
        if params.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return JSONResponse({"error": "invalid_request", "error_description": "unknown client"}, status_code=400)
        state = params.get("state")

        def back(**values: str) -> Response:
            if state is not None:
                values["state"] = state
            return RedirectResponse(f"{redirect_uri}?{urlencode(values)}", status_code=302)

        if self.misbehave.authorize_error:
            return back(error=self.misbehave.authorize_error, error_description="The user declined the sign-in")
        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return back(error="invalid_request", error_description="PKCE S256 is required")
        if "openid" not in params.get("scope", "").split():
            return back(error="invalid_scope")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _PendingCode(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                nonce=params.get("nonce"),
                code_challenge=params["code_challenge"],
                identity=TestIdentity(**vars(self.identity)),
            )
        return back(code=code)

    def _client_auth(self, request: Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic ") and "client_secret_basic" in self.auth_methods:
            try:
                raw = base64.b64decode(header[6:].strip()).decode()
            except ValueError:
                return None
            user, _, password = raw.partition(":")
            if unquote_plus(user) == self.client_id and unquote_plus(password) == self.client_secret:
                return "client_secret_basic"
            return None
        posted_ok = form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret
        if "client_secret_post" in self.auth_methods and posted_ok:
            return "client_secret_post"
        return None

    async def _token(self, request: Request) -> Response:
        if self.misbehave.token_endpoint_crash:
            return Response("<html>Internal Server Error</html>", status_code=500, media_type="text/html")
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_auth = self._client_auth(request, form)

        def refuse(error: str, status: int = 400) -> Response:
            self.token_requests.append(TokenRequestRecord(client_auth, pkce_verified=False, outcome=error))
            return JSONResponse({"error": error}, status_code=status)

        if client_auth is None:
            return refuse("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return refuse("unsupported_grant_type")
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)  # single use, even when the rest fails
        if pending is None or pending.client_id != self.client_id:
            return refuse("invalid_grant")
        if form.get("redirect_uri") != pending.redirect_uri:
            return refuse("invalid_grant")
        verifier = form.get("code_verifier", "")
        if not verifier or not secrets.compare_digest(_s256(verifier), pending.code_challenge):
            return refuse("invalid_grant")
        self.token_requests.append(TokenRequestRecord(client_auth, pkce_verified=True, outcome="issued"))
        body: dict[str, Any] = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300}
        if not self.misbehave.omit_id_token:
            body["id_token"] = self._id_token(pending)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def _id_token(self, pending: _PendingCode) -> str:
        now = int(time.time())
        issued = now - 7200 if self.misbehave.expired else now
        who = pending.identity
        claims: dict[str, Any] = {
            "iss": self.misbehave.token_issuer or self.issuer,
            "sub": who.sub,
            "aud": self.misbehave.audience if self.misbehave.audience is not None else self.client_id,
            "iat": issued,
            "exp": issued + 300,
            "auth_time": issued,
        }
        if not self.misbehave.omit_nonce:
            claims["nonce"] = self.misbehave.nonce or pending.nonce
        if self.misbehave.azp is not None:
            claims["azp"] = self.misbehave.azp
        for name in ("email", "preferred_username", "name"):
            if getattr(who, name) is not None:
                claims[name] = getattr(who, name)
        claims["email_verified"] = who.email_verified
        key = self.other_key if self.misbehave.sign_with_other_key else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
