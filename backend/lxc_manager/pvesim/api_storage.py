"""Storage endpoints: list, status, content (list/allocate/info/delete), download-url, upload, aplinfo."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lxc_manager.pvesim.core import Call, PveError, handles
from lxc_manager.pvesim.state import APPLIANCES, Storage, Volume, parse_size
from lxc_manager.pvesim.tasks import TaskContext, TaskError

STORE = "/nodes/{node}/storage/{storage}"
VZTMPL_RE = re.compile(r"^vztmpl/[^/]+\.(tar|tar\.(gz|xz|zst|bz2))$")
_FORMATS = {"zst": "tzst", "gz": "tgz", "xz": "txz", "bz2": "tbz2", "tar": "tar"}


def _storage(call: Call) -> Storage:
    node = call.node()
    storage = node.storages.get(str(call.params["storage"]))
    if storage is None:
        raise PveError(500, f"storage '{call.params['storage']}' does not exist")
    return storage


def _visible(call: Call, storage: Storage) -> bool:
    privs = ["Datastore.Audit", "Datastore.AllocateSpace"]
    return call.sim.acl.has(call.token, f"/storage/{storage.id}", privs, any_=True)


@handles("GET", "/nodes/{node}/storage")
async def list_storage(call: Call) -> Any:
    node = call.node()
    content = call.params.get("content")
    result = []
    for storage in node.storages.values():
        if not _visible(call, storage):
            continue
        if call.params.get("storage") and storage.id != call.params["storage"]:
            continue
        if content and not set(str(content).split(",")) & set(storage.content):
            continue
        result.append(storage.status())
    return result


@handles("GET", STORE)
async def storage_index(call: Call) -> Any:
    _storage(call)
    return [{"subdir": s} for s in ("content", "download-url", "file-restore", "prunebackups", "rrd", "rrddata",
                                    "status", "upload")]  # fmt: skip


@handles("GET", STORE + "/status")
async def storage_status(call: Call) -> Any:
    data = _storage(call).status()
    data.pop("storage")
    return data


def _content_entry(storage: Storage, volume: Volume) -> dict[str, Any]:
    entry: dict[str, Any] = {"volid": f"{storage.id}:{volume.volname}", "content": volume.content,
                             "format": volume.fmt, "size": volume.size, "ctime": volume.ctime}  # fmt: skip
    if volume.vmid is not None:
        entry["vmid"] = volume.vmid
        entry["used"] = int(volume.size * 0.12)
    return entry


@handles("GET", STORE + "/content")
async def list_content(call: Call) -> Any:
    storage = _storage(call)
    content, vmid = call.params.get("content"), call.params.get("vmid")
    return [
        _content_entry(storage, v)
        for v in sorted(storage.volumes.values(), key=lambda v: v.volname)
        if (not content or v.content == content) and (vmid is None or v.vmid == int(vmid))
    ]


@handles("POST", STORE + "/content")
async def allocate_content(call: Call) -> Any:
    storage, params = _storage(call), call.params
    vmid, filename = int(params["vmid"]), str(params["filename"])
    if "images" not in storage.content and "rootdir" not in storage.content:
        raise PveError(500, f"storage '{storage.id}' does not support VM images")
    if not re.fullmatch(rf"(vm|base)-{vmid}-disk-\d+(\.(raw|qcow2|vmdk))?|subvol-{vmid}-disk-\d+", filename):
        raise PveError(500, f"illegal name '{filename}' - should be 'vm-{vmid}-*'")
    if filename in storage.volumes:
        raise PveError(500, f"volume '{storage.id}:{filename}' already exists")
    size = parse_size(str(params["size"]).upper().removesuffix("B") if not str(params["size"]).isdigit()
                      else f"{params['size']}K")  # fmt: skip
    if size > storage.avail:
        raise PveError(500, f"not enough space on storage '{storage.id}'")
    storage.volumes[filename] = Volume(filename, size, "images", str(params.get("format", "raw")), vmid)
    return f"{storage.id}:{filename}"


def _volume(call: Call, storage: Storage) -> Volume:
    volid = str(call.params["volume"])
    volname = volid.split(":", 1)[1] if ":" in volid else volid
    if ":" in volid and volid.split(":", 1)[0] != storage.id:
        raise PveError(500, f"storage ID mismatch ('{volid.split(':')[0]}' != '{storage.id}')")
    volume = storage.volumes.get(volname)
    if volume is None:
        raise PveError(500, f"volume '{storage.id}:{volname}' does not exist")
    return volume


@handles("GET", STORE + "/content/{volume}")
async def volume_info(call: Call) -> Any:
    storage = _storage(call)
    volume = _volume(call, storage)
    call.sim.acl.check(call.token, f"/storage/{storage.id}", ["Datastore.Audit", "Datastore.AllocateSpace"], True)
    path = (f"/var/lib/vz/template/cache/{volume.volname.split('/')[-1]}" if volume.content == "vztmpl"
            else f"/dev/pve/{volume.volname}")  # fmt: skip
    return {"path": path, "size": volume.size, "used": int(volume.size * 0.12), "format": volume.fmt}


@handles("DELETE", STORE + "/content/{volume}")
async def delete_volume(call: Call) -> Any:
    storage = _storage(call)
    volume = _volume(call, storage)
    call.sim.acl.check(call.token, f"/storage/{storage.id}", ["Datastore.Allocate"])
    if volume.vmid is not None and volume.vmid in call.sim.cluster.guests:
        guest = call.sim.cluster.guests[volume.vmid]
        if any(f"{storage.id}:{volume.volname}" in str(v) for v in guest.config.values()):
            raise PveError(500, f"volume '{storage.id}:{volume.volname}' is in use by CT {volume.vmid}")

    async def work(ctx: TaskContext) -> None:
        storage.volumes.pop(volume.volname, None)
        ctx.log(f"Removed volume '{storage.id}:{volume.volname}'")

    # pve-storage names the task after the owner and the storage: "<vmid>@<storage>"
    task_id = f"{volume.vmid}@{storage.id}" if volume.vmid is not None else storage.id
    return call.sim.start_task(call.node().name, "imgdel", task_id, call.owner, work)


def _add_template(storage: Storage, filename: str, seed: str) -> Volume:
    volname = f"vztmpl/{filename}"
    ext = filename.rsplit(".", 1)[-1]
    size = 90_000_000 + int(hashlib.sha256(seed.encode()).hexdigest()[:6], 16)
    volume = Volume(volname, size, "vztmpl", _FORMATS.get(ext, "tgz"))
    storage.volumes[volname] = volume
    return volume


@handles("POST", STORE + "/download-url")
async def download_url(call: Call) -> Any:
    storage, params = _storage(call), call.params
    content, filename = str(params["content"]), str(params["filename"])
    if content not in storage.content:
        raise PveError(500, f"storage '{storage.id}' is not configured for content-type '{content}'")
    if content == "vztmpl" and not VZTMPL_RE.match(f"vztmpl/{filename}"):
        raise PveError(500, f"invalid filename or wrong extension '{filename}'")

    async def work(ctx: TaskContext) -> None:
        ctx.log(f"downloading {params['url']} to /var/lib/vz/template/cache/{filename}")
        volume = _add_template(storage, filename, str(params["url"]))
        ctx.log(f"download of '{params['url']}' to '/var/lib/vz/template/cache/{filename}' finished")
        ctx.log(f"{volume.size} bytes")

    return call.sim.start_task(call.node().name, "download", filename, call.owner, work)


@handles("GET", "/nodes/{node}/aplinfo")
async def aplinfo(call: Call) -> Any:
    call.node()
    result = []
    for filename, package, headline, version in APPLIANCES:
        os_name = package.split("-")[0]
        result.append({
            "template": filename, "package": package, "headline": headline, "version": version,
            "os": f"{os_name}-{package.split('-')[1]}" if "-" in package else os_name, "type": "lxc",
            "section": "system", "architecture": "amd64", "source": f"http://download.proxmox.com/images/system/{filename}",
            "location": f"system/{filename}", "maintainer": "Proxmox Support Team <support@proxmox.com>",
            "infopage": "https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions",
            "description": f"{headline} container image.",
            "sha512sum": hashlib.sha512(filename.encode()).hexdigest(),
        })  # fmt: skip
    return result


@handles("POST", "/nodes/{node}/aplinfo")
async def aplinfo_download(call: Call) -> Any:
    node = call.node()
    template = str(call.params["template"])
    if template not in {entry[0] for entry in APPLIANCES}:
        raise PveError(500, "no such template")
    storage = node.storages.get(str(call.params["storage"]))
    if storage is None:
        raise PveError(500, f"storage '{call.params['storage']}' does not exist")
    if "vztmpl" not in storage.content:
        raise PveError(500, f"storage '{storage.id}' does not support templates")

    async def work(ctx: TaskContext) -> None:
        if f"vztmpl/{template}" in storage.volumes:
            ctx.log(f"file {template} already exists - skipping download")
            return
        ctx.log(f"starting template download from: http://download.proxmox.com/images/system/{template}")
        ctx.log(f"target file: /var/lib/vz/template/cache/{template}")
        _add_template(storage, template, template)
        ctx.log(f"download of '{template}' finished")

    return call.sim.start_task(node.name, "download", template, call.owner, work)


@handles("POST", STORE + "/upload")
async def upload(call: Call) -> Any:
    storage = _storage(call)
    content, filename = str(call.params["content"]), str(call.params.get("filename") or "")
    if "upload_size" not in call.extra:
        raise PveError(400, "missing file upload (multipart/form-data)")
    if content not in storage.content:
        raise PveError(500, f"storage '{storage.id}' is not configured for content-type '{content}'")
    if content == "vztmpl" and not VZTMPL_RE.match(f"vztmpl/{filename}"):
        raise PveError(500, f"invalid filename or wrong extension '{filename}'")
    size = int(call.extra.get("upload_size", 0))

    async def work(ctx: TaskContext) -> None:
        if size > storage.avail:
            raise TaskError("no space left on device")
        volume = _add_template(storage, filename, filename)
        volume.size = size
        ctx.log(f"starting file import from: /var/tmp/pveupload-{hashlib.md5(filename.encode()).hexdigest()}")  # noqa: S324
        ctx.log(f"target file: /var/lib/vz/template/cache/{filename}")

    return call.sim.start_task(call.node().name, "imgcopy", "", call.owner, work)
