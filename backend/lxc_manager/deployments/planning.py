"""Turn a deployment request into the exact plan the pipeline runs, checked against the node's reality.

Two halves: :func:`inspect_node` reads the node (storages, bridges, OS templates, VMIDs; reads only), and
:func:`build_plan` is pure — it merges the request over the template's defaults, validates, and returns the
plan with secrets masked plus the secrets themselves (which the caller encrypts and never returns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lxc_manager.core.errors import FieldError, UnprocessableEntity
from lxc_manager.deployments.schemas import (
    DeploymentPlan,
    DeploymentRequest,
    PlanFile,
    PlanHook,
    PlanNode,
    PlanPackage,
    PlanScript,
    PlanStep,
    PlanTemplate,
)
from lxc_manager.deployments.secrets import ROOT_PASSWORD, input_key
from lxc_manager.integrations.proxmox import ProxmoxAlreadyExists, ProxmoxClient, StorageEntry
from lxc_manager.templates.format import Container, HookEvent, TemplateManifest
from lxc_manager.templates.resolve import (
    SECRET_MASK,
    InputError,
    ResolvedTemplate,
    is_secret,
    mask_inputs,
    pve_create_params,
    resolve_inputs,
)

VZTMPL = "vztmpl"
ROOTDIR = "rootdir"


@dataclass
class NodeReality:
    """What the node offers, read just before planning."""

    pve_node: str
    storages: list[StorageEntry]
    bridges: set[str]
    os_templates: list[str]  # volids of every vztmpl volume on the node's storages
    next_vmid: int | None
    vmid_taken: bool = False
    downloadable: list[str] = field(default_factory=list)  # aplinfo file names (only read when needed)


def usable(storage: StorageEntry) -> bool:
    return storage.enabled is not False and storage.active is not False


async def list_os_templates(pve: ProxmoxClient, pve_node: str, storages: list[StorageEntry]) -> list[str]:
    volids: list[str] = []
    for storage in storages:
        if VZTMPL in storage.content_types and usable(storage):
            entries = await pve.storage_content(pve_node, storage.storage, content=VZTMPL)
            volids.extend(entry.volid for entry in entries)
    return volids


async def inspect_node(pve: ProxmoxClient, pve_node: str, vmid: int | None) -> NodeReality:
    storages = await pve.storages(pve_node, enabled=True)
    bridges = {net.iface for net in await pve.networks(pve_node)}
    volids = await list_os_templates(pve, pve_node, storages)
    taken = False
    next_vmid: int | None = None
    if vmid is not None:
        try:
            await pve.nextid(vmid)
        except ProxmoxAlreadyExists:
            taken = True
    else:
        next_vmid = await pve.nextid()
    return NodeReality(pve_node, storages, bridges, volids, next_vmid, taken)


def version_key(text: str) -> list[tuple[int, int | str]]:
    """Natural order like ``sort -V``: digit runs compare as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", text)]


def newest_match(names: list[str], want: str) -> str | None:
    """The newest name starting with ``<want>_`` (PVE template files are ``<name>_<version>_<arch>.tar.*``)."""
    matches = [name for name in names if name.split("/")[-1].startswith(f"{want}_")]
    return max(matches, key=lambda n: version_key(n.split("/")[-1]), default=None)


class PlanProblems:
    """Collects field problems so one answer names every bad field."""

    def __init__(self) -> None:
        self.fields: list[FieldError] = []

    def add(self, loc: list[str | int], message: str) -> None:
        self.fields.append(FieldError(loc=["body", *loc], msg=message, type="value_error"))

    def raise_if_any(self) -> None:
        if self.fields:
            summary = "; ".join(f"{'.'.join(str(p) for p in f.loc[1:])}: {f.msg}" for f in self.fields[:5])
            raise UnprocessableEntity(summary, fields=self.fields)


