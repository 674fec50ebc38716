"""Recording containers and their credentials. Credential values are AES-GCM encrypted, bound to their row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.auth.principal import Principal
from lxc_manager.containers.repository import ContainerRepository
from lxc_manager.core.config import Settings
from lxc_manager.core.crypto import load_keyring, secret_context
from lxc_manager.core.errors import NotFound
from lxc_manager.core.models import new_id
from lxc_manager.models import Container, ContainerCredential, Deployment

CREDENTIAL_TABLE = "container_credentials"
CREDENTIAL_COLUMN = "value"


def credential_context(credential_id: str) -> bytes:
    return secret_context(CREDENTIAL_TABLE, credential_id, CREDENTIAL_COLUMN)


async def upsert_for_deployment(db: AsyncSession, deployment: Deployment, *, status: str, **fields: Any) -> Container:
    """The container row of ``deployment`` (one per deployment; a re-run updates it). Flushes only."""
    if deployment.vmid is None or deployment.pve_node is None:
        raise ValueError("a container is recorded only once the deployment has a vmid")
    repo = ContainerRepository(db)
    container = await repo.by_deployment(deployment.id)
    if container is None:
        container = Container(
            id=new_id(),
            deployment_id=deployment.id,
            node_id=deployment.node_id,
            pve_node=deployment.pve_node,
            vmid=deployment.vmid,
            hostname=deployment.hostname or deployment.template_name,
            template_name=deployment.template_name,
            template_revision=deployment.template_revision,
        )
        repo.add(container)
    container.ip_address = deployment.ip_address
    container.status = status
    for name, value in fields.items():
        setattr(container, name, value)
    await repo.flush()
    return container


async def store_credential(
    db: AsyncSession, settings: Settings, container: Container, name: str, value: str, description: str | None
) -> ContainerCredential:
    """Encrypt and store (or replace) one captured credential; the plaintext is never stored or logged."""
    repo = ContainerRepository(db)
    credential = await repo.credential(container.id, name)
    if credential is None:
        credential = ContainerCredential(id=new_id(), container_id=container.id, name=name, value_enc=b"")
        repo.add(credential)
    credential.description = description
    credential.value_enc = load_keyring(settings).encrypt(value, credential_context(credential.id))
    await repo.flush()
    return credential


def reveal_credential(settings: Settings, credential: ContainerCredential) -> str:
    return load_keyring(settings).decrypt_text(credential.value_enc, credential_context(credential.id))


async def list_visible(db: AsyncSession, principal: Principal, *, limit: int, offset: int) -> list[Container]:
    """Containers on nodes the caller may see (all for admins), like nodes and deployments."""
    user_id = None if principal.is_admin else principal.user.id
    return list(await ContainerRepository(db).visible(user_id, limit=limit, offset=offset))


async def get_visible(db: AsyncSession, principal: Principal, container_id: str) -> Container:
    user_id = None if principal.is_admin else principal.user.id
    container = await ContainerRepository(db).get_visible(container_id, user_id)
    if container is None:
        raise NotFound("Container not found")
    return container


async def credential_names(db: AsyncSession, container: Container) -> list[dict[str, str | None]]:
    """Names and descriptions of the stored credentials — never their values."""
    rows = await ContainerRepository(db).credentials(container.id)
    return [{"name": row.name, "description": row.description} for row in rows]


async def reveal_for(
    db: AsyncSession, settings: Settings, principal: Principal, container_id: str, name: str, client_ip: str | None
) -> tuple[ContainerCredential, str]:
    """Decrypt one credential of a container the caller may see, and audit who saw which one (never the value).

    A container on a node the caller may not use answers 404 like ``get_container``; an unknown name too.
    """
    container = await get_visible(db, principal, container_id)
    credential = await ContainerRepository(db).credential(container.id, name)
    if credential is None:
        raise NotFound("Credential not found")
    value = reveal_credential(settings, credential)
    audit.record(
        db,
        "container.credential.reveal",
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="container",
        target_id=container.id,
        client_ip=client_ip,
        details={"credential": credential.name, "hostname": container.hostname, "vmid": container.vmid},
    )
    return credential, value
