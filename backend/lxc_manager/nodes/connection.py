"""Decrypted node connections: what the Proxmox client and SSH need, built from a node row and the keyring.

``NodeConnection`` holds secrets in memory only: its repr is redacted and it refuses to be pickled, so it
cannot slip into logs or arq job arguments (pass node ids to jobs and decrypt inside them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.core.config import Settings, get_settings
from lxc_manager.core.crypto import Keyring, SecretDecryptionError, load_keyring, secret_context
from lxc_manager.core.errors import ServiceUnavailable
from lxc_manager.core.logging import get_logger
from lxc_manager.integrations.proxmox import ProxmoxClient, TLSConfig
from lxc_manager.models import Node

log = get_logger(__name__)

# Encrypted columns: (column attribute, context column name). Rotation walks this list.
ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("token_secret_enc", "token_secret"),
    ("ssh_private_key_enc", "ssh_private_key"),
)


def node_secret_context(node_id: str, column: str) -> bytes:
    return secret_context("nodes", node_id, column)


@dataclass(frozen=True)
class NodeConnection:
    """What the Proxmox client and SSH need to reach one node, secrets decrypted. Never logged or queued."""

    node_id: str
    name: str
    api_url: str
    pve_node: str
    token_id: str
    token_secret: str = field(repr=False)
    tls: TLSConfig
    ssh_host: str
    ssh_port: int
    ssh_user: str
    ssh_private_key: str | None = field(repr=False)
    ssh_host_key: str | None

    def __repr__(self) -> str:
        return f"NodeConnection(node_id={self.node_id!r}, name={self.name!r}, api_url={self.api_url!r}, secrets=***)"

    __str__ = __repr__

    def proxmox_client(self, **options: Any) -> ProxmoxClient:
        """A Proxmox client for this node with its TLS trust (``options``: timeout, retries, transport, …)."""
        return ProxmoxClient(self.api_url, self.token_id, self.token_secret, tls=self.tls, **options)

    def __reduce__(self) -> Any:
        # Keeps decrypted secrets out of pickles (arq/Redis job arguments); pass node ids instead.
        raise TypeError("NodeConnection holds decrypted secrets and cannot be serialised; pass the node id")


def tls_config(node: Node) -> TLSConfig:
    return TLSConfig(mode=node.tls_mode, ca_bundle_pem=node.tls_ca_bundle, fingerprint_sha256=node.tls_fingerprint)  # type: ignore[arg-type]


def keyring_for(settings: Settings | None) -> Keyring:
    return load_keyring(settings or get_settings())


def decrypt_column(keyring: Keyring, node: Node, attribute: str, column: str) -> str | None:
    blob: bytes | None = getattr(node, attribute)
    if blob is None:
        return None
    try:
        return keyring.decrypt_text(blob, node_secret_context(node.id, column))
    except SecretDecryptionError as exc:
        log.error("node_secret_unreadable", node_id=node.id, column=column, reason=str(exc))
        raise ServiceUnavailable(
            f"The stored {column.replace('_', ' ')} of node {node.name!r} cannot be decrypted "
            "(wrong or retired secret key?); re-enter it or restore the key file",
            code="secret_unreadable",
        ) from None


async def node_connection(db: AsyncSession, node: Node, settings: Settings | None = None) -> NodeConnection:
    """Decrypt ``node``'s secrets for a connection. Pass the app's/job's settings (default: the process settings)."""
    keyring = keyring_for(settings)
    token_secret = decrypt_column(keyring, node, "token_secret_enc", "token_secret")
    if token_secret is None:  # the column is NOT NULL; a missing secret means a broken row
        raise ServiceUnavailable(f"Node {node.name!r} has no API token secret", code="secret_unreadable")
    return NodeConnection(
        node_id=node.id,
        name=node.name,
        api_url=node.api_url,
        pve_node=node.pve_node or node.name,
        token_id=node.token_id,
        token_secret=token_secret,
        tls=tls_config(node),
        ssh_host=node.ssh_host or (urlsplit(node.api_url).hostname or ""),
        ssh_port=node.ssh_port,
        ssh_user=node.ssh_user,
        ssh_private_key=decrypt_column(keyring, node, "ssh_private_key_enc", "ssh_private_key"),
        ssh_host_key=node.ssh_host_key,
    )