def merged_container(manifest: TemplateManifest, request: DeploymentRequest, problems: PlanProblems) -> Container:
    """The template's container section with the request's overrides; cross-field rules re-checked."""
    data: dict[str, Any] = manifest.container.model_dump()
    for name in ("cores", "memory", "swap", "unprivileged"):
        value = getattr(request, name)
        if value is not None:
            data[name] = value
    if request.rootfs_size is not None:
        data["disk"] = request.rootfs_size
    if request.start_on_boot is not None:
        data["onboot"] = request.start_on_boot
    if request.features is not None:
        data["features"].update(request.features.model_dump(exclude_none=True))
    if request.network is not None:
        overrides = request.network.model_dump(exclude_unset=True)
        # A new static address replaces the template's gateway unless one is given; dhcp clears it.
        if "ip" in overrides and "gateway" not in overrides:
            overrides["gateway"] = None
        if "ip6" in overrides and "gateway6" not in overrides:
            overrides["gateway6"] = None
        data["network"].update(overrides)
    if request.dns is not None:
        data["dns"].update(request.dns.model_dump(exclude_unset=True, exclude_none=True))
    try:
        return Container.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc: list[str | int] = [str(part) for part in error["loc"]] or ["network"]
            problems.add(loc, str(error["msg"]).removeprefix("Value error, "))
        return manifest.container


def choose_storage(reality: NodeReality, wanted: str | None, problems: PlanProblems) -> str:
    candidates = [s for s in reality.storages if ROOTDIR in s.content_types and usable(s)]
    if wanted is not None:
        if not any(s.storage == wanted for s in reality.storages):
            problems.add(["rootfs_storage"], f"node {reality.pve_node} has no enabled storage {wanted!r}")
        elif not any(s.storage == wanted for s in candidates):
            problems.add(["rootfs_storage"], f"storage {wanted!r} cannot hold containers (no 'rootdir' content)")
        return wanted
    if not candidates:
        problems.add(["rootfs_storage"], f"node {reality.pve_node} has no enabled storage for containers")
        return ""
    return max(candidates, key=lambda s: s.avail or 0).storage


def choose_ostemplate(
    reality: NodeReality, manifest: TemplateManifest, wanted: str | None, problems: PlanProblems
) -> str:
    exact = wanted or manifest.os.volid
    if exact is not None:
        if exact not in reality.os_templates:
            problems.add(["ostemplate"], f"{exact} is not on node {reality.pve_node}; download it first")
        return exact
    found = newest_match(reality.os_templates, manifest.os.template)
    if found is None:
        offer = newest_match(reality.downloadable, manifest.os.template)
        hint = f"; download {offer} with POST /api/v1/nodes/{{node_id}}/os-templates/download" if offer else ""
        problems.add(["ostemplate"], f"no {manifest.os.template} OS template on node {reality.pve_node}{hint}")
        return ""
    return found


def check_inputs(
    manifest: TemplateManifest, given: dict[str, Any], problems: PlanProblems
) -> dict[str, str | int | bool]:
    try:
        return resolve_inputs(manifest, given)
    except InputError as exc:
        for name, message in exc.problems.items():
            problems.add(["inputs", name], message)
        return {}


def execution_steps(template: ResolvedTemplate) -> list[PlanStep]:
    """Every step in the order the pipeline runs them (docs/templates.md "Deployment order")."""
    hooks: dict[HookEvent, list[str]] = {}
    for hook in template.hooks:
        hooks.setdefault(hook.event, []).append(hook.name)

    def hook_steps(event: HookEvent, phase: str) -> list[PlanStep]:
        target = "host" if event in (HookEvent.pre_create, HookEvent.post_create) else "container"
        return [PlanStep(phase=phase, kind="hook", name=f"{event.value}/{name}", target=target)
                for name in hooks.get(event, [])]  # fmt: skip

    steps = [
        *hook_steps(HookEvent.pre_create, "create"),
        PlanStep(phase="create", kind="create", name="create container", target="host"),
        *hook_steps(HookEvent.post_create, "start"),  # first in the start phase: the CT exists, still stopped
        PlanStep(phase="start", kind="start", name="start and wait for the network", target="host"),
        *hook_steps(HookEvent.post_start, "start"),
        *hook_steps(HookEvent.pre_provision, "provision"),
    ]
    if template.files:
        steps.append(PlanStep(phase="provision", kind="files", name=f"push {len(template.files)} file(s)",
                              target="container"))  # fmt: skip
    if template.packages.packages:
        count = len(template.packages.packages)
        name = f"install {count} package(s)"
        steps.append(PlanStep(phase="provision", kind="packages", name=name, target="container"))
    steps.extend(PlanStep(phase="provision", kind="script", name=s.name, target="container") for s in template.scripts)
    steps.extend(hook_steps(HookEvent.post_provision, "provision"))
    steps.append(PlanStep(phase="verify", kind="verify", name="verify services", target="container"))
    steps.extend(hook_steps(HookEvent.post_verify, "verify"))
    steps.append(PlanStep(phase="finalize", kind="credentials", name="capture credentials, record", target="host"))
    return steps


