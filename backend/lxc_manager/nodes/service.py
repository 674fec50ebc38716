"""The node registry: CRUD with encrypted secrets, per-user visibility, access grants, probe and test.

Other domains use :func:`get_visible_node`, :func:`list_visible_nodes` and :func:`node_connection`.
Visibility rule: admins see every node; everyone else only nodes granted to them, and any other node
answers 404 exactly as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.auth.principal import Principal
from lxc_manager.core.config import Settings
from lxc_manager.core.crypto import Keyring
from lxc_manager.core.errors import Conflict, FieldError, NotFound, UnprocessableEntity
from lxc_manager.core.logging import get_logger
from lxc_manager.core.models import new_id, utcnow
from lxc_manager.integrations.proxmox import ProxmoxError, ProxmoxTLSError, fetch_certificate
from lxc_manager.models import Node, NodeAccess, TLSMode, User
from lxc_manager.nodes.checks import TestFindings, run_node_test
from lxc_manager.nodes.connection import (
    ENCRYPTED_COLUMNS,
    NodeConnection,
    keyring_for,
    node_connection,
    node_secret_context,
)
from lxc_manager.nodes.repository import NodeRepository
from lxc_manager.nodes.schemas import CertificateOut, NodeAccessOut, NodeCreate, NodeTestResult, NodeUpdate
from lxc_manager.nodes.urls import AddressRefused, check_api_url, check_host

log = get_logger(__name__)

# The API other domains use (connection helpers re-exported from nodes.connection).
__all__ = [
    "ENCRYPTED_COLUMNS",
    "NodeConnection",
    "get_visible_node",
    "list_visible_nodes",
    "node_connection",
    "node_secret_context",
]

NODE_NOT_FOUND = "Node not found"
PROBE_TIMEOUT_S = 5.0


# ------------------------------------------------------------------------------------------------ reading


async def list_visible_nodes(db: AsyncSession, principal: Principal) -> Sequence[Node]:
    repo = NodeRepository(db)
    if principal.is_admin:
        return await repo.list_all()
    return await repo.list_granted(principal.user.id)


async def get_visible_node(db: AsyncSession, principal: Principal, node_id: str) -> Node:
    """The node if ``principal`` may see it; otherwise 404, indistinguishable from a missing node."""
    repo = NodeRepository(db)
    node = await repo.get(node_id) if principal.is_admin else await repo.get_granted(node_id, principal.user.id)
    if node is None:
        raise NotFound(NODE_NOT_FOUND)
    return node


async def get_node_for_admin(db: AsyncSession, node_id: str) -> Node:
    node = await NodeRepository(db).get(node_id)
    if node is None:
        raise NotFound(NODE_NOT_FOUND)
    return node


# ------------------------------------------------------------------------------------------------ writing


def _invalid(field_name: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field_name}: {message}", fields=[FieldError(loc=["body", field_name], msg=message, type="value_error")]
    )


async def checked_api_url(url: str, settings: Settings) -> str:
    try:
        return await check_api_url(url, settings)
    except AddressRefused as exc:
        raise _invalid("api_url", str(exc)) from None


async def _checked_ssh_host(host: str, settings: Settings) -> str:
    try:
        return await check_host(host, settings)
    except AddressRefused as exc:
        raise _invalid("ssh_host", str(exc)) from None


def _apply_tls(node: Node, mode: TLSMode, fingerprint: str | None, ca_bundle: str | None, explicit: set[str]) -> None:
    """Keep only the trust material of the chosen mode; a mode without its material is refused."""
    if mode == TLSMode.fingerprint:
        if "tls_ca_bundle" in explicit and ca_bundle:
            raise _invalid("tls_ca_bundle", "only used with tls_mode 'ca_bundle'")
        if not fingerprint:
            raise _invalid(
                "tls_fingerprint",
                "tls_mode 'fingerprint' needs the certificate's SHA-256 fingerprint; get it from "
                "POST /api/v1/nodes/probe-certificate, check it, and send it here",
            )
        node.tls_fingerprint, node.tls_ca_bundle = fingerprint, None
    elif mode == TLSMode.ca_bundle:
        if "tls_fingerprint" in explicit and fingerprint:
            raise _invalid("tls_fingerprint", "only used with tls_mode 'fingerprint'")
        if not ca_bundle:
            raise _invalid("tls_ca_bundle", "tls_mode 'ca_bundle' needs the PEM CA certificate(s) of the node")
        node.tls_fingerprint, node.tls_ca_bundle = None, ca_bundle
    else:
        for name, value in (("tls_fingerprint", fingerprint), ("tls_ca_bundle", ca_bundle)):
            if name in explicit and value:
                raise _invalid(name, "not used with tls_mode 'system' (the system CA store)")
        node.tls_fingerprint, node.tls_ca_bundle = None, None
    node.tls_mode = mode.value


def _set_secret(keyring: Keyring, node: Node, attribute: str, column: str, value: SecretStr | None) -> None:
    setattr(
        node,
        attribute,
        None if value is None else keyring.encrypt(value.get_secret_value(), node_secret_context(node.id, column)),
    )


async def _flush_unique(repo: NodeRepository, name: str) -> None:
    try:
        await repo.flush()
    except IntegrityError:
        raise Conflict(f"A node named {name!r} already exists") from None


async def create_node(
    db: AsyncSession, settings: Settings, principal: Principal, data: NodeCreate, client_ip: str | None
) -> Node:
    repo = NodeRepository(db)
    api_url = await checked_api_url(data.api_url, settings)
    ssh_host = await _checked_ssh_host(data.ssh_host, settings) if data.ssh_host else None
    if await repo.get_by_name(data.name) is not None:
        raise Conflict(f"A node named {data.name!r} already exists")
    keyring = keyring_for(settings)
    node = Node(
        id=new_id(),  # known before encryption: the ciphertexts are bound to it
        name=data.name,
        api_url=api_url,
        pve_node=data.pve_node,
        token_id=data.token_id,
        ssh_host=ssh_host,
        ssh_port=data.ssh_port,
        ssh_user=data.ssh_user,
        ssh_host_key=data.ssh_host_key,
    )
    _apply_tls(node, data.tls_mode, data.tls_fingerprint, data.tls_ca_bundle, data.model_fields_set)
    _set_secret(keyring, node, "token_secret_enc", "token_secret", data.token_secret)
    _set_secret(keyring, node, "ssh_private_key_enc", "ssh_private_key", data.ssh_private_key)
    repo.add(node)
    await _flush_unique(repo, data.name)
    audit.record(
        db,
        "node.create",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node",
        target_id=node.id,
        client_ip=client_ip,
        details={"name": node.name, "api_url": node.api_url, "tls_mode": node.tls_mode, "token_id": node.token_id},
    )
    return node


# Plain (non-secret, non-TLS) fields an update may set; None clears the ones that are nullable.
_PLAIN_FIELDS = ("name", "pve_node", "token_id", "ssh_port", "ssh_user", "ssh_host_key")
_REQUIRED_FIELDS = {"name", "api_url", "token_id", "token_secret", "ssh_port", "ssh_user", "tls_mode"}


async def update_node(
    db: AsyncSession, settings: Settings, principal: Principal, node: Node, data: NodeUpdate, client_ip: str | None
) -> Node:
    repo = NodeRepository(db)
    given = set(data.model_fields_set)
    for name in given & _REQUIRED_FIELDS:
        if getattr(data, name) is None:
            raise _invalid(name, "cannot be null (omit it to keep the current value)")
    if "name" in given and data.name != node.name:
        other = await repo.get_by_name(data.name or "")
        if other is not None and other.id != node.id:
            raise Conflict(f"A node named {data.name!r} already exists")
    if "api_url" in given and data.api_url is not None:
        node.api_url = await checked_api_url(data.api_url, settings)
    if "ssh_host" in given:
        node.ssh_host = await _checked_ssh_host(data.ssh_host, settings) if data.ssh_host else None
    for name in _PLAIN_FIELDS:
        if name in given:
            setattr(node, name, getattr(data, name))
    if given & {"tls_mode", "tls_fingerprint", "tls_ca_bundle"}:
        mode = data.tls_mode or TLSMode(node.tls_mode)
        fingerprint = data.tls_fingerprint if "tls_fingerprint" in given else node.tls_fingerprint
        ca_bundle = data.tls_ca_bundle if "tls_ca_bundle" in given else node.tls_ca_bundle
        _apply_tls(node, mode, fingerprint, ca_bundle, given)
    keyring = keyring_for(settings)
    if data.token_secret is not None:
        _set_secret(keyring, node, "token_secret_enc", "token_secret", data.token_secret)
    if "ssh_private_key" in given:  # omitted keeps the stored key; null removes it
        _set_secret(keyring, node, "ssh_private_key_enc", "ssh_private_key", data.ssh_private_key)
    if given & {"api_url", "token_id", "token_secret", "tls_mode", "tls_fingerprint", "tls_ca_bundle"}:
        node.last_test_at = node.last_test_ok = None  # the last test no longer describes this configuration
    await _flush_unique(repo, node.name)
    audit.record(
        db,
        "node.update",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node",
        target_id=node.id,
        client_ip=client_ip,
        details={"name": node.name, "fields": sorted(given)},  # field names only, never values
    )
    return node


async def delete_node(db: AsyncSession, principal: Principal, node: Node, client_ip: str | None) -> None:
    repo = NodeRepository(db)
    name = node.name
    await repo.delete(node)
    try:
        await repo.flush()
    except IntegrityError:
        raise Conflict(f"Node {name!r} is still in use (e.g. by containers); remove those first") from None
    audit.record(
        db,
        "node.delete",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node",
        target_id=node.id,
        client_ip=client_ip,
        details={"name": name},
    )


# ------------------------------------------------------------------------------------------------ access


def _access_out(access: NodeAccess, user: User) -> NodeAccessOut:
    return NodeAccessOut(user_id=user.id, username=user.username, role=user.role, granted_at=access.granted_at)


async def list_node_access(db: AsyncSession, node: Node) -> list[NodeAccessOut]:
    return [_access_out(access, user) for access, user in await NodeRepository(db).list_access(node.id)]


async def _require_users(repo: NodeRepository, user_ids: set[str]) -> None:
    found = {user.id for user in await repo.users_by_ids(user_ids)}
    missing = sorted(user_ids - found)
    if missing:
        raise _invalid("user_ids", f"unknown user id(s): {', '.join(missing[:10])}")


async def set_node_access(
    db: AsyncSession, principal: Principal, node: Node, user_ids: Sequence[str], client_ip: str | None
) -> list[NodeAccessOut]:
    """Replace the node's grants with exactly ``user_ids``."""
    repo = NodeRepository(db)
    wanted = set(user_ids)
    await _require_users(repo, wanted)
    current = {access.user_id: access for access, _ in await repo.list_access(node.id)}
    added = sorted(wanted - current.keys())
    removed = sorted(current.keys() - wanted)
    for user_id in removed:
        await repo.delete_access(current[user_id])
    for user_id in added:
        repo.add_access(node.id, user_id)
    await repo.flush()
    audit.record(
        db,
        "node.access.set",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node",
        target_id=node.id,
        client_ip=client_ip,
        details={"name": node.name, "granted": added, "revoked": removed},
    )
    return await list_node_access(db, node)


