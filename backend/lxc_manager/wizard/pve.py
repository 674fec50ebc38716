"""A Proxmox client for one visible node, with PVE failures turned into clear API errors (never a 500).

- node offline (595/596), unreachable or timing out, transient 5xx → 503
- TLS pin mismatch, rejected token, missing privilege, any other PVE answer → 502 (the gateway's fault)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar

from lxc_manager.core.errors import AppError, ServiceUnavailable
from lxc_manager.core.logging import get_logger
from lxc_manager.integrations.proxmox import (
    ProxmoxAPIError,
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxNodeOffline,
    ProxmoxPermissionError,
    ProxmoxTLSError,
    ProxmoxTransientError,
)
from lxc_manager.nodes.connection import NodeConnection

log = get_logger(__name__)

WIZARD_TIMEOUT_S = 15.0


class BadGateway(AppError):
    status_code: ClassVar[int] = 502
    code: ClassVar[str] = "bad_gateway"
    default_detail: ClassVar[str] = "The Proxmox node gave an unexpected answer"


def translate(exc: ProxmoxError, node_name: str) -> AppError:
    """The API error for a failed call to ``node_name``'s Proxmox API (messages name no secret)."""
    where = f"node {node_name!r}"
    if isinstance(exc, ProxmoxNodeOffline):
        return ServiceUnavailable(f"Proxmox reports {where} as offline (HTTP {exc.status}); try again later",
                                  code="node_offline")  # fmt: skip
    if isinstance(exc, ProxmoxTLSError):
        return BadGateway(
            f"The TLS certificate of {where} is not the pinned one; an admin must check and update the node",
            code="node_tls_error",
        )
    if isinstance(exc, ProxmoxConnectionError):
        return ServiceUnavailable(f"Cannot reach {where} (refused, unreachable or timed out)", code="node_unreachable")
    if isinstance(exc, ProxmoxTransientError):
        return ServiceUnavailable(f"{where} is temporarily unavailable (HTTP {exc.status})", code="node_busy")
    if isinstance(exc, ProxmoxAuthError):
        return BadGateway(
            f"Proxmox rejected the API token of {where}; an admin must update it", code="node_auth_failed"
        )
    if isinstance(exc, ProxmoxPermissionError):
        return BadGateway(f"The API token of {where} lacks a privilege: {exc.reason}"[:500], code="node_permission")
    if isinstance(exc, ProxmoxAPIError):
        return BadGateway(f"{where} answered HTTP {exc.status}: {exc.reason}"[:500], code="node_error")
    return BadGateway(f"{where}: {exc}"[:500], code="node_error")


@asynccontextmanager
async def node_client(connection: NodeConnection) -> AsyncIterator[ProxmoxClient]:
    """A short-lived client for ``connection``; Proxmox errors leave it as :func:`translate`'s API errors."""
    try:
        async with connection.proxmox_client(timeout=WIZARD_TIMEOUT_S) as client:
            yield client
    except ProxmoxError as exc:
        log.info("pve_call_failed", node_id=connection.node_id, error_type=type(exc).__name__)
        raise translate(exc, connection.name) from None
