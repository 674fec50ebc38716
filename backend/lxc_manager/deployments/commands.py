"""``lxc-manager deploy TEMPLATE --node NODE``: start a deployment through the API and follow it live.

The API token comes from ``--token-file`` or ``$LXCM_TOKEN`` — never from argv (visible in ``ps``).
Secret template inputs can come from files too (``--set-file KEY=FILE``).

Exit codes: 0 succeeded, 1 failed, 2 bad input (refused request, unknown node, bad arguments),
3 cancelled or anything else (server unreachable, interrupted, …).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import httpx

from lxc_manager.deployments.follow import DeploymentFollower, FollowError, Renderer

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_OTHER = 3
DEFAULT_URL = "http://127.0.0.1:8000"


class UsageError(Exception):
    """Bad arguments or a request the server refused (exit 2)."""


def register(sub: Any) -> None:
    deploy = sub.add_parser(
        "deploy",
        help="start a deployment through the API and follow its progress",
        description="Start a deployment of TEMPLATE on NODE and show its progress (exit 0 succeeded, 1 failed, "
        "2 bad input, 3 cancelled/other). The API token is read from --token-file or $LXCM_TOKEN.",
    )
    deploy.add_argument("template", help="template name")
    deploy.add_argument("--node", required=True, help="node name or id")
    deploy.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a template input")
    deploy.add_argument("--set-file", action="append", default=[], metavar="KEY=FILE",
                        help="a template input read from a file (for secrets)")  # fmt: skip
    deploy.add_argument("--url", default=None, help=f"dashboard URL (default: $LXCM_URL or {DEFAULT_URL})")
    deploy.add_argument("--token-file", type=Path, default=None, help="file holding the API token")
    deploy.add_argument("--hostname", default=None)
    deploy.add_argument("--vmid", type=int, default=None)
    deploy.add_argument("--revision", type=int, default=None, help="template revision (default: current)")
    deploy.add_argument("--storage", default=None, help="root disk storage")
    deploy.add_argument("--disk", type=int, default=None, help="root disk size in GiB")
    deploy.add_argument("--cores", type=int, default=None)
    deploy.add_argument("--memory", type=int, default=None, help="MiB")
    deploy.add_argument("--bridge", default=None)
    deploy.add_argument("--ssh-key-file", action="append", default=[], type=Path, help="public key file(s)")
    deploy.add_argument("--on-failure", choices=("keep", "destroy"), default=None)
    deploy.add_argument("--no-follow", action="store_true", help="print the deployment id and return")
    deploy.set_defaults(func=deploy_command)


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} expects KEY=VALUE, got {item.split('=', 1)[0]!r}")
        pairs.append((key.strip(), value))
    return pairs


def read_token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            lines = token_file.read_text().strip().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        token = lines[0].strip() if lines else ""
    else:
        token = os.environ.get("LXCM_TOKEN", "").strip()
    if not token:
        raise UsageError("no API token: pass --token-file FILE or set LXCM_TOKEN (never on the command line)")
    return token


def build_request(args: argparse.Namespace, node_id: str) -> dict[str, Any]:
    inputs: dict[str, Any] = dict(_pairs(args.set, "--set"))
    for key, path in _pairs(args.set_file, "--set-file"):
        try:
            inputs[key] = Path(path).read_text().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"--set-file {key}: cannot read {path}: {exc.strerror}") from None
    body: dict[str, Any] = {"template": args.template, "node_id": node_id, "inputs": inputs}
    for field, value in (("hostname", args.hostname), ("vmid", args.vmid), ("template_revision", args.revision),
                         ("rootfs_storage", args.storage), ("rootfs_size", args.disk), ("cores", args.cores),
                         ("memory", args.memory), ("on_failure", args.on_failure)):  # fmt: skip
        if value is not None:
            body[field] = value
    if args.bridge:
        body["network"] = {"bridge": args.bridge}
    keys: list[str] = []
    for path in args.ssh_key_file:
        try:
            keys.extend(line.strip() for line in path.read_text().splitlines() if line.strip())
        except OSError as exc:
            raise UsageError(f"--ssh-key-file: cannot read {path}: {exc.strerror}") from None
    if keys:
        body["ssh_public_keys"] = keys
    return body


def _refusal(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    lines = [f"{body.get('error', 'error')}: {body.get('detail', '')}"]
    for field in body.get("fields") or []:
        lines.append(f"  {'.'.join(str(p) for p in field.get('loc', [])[1:])}: {field.get('msg')}")
    return "\n".join(lines)


async def resolve_node(http: httpx.AsyncClient, node: str) -> str:
    response = await http.get("/api/v1/nodes")
    if response.status_code >= 400:
        raise UsageError(f"cannot list nodes: {_refusal(response)}")
    for entry in response.json():
        if node in (entry.get("id"), entry.get("name")):
            return str(entry["id"])
    raise UsageError(f"no node {node!r} visible to this token (see GET /api/v1/nodes)")


def summarize(detail: dict[str, Any], out: TextIO) -> None:
    out.write(f"deployment {detail['id']}: {detail['status']}\n")
    if detail.get("vmid") is not None:
        out.write(f"  container {detail['vmid']} ({detail.get('hostname')}) on {detail.get('node_name')}\n")
    if detail.get("ip_address"):
        out.write(f"  address {detail['ip_address']}\n")
    for link in detail.get("links") or []:
        out.write(f"  {link['name']}: {link['url']}\n")
    if detail.get("error_message"):
        out.write(f"  error ({detail.get('error_code')}): {detail['error_message']}\n")


def exit_code_for(status: str) -> int:
    return {"succeeded": EXIT_SUCCEEDED, "failed": EXIT_FAILED}.get(status, EXIT_OTHER)


async def run_deploy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    token = read_token(args.token_file)
    base_url = (args.url or os.environ.get("LXCM_URL") or DEFAULT_URL).rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "lxc-manager-cli"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120.0) as http:
        body = build_request(args, await resolve_node(http, args.node))
        response = await http.post("/api/v1/deployments", json=body)
        if response.status_code >= 500:
            err.write(f"the server could not start the deployment: {_refusal(response)}\n")
            return EXIT_OTHER
        if response.status_code >= 400:
            raise UsageError(_refusal(response))
        created = response.json()
        deployment_id = created["id"]
        out.write(f"deployment {deployment_id}: {created['template_name']} r{created['template_revision']} "
                  f"on {created['node_name']}\n")  # fmt: skip
        out.flush()
        if args.no_follow:
            return EXIT_SUCCEEDED
        renderer = Renderer(out)
        try:
            await DeploymentFollower(http, deployment_id, renderer).run()
        finally:
            renderer.close()
        final = await http.get(f"/api/v1/deployments/{deployment_id}")
        final.raise_for_status()
        detail = final.json()
        summarize(detail, out)
        return exit_code_for(detail["status"])


def deploy_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run_deploy(args, sys.stdout, sys.stderr))
    except UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    except FollowError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_OTHER
    except httpx.HTTPError as exc:
        sys.stderr.write(f"error: cannot talk to the server ({type(exc).__name__}: {exc})\n")
        return EXIT_OTHER
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; the deployment goes on (POST /api/v1/deployments/ID/cancel stops it)\n")
        return EXIT_OTHER