async def grant_node_access(
    db: AsyncSession, principal: Principal, node: Node, user_id: str, client_ip: str | None
) -> NodeAccessOut:
    repo = NodeRepository(db)
    users = await repo.users_by_ids([user_id])
    if not users:
        raise NotFound("User not found")
    access = await repo.get_access(node.id, user_id)
    if access is None:
        access = repo.add_access(node.id, user_id)
        await repo.flush()
        audit.record(
            db,
            "node.access.grant",
            actor_id=principal.user.id,
            actor_name=principal.user.username,
            target_type="node",
            target_id=node.id,
            client_ip=client_ip,
            details={"name": node.name, "user_id": user_id, "username": users[0].username},
        )
    return _access_out(access, users[0])


async def revoke_node_access(
    db: AsyncSession, principal: Principal, node: Node, user_id: str, client_ip: str | None
) -> None:
    repo = NodeRepository(db)
    access = await repo.get_access(node.id, user_id)
    if access is None:
        raise NotFound("This user has no access to this node")
    await repo.delete_access(access)
    await repo.flush()
    audit.record(
        db,
        "node.access.revoke",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node",
        target_id=node.id,
        client_ip=client_ip,
        details={"name": node.name, "user_id": user_id},
    )


# ------------------------------------------------------------------------------------------------ checks


