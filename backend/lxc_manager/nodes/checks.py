"""Connection checks of a node: address policy, reachability, TLS trust, token, PVE version, privileges, SSH.

Findings are reported in plain words; upstream error bodies are never echoed (only status codes and our own
messages), because the node's answers are untrusted input. A pinned-fingerprint mismatch fails inside the TLS
handshake hook of the Proxmox client, before any HTTP byte (and so the Authorization header) is written.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import asyncssh
import httpx

from lxc_manager.core.config import Settings
from lxc_manager.integrations.proxmox import (
    ProxmoxAPIError,
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxNodeOffline,
    ProxmoxPermissionError,
    ProxmoxTimeout,
    ProxmoxTLSError,
)
from lxc_manager.integrations.proxmox.client import missing_privileges as pve_missing_privileges
from lxc_manager.integrations.proxmox.session import RetryPolicy
from lxc_manager.nodes.connection import NodeConnection
from lxc_manager.nodes.schemas import NodeCheck, NodeTestResult
from lxc_manager.nodes.urls import AddressRefused, check_api_url, check_host

MIN_PVE_MAJOR = 8
TEST_TIMEOUT_S = 45.0
SSH_TIMEOUT_S = 15.0
REQUEST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_NODE_NAME_RE = re.compile(r"^[A-Za-z0-9-]{1,63}$")
_VM_SCOPES = ("/vms", "/pool")
_DESCENDANTS_ONLY = frozenset({"/pool"})


@dataclass(frozen=True)
class Requirement:
    privilege: str
    scopes: tuple[str, ...]  # effective at one of these paths, or granted somewhere below one
    purpose: str


def required_privileges(pve_node: str) -> tuple[Requirement, ...]:
    """What the product needs from the token (docs/security.md lists the same role)."""
    return (
        Requirement("VM.Allocate", _VM_SCOPES, "create and delete containers"),
        Requirement("VM.Audit", _VM_SCOPES, "read container status and configuration"),
        Requirement("VM.Config.Disk", _VM_SCOPES, "size container disks"),
        Requirement("VM.Config.CPU", _VM_SCOPES, "set CPU cores"),
        Requirement("VM.Config.Memory", _VM_SCOPES, "set memory and swap"),
        Requirement("VM.Config.Network", _VM_SCOPES, "configure container network interfaces"),
        Requirement("VM.Config.Options", _VM_SCOPES, "set hostname, tags and other options"),
        Requirement("VM.PowerMgmt", _VM_SCOPES, "start, stop and reboot containers"),
        Requirement("VM.Snapshot", _VM_SCOPES, "take and remove snapshots"),
        Requirement("Datastore.AllocateSpace", ("/storage",), "allocate container disks on a storage"),
        Requirement("Datastore.AllocateTemplate", ("/storage",), "download container templates"),
        Requirement("Datastore.Audit", ("/storage",), "list storages and templates"),
        Requirement("SDN.Use", ("/sdn/zones",), "attach containers to bridges (required since PVE 8)"),
        Requirement("Sys.Audit", (f"/nodes/{pve_node}",), "read node status, networks and metrics"),
    )


def _granted_within(permissions: dict[str, dict[str, int]], scope: str, privilege: str) -> bool:
    """Effective at ``scope`` (PVE's rule: the most specific entry decides, ancestors only when propagated), or
    granted on a path below it (one bridge, one storage, one pool: enough for the dashboard to work there)."""
    # "/pool" only groups the real pool paths: what "/" propagates there says nothing about pool membership.
    if scope not in _DESCENDANTS_ONLY and not pve_missing_privileges(permissions, scope, [privilege]):
        return True
    prefix = scope.rstrip("/") + "/"
    return any(path.startswith(prefix) and privilege in privileges for path, privileges in permissions.items())


def missing_privileges(permissions: dict[str, dict[str, int]], pve_node: str) -> list[Requirement]:
    """Requirements not met by ``GET /access/permissions`` (path → {privilege: propagate})."""
    return [
        requirement
        for requirement in required_privileges(pve_node)
        if not any(_granted_within(permissions, scope, requirement.privilege) for scope in requirement.scopes)
    ]


@dataclass
class TestFindings:
    checks: list[NodeCheck] = field(default_factory=list)
    version: str | None = None
    missing: list[str] = field(default_factory=list)
    pin_mismatch: dict[str, str | None] | None = None

    def add(self, name: str, ok: bool, message: str) -> None:
        self.checks.append(NodeCheck(name=name, ok=ok, message=message))

    def result(self) -> NodeTestResult:
        ok = bool(self.checks) and all(check.ok for check in self.checks)
        return NodeTestResult(ok=ok, checks=self.checks, version=self.version, missing_privileges=self.missing)


def _tls_success(mode: str) -> str:
    return {
        "fingerprint": "The certificate matches the pinned SHA-256 fingerprint.",
        "ca_bundle": "The certificate is signed by the pinned CA bundle and matches the host name.",
    }.get(mode, "The certificate is trusted by the system CA store and matches the host name.")


def _version_check(findings: TestFindings, version: str) -> None:
    findings.version = version
    match = re.match(r"^(\d+)\.", version)
    major = int(match.group(1)) if match else 0
    if major >= MIN_PVE_MAJOR:
        findings.add("version", True, f"Proxmox VE {version}.")
    else:
        findings.add("version", False, f"Proxmox VE {version} is older than {MIN_PVE_MAJOR}.0, the oldest supported.")


def _api_failure(findings: TestFindings, exc: ProxmoxAPIError, what: str) -> None:
    if isinstance(exc, ProxmoxAuthError):
        findings.add(
            "authentication",
            False,
            "Proxmox rejected the API token (401). Check the token id and secret, and that the token is "
            "neither expired nor deleted.",
        )
    elif isinstance(exc, ProxmoxNodeOffline):
        findings.add("reachability", False, f"Proxmox reports the node as offline (HTTP {exc.status}).")
    elif isinstance(exc, ProxmoxPermissionError):
        findings.add(what, False, f"Proxmox refused to {what.replace('_', ' ')} for this token (HTTP 403).")
    else:
        findings.add(what, False, f"Proxmox answered HTTP {exc.status} while reading the {what.replace('_', ' ')}.")


async def _connection_checks(client: ProxmoxClient, findings: TestFindings, tls_mode: str, pve_node: str) -> None:
    try:
        version = await client.version()
    except ProxmoxTLSError as exc:
        findings.add("reachability", True, "The node accepts TCP connections.")
        if exc.expected_fingerprint:
            findings.pin_mismatch = {"expected": exc.expected_fingerprint, "actual": exc.actual_fingerprint}
            findings.add(
                "tls",
                False,
                f"The node presented a certificate with SHA-256 fingerprint {exc.actual_fingerprint}, which does "
                f"not match the pinned {exc.expected_fingerprint}. No credential was sent. If the certificate was "
                "renewed on purpose, probe it again and update the node's fingerprint.",
            )
        else:
            findings.add(
                "tls", False, "The node's certificate is not trusted (TLS verification failed); no credential was sent."
            )
        return
    except ProxmoxTimeout:
        findings.add("reachability", False, "The node did not answer in time (connection or read timeout).")
        return
    except ProxmoxConnectionError:
        findings.add("reachability", False, "Cannot connect to the node's API address (refused or unreachable).")
        return
    except ProxmoxAPIError as exc:
        findings.add("reachability", True, "The node answered.")
        findings.add("tls", True, _tls_success(tls_mode))
        _api_failure(findings, exc, "version")
        return
    findings.add("reachability", True, "The node answered.")
    findings.add("tls", True, _tls_success(tls_mode))
    findings.add("authentication", True, "Proxmox accepted the API token.")
    _version_check(findings, version.version)
    await _node_name_check(client, findings, pve_node)
    await _privilege_check(client, findings, pve_node)


async def _node_name_check(client: ProxmoxClient, findings: TestFindings, pve_node: str) -> None:
    try:
        names = sorted(entry.node for entry in await client.nodes() if _NODE_NAME_RE.match(entry.node))
    except ProxmoxAPIError as exc:
        _api_failure(findings, exc, "node_list")
        return
    if pve_node in names:
        findings.add("node", True, f"Proxmox has a node named {pve_node!r}.")
    else:
        shown = ", ".join(names[:20]) or "none"
        findings.add("node", False, f"Proxmox has no node named {pve_node!r} (it has: {shown}); set pve_node.")


async def _privilege_check(client: ProxmoxClient, findings: TestFindings, pve_node: str) -> None:
    try:
        permissions = await client.permissions()
    except ProxmoxAPIError as exc:
        _api_failure(findings, exc, "privileges")
        return
    missing = missing_privileges(permissions, pve_node)
    findings.missing = [requirement.privilege for requirement in missing]
    if not missing:
        findings.add("privileges", True, "The token has every privilege the dashboard needs.")
        return
    needs = "; ".join(f"{r.privilege} on {' or '.join(r.scopes)} (to {r.purpose})" for r in missing)
    findings.add(
        "privileges",
        False,
        f"The token lacks: {needs}. A privilege-separated token gets only the privileges granted to the token "
        "itself, intersected with its user's; see docs/security.md for the minimal role.",
    )


async def _ssh_check(findings: TestFindings, connection: NodeConnection, settings: Settings) -> None:
    """Log in over SSH with the stored key, accepting only the pinned host key; nothing is run."""
    if connection.ssh_private_key is None:
        return  # SSH not configured: nothing to check
    target = f"{connection.ssh_user}@{connection.ssh_host}:{connection.ssh_port}"
    if not connection.ssh_host_key:
        findings.add("ssh", False, "An SSH key is stored but no SSH host key is pinned; pin the node's host key.")
        return
    try:
        await check_host(connection.ssh_host, settings)
    except AddressRefused as exc:
        findings.add("ssh", False, f"The SSH address is not allowed: {exc}.")
        return
    try:
        async with asyncio.timeout(SSH_TIMEOUT_S):
            ssh = await asyncssh.connect(
                connection.ssh_host,
                connection.ssh_port,
                username=connection.ssh_user,
                client_keys=[asyncssh.import_private_key(connection.ssh_private_key)],
                known_hosts=([asyncssh.import_public_key(connection.ssh_host_key)], [], []),
                agent_path=None,
                config=[],  # no ~/.ssh/config of the service account
                preferred_auth="publickey",
            )
            ssh.close()
            await ssh.wait_closed()
    except asyncssh.HostKeyNotVerifiable:
        findings.add(
            "ssh", False, f"The SSH host key of {target} does not match the pinned key; nothing was sent or run."
        )
    except asyncssh.PermissionDenied:
        findings.add("ssh", False, f"{target} refused the stored SSH key.")
    except (TimeoutError, OSError, asyncssh.Error):
        findings.add("ssh", False, f"Cannot open an SSH session to {target} (refused, unreachable or timed out).")
    else:
        findings.add("ssh", True, f"SSH login to {target} works and the host key matches the pinned key.")


async def _api_checks(findings: TestFindings, connection: NodeConnection, transport: Any) -> None:
    try:
        client = ProxmoxClient(
            connection.api_url,
            connection.token_id,
            connection.token_secret,
            tls=connection.tls,
            transport=transport,
            timeout=REQUEST_TIMEOUT,
            retries=RetryPolicy(retries=1),
            max_concurrency=1,
        )
    except ValueError:  # e.g. a CA bundle OpenSSL refuses to load
        findings.add("tls", False, "The node's TLS settings cannot be loaded (check the CA bundle).")
        return
    try:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            await _connection_checks(client, findings, connection.tls.mode, connection.pve_node)
    except TimeoutError:
        findings.add("reachability", False, f"The checks did not finish within {TEST_TIMEOUT_S:.0f} s.")
    except (ProxmoxError, ValueError):  # ValueError: pydantic refused a malformed answer
        findings.add("answer", False, "The node gave an answer the dashboard could not understand.")
    finally:
        await client.aclose()


async def run_node_test(
    connection: NodeConnection, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> TestFindings:
    """Address policy first; then the API checks (each needs the previous one) and, if configured, SSH."""
    findings = TestFindings()
    try:
        await check_api_url(connection.api_url, settings)
    except AddressRefused as exc:
        findings.add("address", False, f"The API address is not allowed: {exc}.")
        return findings
    findings.add("address", True, "The API address is allowed.")
    await _api_checks(findings, connection, transport)
    await _ssh_check(findings, connection, settings)
    return findings