@dataclass
class BuiltPlan:
    plan: DeploymentPlan
    inputs: dict[str, str | int | bool]  # non-secret inputs only
    secrets: dict[str, str]  # root password and secret inputs: encrypt, never return


def build_plan(
    request: DeploymentRequest,
    template: ResolvedTemplate,
    revision_id: str,
    node: PlanNode,
    reality: NodeReality,
) -> BuiltPlan:
    """Validate ``request`` against the template and the node; raise 422 naming every bad field."""
    problems = PlanProblems()
    manifest = template.manifest
    if template.packages.missing_buckets:
        problems.add(["template"], f"uses unknown bucket(s): {', '.join(template.packages.missing_buckets)}")
    container = merged_container(manifest, request, problems)
    storage = choose_storage(reality, request.rootfs_storage, problems)
    if container.network.bridge not in reality.bridges:
        loc: list[str | int] = ["network", "bridge"] if request.network and request.network.bridge else ["network"]
        problems.add(loc, f"bridge {container.network.bridge!r} does not exist on node {reality.pve_node}")
    ostemplate = choose_ostemplate(reality, manifest, request.ostemplate, problems)
    if request.vmid is not None and reality.vmid_taken:
        problems.add(["vmid"], f"VMID {request.vmid} is already in use in the cluster")
    values = check_inputs(manifest, dict(request.inputs), problems)
    problems.raise_if_any()

    warnings = [f"package conflict: {conflict}" for conflict in template.packages.conflicts]
    chosen = next((s for s in reality.storages if s.storage == storage), None)
    if chosen is not None and chosen.avail is not None and chosen.avail < container.disk * 1024**3:
        warnings.append(f"storage {storage} reports {chosen.avail // 1024**3} GiB free, less than {container.disk} GiB")

    hostname = request.hostname or manifest.name.strip("-")[:63]
    effective = manifest.model_copy(update={"container": container})
    params: dict[str, Any] = {"ostemplate": ostemplate}
    if request.vmid is not None:
        params["vmid"] = request.vmid
    params.update(pve_create_params(effective, hostname=hostname, storage=storage))
    if request.tags:
        params["tags"] = ";".join(request.tags)
    if request.ssh_public_keys:
        params["ssh-public-keys"] = "\n".join(request.ssh_public_keys)
    secrets: dict[str, str] = {}
    if request.root_password is not None:
        params["password"] = SECRET_MASK
        secrets[ROOT_PASSWORD] = request.root_password.get_secret_value()
    secret_names = [spec.name for spec in manifest.inputs if is_secret(spec)]
    for name in secret_names:
        if name in values:
            secrets[input_key(name)] = str(values[name])
    plan = DeploymentPlan(
        template=PlanTemplate(
            name=template.name, revision=template.revision, revision_id=revision_id, content_hash=template.content_hash
        ),
        node=node,
        hostname=hostname,
        vmid=request.vmid,
        suggested_vmid=request.vmid or reality.next_vmid,
        ostemplate=ostemplate,
        rootfs_storage=storage,
        pve_params=params,
        files=[
            PlanFile(
                source=f.source,
                destination=f.destination,
                owner=f.owner,
                mode=f.mode,
                sha256=f.sha256,
                size=len(f.content),
            )
            for f in template.files
        ],
        packages=[PlanPackage(name=p.name, spec=p.spec, sources=p.sources) for p in template.packages.packages],
        scripts=[PlanScript(name=s.name, path=s.path, sha256=s.sha256) for s in template.scripts],
        hooks=[
            PlanHook(event=h.event.value, target=h.target, name=h.name, path=h.path, sha256=h.sha256)
            for h in template.hooks
        ],
        steps=execution_steps(template),
        inputs=mask_inputs(manifest, values),
        secret_inputs=secret_names,
        services=[service.model_dump(exclude_none=True) for service in manifest.services],
        credentials=[credential.name for credential in manifest.credentials],
        on_failure=request.on_failure,
        warnings=warnings,
    )
    plain = {name: value for name, value in values.items() if name not in secret_names}
    return BuiltPlan(plan=plan, inputs=plain, secrets=secrets)