async def probe_certificate(settings: Settings, api_url: str) -> CertificateOut:
    """Fetch the leaf certificate of ``api_url`` (TLS handshake only: no HTTP request, no credential)."""
    url = await checked_api_url(api_url, settings)
    try:
        info = await fetch_certificate(url, timeout=PROBE_TIMEOUT_S)
    except ProxmoxTLSError:
        raise UnprocessableEntity(f"The TLS handshake with {url} failed", code="tls_error") from None
    except ProxmoxError:
        raise UnprocessableEntity(
            f"Cannot connect to {url} (refused, unreachable or timed out)", code="node_unreachable"
        ) from None
    return CertificateOut(
        api_url=url,
        fingerprint_sha256=info.fingerprint_sha256,
        subject=info.subject,
        issuer=info.issuer,
        not_before=info.not_before,
        not_after=info.not_after,
        san=info.san,
    )


def record_probe(db: AsyncSession, principal: Principal, probe: CertificateOut, client_ip: str | None) -> None:
    audit.record(
        db,
        "node.probe_certificate",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node_url",
        target_id=probe.api_url[:64],
        client_ip=client_ip,
        details={"api_url": probe.api_url, "fingerprint_sha256": probe.fingerprint_sha256},
    )


async def run_test(settings: Settings, connection: NodeConnection) -> TestFindings:
    return await run_node_test(connection, settings)


async def record_test(
    db: AsyncSession, principal: Principal, node_id: str, findings: TestFindings, client_ip: str | None
) -> NodeTestResult:
    """Store the outcome on the node (if it still exists) and audit it; a pin mismatch is flagged."""
    result = findings.result()
    node = await get_node_for_admin(db, node_id)
    node.last_test_at = utcnow()
    node.last_test_ok = result.ok
    if findings.version is not None:
        node.pve_version = findings.version[:64]
    await NodeRepository(db).flush()
    details: dict[str, Any] = {
        "name": node.name,
        "failed_checks": [check.name for check in result.checks if not check.ok],
        "missing_privileges": result.missing_privileges,
    }
    if findings.pin_mismatch is not None:
        details["tls_pin_mismatch"] = findings.pin_mismatch
    audit.record(
        db,
        "node.test",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="node",
        target_id=node.id,
        outcome="success" if result.ok else "failure",
        client_ip=client_ip,
        details=details,
    )
    if findings.pin_mismatch is not None:
        log.warning("node_tls_pin_mismatch", node_id=node.id, **findings.pin_mismatch)
    return result
