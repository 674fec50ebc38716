"""API tokens, ACLs and privilege checks, modelled on pve-access-control.

Semantics kept from PVE: ACL entries sit on paths (``/``, ``/vms/100``, ``/storage/local``,
``/sdn/zones/localnetwork/vmbr0``); the most specific path that carries entries decides (it replaces what is
inherited, it does not add to it); ``propagate=0`` entries apply to their exact path only. A token with privilege
separation gets the intersection of its own ACLs and its user's; without it, the user's. ``root@pam`` has every
privilege. Permission checks take the schema's ``permissions.check`` expressions (``perm``/``and``/``or``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

ALL_PRIVILEGES = frozenset(
    {
        "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
        "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify",
        "Pool.Allocate", "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit",
        "SDN.Use", "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify",
        "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone",
        "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType",
        "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot",
        "VM.Snapshot.Rollback",
    }
)  # fmt: skip

ROLES: dict[str, frozenset[str]] = {
    "Administrator": ALL_PRIVILEGES,
    "NoAccess": frozenset(),
    "PVEAuditor": frozenset(
        {"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit"}
    ),
    "PVEVMAdmin": frozenset(p for p in ALL_PRIVILEGES if p.startswith("VM.")),
    "PVEVMUser": frozenset(
        {"VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.PowerMgmt"}
    ),
    "PVEDatastoreUser": frozenset({"Datastore.AllocateSpace", "Datastore.Audit"}),
    "PVEDatastoreAdmin": frozenset(
        {"Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit"}
    ),
    "PVESDNUser": frozenset({"SDN.Audit", "SDN.Use"}),
    "PVETemplateUser": frozenset({"VM.Audit", "VM.Clone"}),
}

_TOKEN_HEADER_RE = re.compile(r"(?:^|\s)PVEAPIToken(?:=| )([^;]*)")
_TOKEN_ID_RE = re.compile(r"^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$")


class PermissionDenied(Exception):
    """403 ``Permission check failed (<what>)``."""

    def __init__(self, what: str | None) -> None:
        # raise_perm_exc() without an argument (e.g. create_vm) says only "Permission check failed".
        self.message = f"Permission check failed ({what})" if what else "Permission check failed"
        super().__init__(self.message)


@dataclass
class AclEntry:
    path: str
    privileges: frozenset[str]
    propagate: bool = True


@dataclass
class ApiToken:
    userid: str
    tokenid: str
    secret: str
    privsep: bool = True
    acl: list[AclEntry] = field(default_factory=list)
    revoked: bool = False

    @property
    def full_id(self) -> str:
        return f"{self.userid}!{self.tokenid}" if self.tokenid else self.userid

    @property
    def is_token(self) -> bool:
        return bool(self.tokenid)


def session(userid: str) -> ApiToken:
    """A ticket-authenticated user: no token, the user's own privileges."""
    return ApiToken(userid, "", "", privsep=False)


TICKET_LIFETIME = 7200  # pve-access-control: tickets are valid for 2 hours


def normalize_path(path: str) -> str:
    return "/" + "/".join(part for part in path.split("/") if part)


