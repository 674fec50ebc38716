"""A stored revision resolved into what a deployment executes: packages (buckets expanded), scripts in order,
hooks with their target, files with content, and validated inputs. Pure functions: no DB, no I/O."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxc_manager.templates.format import (
    HookEvent,
    Input,
    InputType,
    TemplateManifest,
    package_name,
)
from lxc_manager.templates.loader import RawFile, decode_files, hook_target, script_order

SECRET_MASK = "********"  # noqa: S105 - the mask shown instead of a secret
GENERATED_PASSWORD_BYTES = 18  # 24 URL-safe characters


@dataclass(frozen=True)
class ResolvedPackage:
    name: str
    spec: str  # what apt-get install receives: ``name`` or ``name=version``
    sources: list[str]  # bucket names and/or "extra"


@dataclass(frozen=True)
class ResolvedScript:
    name: str
    path: str  # relative to the template folder
    content: bytes
    sha256: str


@dataclass(frozen=True)
class ResolvedHook:
    event: HookEvent
    target: str  # "host" or "container"
    name: str
    path: str
    content: bytes
    sha256: str


@dataclass(frozen=True)
class ResolvedFile:
    source: str
    destination: str
    owner: str
    mode: str
    content: bytes
    sha256: str


@dataclass
class PackageResolution:
    packages: list[ResolvedPackage] = field(default_factory=list)
    missing_buckets: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


@dataclass
class ResolvedTemplate:
    """Everything the deployment pipeline runs, in order (see docs/templates.md "Deployment order")."""

    name: str
    revision: int
    content_hash: str
    manifest: TemplateManifest
    packages: PackageResolution
    scripts: list[ResolvedScript]
    hooks: list[ResolvedHook]
    files: list[ResolvedFile]


def resolve_packages(manifest: TemplateManifest, bucket_packages: Mapping[str, list[str]]) -> PackageResolution:
    """Expand buckets in manifest order, then extras; one entry per package name.

    An explicit extra pin wins over a bucket's; two buckets pinning the same package differently is reported.
    """
    result = PackageResolution()
    by_name: dict[str, ResolvedPackage] = {}
    order: list[str] = []

    def add(spec: str, source: str, *, override: bool) -> None:
        name = package_name(spec)
        current = by_name.get(name)
        if current is None:
            by_name[name] = ResolvedPackage(name, spec, [source])
            order.append(name)
            return
        sources = [*current.sources, source]
        pinned, current_pinned = "=" in spec, "=" in current.spec
        chosen = current.spec
        if pinned and (override or not current_pinned):
            chosen = spec
        elif pinned and spec != current.spec:
            result.conflicts.append(f"{name}: {current.spec} ({', '.join(current.sources)}) vs {spec} ({source})")
        by_name[name] = ResolvedPackage(name, chosen, sources)

    for bucket in manifest.packages.buckets:
        packages = bucket_packages.get(bucket)
        if packages is None:
            result.missing_buckets.append(bucket)
            continue
        for spec in packages:
            add(spec, bucket, override=False)
    for spec in manifest.packages.extra:
        add(spec, "extra", override=True)
    result.packages = [by_name[name] for name in order]
    return result


def resolve(
    *,
    name: str,
    revision: int,
    content_hash: str,
    manifest_json: Mapping[str, Any],
    files_json: Mapping[str, Mapping[str, Any]],
    bucket_packages: Mapping[str, list[str]],
) -> ResolvedTemplate:
    manifest = TemplateManifest.model_validate(manifest_json)
    files: dict[str, RawFile] = decode_files(files_json)

    def raw(path: str) -> RawFile:
        return files.get(path) or RawFile(b"", 0o644)

    scripts = [
        ResolvedScript(script, f"scripts/{script}", raw(f"scripts/{script}").data, raw(f"scripts/{script}").sha256)
        for script in script_order(manifest, files)
    ]
    hooks = [
        ResolvedHook(
            event, hook_target(event), hook, f"hooks/{hook}", raw(f"hooks/{hook}").data, raw(f"hooks/{hook}").sha256
        )
        for event, names in manifest.hooks.by_event().items()
        for hook in names
    ]
    resolved_files = [
        ResolvedFile(
            spec.source,
            spec.destination,
            spec.owner,
            spec.mode,
            raw(f"files/{spec.source}").data,
            raw(f"files/{spec.source}").sha256,
        )
        for spec in manifest.files
    ]
    return ResolvedTemplate(
        name=name,
        revision=revision,
        content_hash=content_hash,
        manifest=manifest,
        packages=resolve_packages(manifest, bucket_packages),
        scripts=scripts,
        hooks=hooks,
        files=resolved_files,
    )


# ---------------------------------------------------------------- PVE create parameters


def pve_create_params(
    manifest: TemplateManifest, *, hostname: str, storage: str, bridge: str | None = None
) -> dict[str, str | int]:
    """The container section as ``POST /nodes/{node}/lxc`` parameters (no vmid/ostemplate/secrets).

    Mirrors ``create_args`` of infra/lxc/lib/manifest.py (the engine), so both deploy the same container.
    """
    container, net, dns = manifest.container, manifest.container.network, manifest.container.dns
    params: dict[str, str | int] = {
        "hostname": hostname,
        "cores": container.cores,
        "memory": container.memory,
        "swap": container.swap,
        "rootfs": f"{storage}:{container.disk}",
        "unprivileged": int(container.unprivileged),
        "onboot": int(container.onboot),
    }
    features = [f"{name}=1" for name in ("nesting", "keyctl", "fuse") if getattr(container.features, name)]
    if features:
        params["features"] = ",".join(features)
    net0 = [f"name=eth0,bridge={bridge or net.bridge}", f"ip={net.ip}"]
    if net.gateway:
        net0.append(f"gw={net.gateway}")
    if net.ip6 != "none":
        net0.append(f"ip6={net.ip6}")
    if net.gateway6:
        net0.append(f"gw6={net.gateway6}")
    if net.vlan is not None:
        net0.append(f"tag={net.vlan}")
    if net.firewall:
        net0.append("firewall=1")
    if net.mtu is not None:
        net0.append(f"mtu={net.mtu}")
    params["net0"] = ",".join(net0)
    if dns.servers:
        params["nameserver"] = " ".join(dns.servers)
    if dns.search_domain:
        params["searchdomain"] = dns.search_domain
    if manifest.os.ostype:
        params["ostype"] = manifest.os.ostype
    return params


# ---------------------------------------------------------------- inputs


class InputError(ValueError):
    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems.items()))


def _coerce(spec: Input, value: Any) -> Any:
    """Accept the natural string forms of CLI ``--set key=value`` for int and bool inputs."""
    if isinstance(value, str):
        if spec.type == InputType.int:
            try:
                return int(value.strip())
            except ValueError:
                return value
        if spec.type == InputType.bool and value.strip().lower() in {"true", "false", "1", "0", "yes", "no"}:
            return value.strip().lower() in {"true", "1", "yes"}
    return value


def resolve_inputs(manifest: TemplateManifest, given: Mapping[str, Any]) -> dict[str, str | int | bool]:
    """Validate user values against the declared inputs, apply defaults, generate passwords.

    Raises :class:`InputError` naming every bad or missing input (values are never echoed).
    """
    declared = {spec.name: spec for spec in manifest.inputs}
    problems: dict[str, str] = {name: "not a declared input" for name in given if name not in declared}
    values: dict[str, str | int | bool] = {}
    for name, spec in declared.items():
        value = given.get(name)
        if value is None or value == "":
            if spec.default is not None:
                values[name] = spec.default
            elif spec.generate:
                values[name] = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
            elif spec.required:
                problems[name] = "is required"
            continue
        value = _coerce(spec, value)
        try:
            spec.check_value(value)
        except ValueError as exc:
            problems[name] = str(exc)
            continue
        values[name] = value
    if problems:
        raise InputError(problems)
    return values


def is_secret(spec: Input) -> bool:
    return spec.secret or spec.type == InputType.password


def mask_inputs(manifest: TemplateManifest, values: Mapping[str, Any]) -> dict[str, Any]:
    secret = {spec.name for spec in manifest.inputs if is_secret(spec)}
    return {name: (SECRET_MASK if name in secret else value) for name, value in values.items()}


def masked_manifest_json(manifest_json: Mapping[str, Any]) -> dict[str, Any]:
    """The stored manifest with the defaults of secret inputs replaced by a mask."""
    out = copy.deepcopy(dict(manifest_json))
    for entry in out.get("inputs") or []:
        secret = isinstance(entry, dict) and (entry.get("secret") or entry.get("type") == InputType.password.value)
        if secret and entry.get("default") is not None:
            entry["default"] = SECRET_MASK
    return out


def has_secret_defaults(manifest_json: Mapping[str, Any]) -> bool:
    return masked_manifest_json(manifest_json) != dict(manifest_json)