def _levels(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    return ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def effective_from_acl(acl: list[AclEntry], path: str) -> frozenset[str]:
    """Privileges an ACL list grants on ``path`` (most specific level wins; propagate=0 only on exact paths)."""
    path = normalize_path(path)
    current: frozenset[str] = frozenset()
    for level in _levels(path):
        applicable = [e for e in acl if normalize_path(e.path) == level and (e.propagate or level == path)]
        if applicable:
            current = frozenset().union(*(e.privileges for e in applicable))
    return current


def privileges_for(names: list[str]) -> frozenset[str]:
    """Role names and/or privilege names → privileges (unknown names raise ValueError)."""
    result: set[str] = set()
    for name in names:
        if name in ROLES:
            result |= ROLES[name]
        elif name in ALL_PRIVILEGES:
            result.add(name)
        else:
            raise ValueError(f"unknown role or privilege '{name}'")
    return frozenset(result)


class AccessControl:
    """Users' ACLs, API tokens, authentication and privilege evaluation."""

    def __init__(self) -> None:
        self.user_acl: dict[str, list[AclEntry]] = {}
        self.tokens: dict[str, ApiToken] = {}
        self.passwords: dict[str, str] = {}
        self._ticket_key = secrets.token_bytes(32)

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._ticket_key, text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode().rstrip("=")

    def _issue(self, userid: str) -> tuple[str, str]:
        stamp = f"{int(time.time()):08X}"
        plain = f"PVE:{userid}:{stamp}"
        return f"{plain}::{self._sign(plain)}", f"{stamp}:{self._sign(f'{stamp}:{userid}')}"

    def login(self, username: str, password: str) -> tuple[str, str] | None:
        """``POST /access/ticket``: a password, or a still-valid ticket of the same user (renewal)."""
        expected = self.passwords.get(username)
        valid = expected is not None and hmac.compare_digest(expected, password)
        if not valid and password.startswith("PVE:"):
            valid = self.verify_ticket(password) == username
        return self._issue(username) if valid else None

    def verify_ticket(self, ticket: str) -> str | None:
        match = re.fullmatch(r"PVE:([^:]+):([0-9A-F]{8})::(.+)", ticket)
        if not match or not hmac.compare_digest(self._sign(f"PVE:{match.group(1)}:{match.group(2)}"), match.group(3)):
            return None
        if time.time() - int(match.group(2), 16) > TICKET_LIFETIME or match.group(1) not in self.passwords:
            return None
        return match.group(1)

    def verify_csrf(self, userid: str, token: str) -> bool:
        stamp, _, signature = token.partition(":")
        if not re.fullmatch(r"[0-9A-F]{8}", stamp) or time.time() - int(stamp, 16) > TICKET_LIFETIME:
            return False
        return hmac.compare_digest(self._sign(f"{stamp}:{userid}"), signature)

    def add_token(self, token: ApiToken) -> None:
        self.tokens[token.full_id] = token
        self.user_acl.setdefault(token.userid, [])

    def authenticate(self, authorization: str | None) -> ApiToken | None:
        """``Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`` (secret split at the last ``=``)."""
        if not authorization:
            return None
        match = _TOKEN_HEADER_RE.search(authorization)
        if not match:
            return None
        token_id, sep, secret = match.group(1).strip().rpartition("=")
        if not sep or not _TOKEN_ID_RE.match(token_id):
            return None
        token = self.tokens.get(token_id)
        if token is None or token.revoked or not hmac.compare_digest(token.secret, secret):
            return None
        return token

    def privileges(self, token: ApiToken, path: str) -> frozenset[str]:
        if token.userid == "root@pam":
            user_privs = ALL_PRIVILEGES
        else:
            user_privs = effective_from_acl(self.user_acl.get(token.userid, []), path)
        if not token.privsep:
            return user_privs
        return user_privs & effective_from_acl(token.acl, path)

    def has(self, token: ApiToken, path: str, privs: list[str], any_: bool = False) -> bool:
        granted = self.privileges(token, path)
        return any(p in granted for p in privs) if any_ else all(p in granted for p in privs)

    def check(self, token: ApiToken, path: str, privs: list[str], any_: bool = False) -> None:
        """Raise PermissionDenied with PVE's message: the first missing privilege, or ``a|b`` for any-of checks."""
        granted = self.privileges(token, path)
        if any_:
            if not any(p in granted for p in privs):
                raise PermissionDenied(f"{normalize_path(path)}, {'|'.join(privs)}")
            return
        for priv in privs:
            if priv not in granted:
                raise PermissionDenied(f"{normalize_path(path)}, {priv}")

    def evaluate(self, token: ApiToken, expr: list[Any], params: dict[str, Any]) -> None:
        """Evaluate a schema ``permissions.check`` expression; raise PermissionDenied on failure."""
        kind = expr[0]
        if kind == "perm":
            path = _substitute(expr[1], params)
            options = dict(zip(expr[3::2], expr[4::2], strict=False))
            require = options.get("require_param")
            if require and params.get(require) is None:
                raise PermissionDenied(f"{path}, {'|'.join(expr[2])}")
            self.check(token, path, list(expr[2]), any_=bool(options.get("any")))
        elif kind == "and":
            for sub in expr[1:]:
                self.evaluate(token, sub, params)
        elif kind == "or":
            last: PermissionDenied | None = None
            for sub in expr[1:]:
                try:
                    self.evaluate(token, sub, params)
                    return
                except PermissionDenied as exc:
                    last = exc
            if last is not None:
                raise last
        # userid-param / userid-group concern user management endpoints the simulator does not serve.

    def dump(self, token: ApiToken, path: str | None = None) -> dict[str, dict[str, int]]:
        """``GET /access/permissions``: path → {privilege: 1} for the token's effective privileges."""
        if path is not None:
            paths = [normalize_path(path)]
        else:
            acl_paths = {normalize_path(e.path) for e in token.acl}
            acl_paths |= {normalize_path(e.path) for e in self.user_acl.get(token.userid, [])}
            paths = sorted({"/", "/access", "/nodes", "/pool", "/sdn", "/storage", "/vms"} | acl_paths)
        result: dict[str, dict[str, int]] = {}
        for item in paths:
            privs = self.privileges(token, item)
            if privs or path is not None:
                result[item] = dict.fromkeys(sorted(privs), 1)
        return result


def _substitute(template: str, params: dict[str, Any]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(params.get(m.group(1), "")), template)
