"""``pvesh``, ``pveam`` and ``pvesm`` on a simulated node, all through the simulator's HTTPS API.

* ``pvesh get|set|create|delete PATH [--param value …] [--output-format text|json|json-pretty] [--noborder]
  [--noheader]``: any API path the schema knows; a UPID answer is waited for (task log on stdout), as the CLI
  runs workers in the foreground.
* ``pveam list STORAGE``, ``pveam available [--section S]``, ``pveam download STORAGE TEMPLATE``,
  ``pveam remove VOLID``.
* ``pvesm status [--storage S] [--content C] [--enabled]``, ``pvesm list STORAGE [--content C] [--vmid N]``.
"""

from __future__ import annotations

import json
from typing import Any

from lxc_manager.integrations.proxmox.errors import ProxmoxError
from lxc_manager.integrations.proxmox.session import path_of
from lxc_manager.pvesim.hostcli.context import HostContext, api_failure, write_out
from lxc_manager.pvesim.hostcli.options import CliError, parse_options
from lxc_manager.pvesim.schema import MethodNotImplemented

PVESH_METHODS = {"get": "GET", "set": "PUT", "create": "POST", "delete": "DELETE"}
PVESH_LOCAL = {
    "output-format": {"type": "string"},
    "noborder": {"type": "boolean"},
    "noheader": {"type": "boolean"},
    "human-readable": {"type": "boolean"},
}
OUTPUT_FORMATS = ("text", "json", "json-pretty")
STORAGE_LIST = "/nodes/{node}/storage"
STORAGE_CONTENT = "/nodes/{node}/storage/{storage}/content"


def _api_errors(func: Any) -> Any:
    async def wrapper(self: Any, args: list[str]) -> int:
        try:
            return int(await func(self, args))
        except ProxmoxError as exc:
            raise api_failure(exc) from None

    return wrapper


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if value is None else str(value)


def render_table(header: list[str], rows: list[list[str]], border: bool = True, show_header: bool = True) -> str:
    """PVE::CLIFormatter's table: box-drawing borders by default, plain columns with ``--noborder``."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells, widths, strict=True)]
        return ("│ " + " │ ".join(padded) + " │" if border else " ".join(padded).rstrip()) + "\n"

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right + "\n"

    out = rule("┌", "┬", "┐") if border else ""
    if show_header:
        out += line(header) + (rule("╞", "╪", "╡").replace("─", "═") if border else "")
    for index, row in enumerate(rows):
        out += line(row)
        if border and index < len(rows) - 1:
            out += rule("├", "┼", "┤")
    return out + (rule("└", "┴", "┘") if border else "")


def format_result(data: Any, fmt: str, border: bool, header: bool) -> str:
    if data is None:
        return ""
    if fmt == "json":
        return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
    if fmt == "json-pretty":
        return json.dumps(data, sort_keys=True, indent=3) + "\n"
    if isinstance(data, dict):
        rows = [[key, _text(data[key])] for key in sorted(data)]
        return render_table(["key", "value"], rows, border, header)
    if isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            columns = sorted({key for item in data for key in item})
            rows = [[_text(item.get(c)) for c in columns] for item in data]
            return render_table(columns, rows, border, header) if columns else ""
        return "".join(_text(item) + "\n" for item in data)
    return _text(data) + "\n"


class Pvesh:
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    @_api_errors
    async def run(self, args: list[str]) -> int:
        usage = "pvesh <get|set|create|delete> <api_path> [OPTIONS] [FORMAT_OPTIONS]"
        if not args or args[0] not in PVESH_METHODS:
            given = f"unknown command 'pvesh {args[0]}'" if args else "no command specified"
            raise CliError(f"ERROR: {given} (the simulator's pvesh offers: get, set, create, delete)\nUSAGE: {usage}")
        method = PVESH_METHODS[args[0]]
        # The path may follow options (pvesh permutes like Getopt); API paths are the words starting with '/'.
        words = [a for a in args[1:] if a.startswith("/")] or [a for a in args[1:] if not a.startswith("-")]
        if not words:
            raise CliError(f"400 not enough arguments\n{usage}")
        api_path = "/" + words[0].strip("/")
        try:
            route = self.ctx.schema().match(method, api_path)
        except MethodNotImplemented:
            raise CliError(f"No '{args[0]}' handler defined for '{words[0]}'") from None
        parsed = parse_options(args[1:], positional=1, usage=usage, info=route.info, local=PVESH_LOCAL,
                               skip=frozenset(route.path_params))  # fmt: skip
        fmt = parsed.options.pop("output-format", "text")
        if fmt not in OUTPUT_FORMATS:
            raise CliError(
                f"400 Parameter verification failed.\noutput-format: value '{fmt}' does not have a value in the "
                f"enumeration '{', '.join(OUTPUT_FORMATS)}'\n\n{usage}"
            )
        border = parsed.options.pop("noborder", "0") != "1"
        header = parsed.options.pop("noheader", "0") != "1"
        parsed.options.pop("human-readable", None)
        async with self.ctx.client() as client:
            data = await client.request(method, api_path, parsed.options)
            if isinstance(data, str) and data.startswith("UPID:"):
                await self.ctx.follow_task(client, data)
        write_out(format_result(data, fmt, border, header))
        return 0


class Pveam:
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    @_api_errors
    async def run(self, args: list[str]) -> int:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        node = self.ctx.node
        if sub == "list":
            parsed = parse_options(rest, positional=1, usage="pveam list <storage>")
            async with self.ctx.client() as client:
                path = path_of("nodes", node, "storage", parsed.positional[0], "content")
                data = await client.request("GET", path, {"content": "vztmpl"})
            if data:
                rows = [f"{'NAME':<60} {'SIZE':<6}\n"]
                rows += [f"{v['volid']:<60} {v.get('size', 0) / 1048576:.2f}MB\n" for v in sorted(data, key=_volid)]
                write_out("".join(rows))
            return 0
        if sub == "available":
            local = {"section": {"type": "string"}}
            parsed = parse_options(rest, positional=0, usage="pveam available [OPTIONS]", local=local)
            async with self.ctx.client() as client:
                data = await client.request("GET", path_of("nodes", node, "aplinfo"))
            section = parsed.options.get("section")
            entries: list[tuple[str, str]] = sorted(
                (str(a["section"]), str(a["template"])) for a in data if section in (None, a.get("section"))
            )
            write_out("".join(f"{s:<15} {t}\n" for s, t in entries))
            return 0
        if sub == "download":
            parsed = parse_options(rest, positional=2, usage="pveam download <storage> <template>")
            storage, template = parsed.positional
            async with self.ctx.client() as client:
                upid = await client.request("POST", path_of("nodes", node, "aplinfo"),
                                            {"storage": storage, "template": template})  # fmt: skip
                await self.ctx.follow_task(client, str(upid))
            return 0
        if sub == "remove":
            parsed = parse_options(rest, positional=1, usage="pveam remove <template_path>")
            volid = parsed.positional[0]
            storage, _, volume = volid.partition(":")
            if not volume.startswith("vztmpl/"):
                raise CliError(f"Invalid template volume '{volid}'")
            async with self.ctx.client() as client:
                path = path_of("nodes", node, "storage", storage, "content", tail=volid)
                await client.request("DELETE", path)
            return 0
        given = f"unknown command 'pveam {sub}'" if sub else "no command specified"
        raise CliError(f"ERROR: {given} (the simulator's pveam offers: list, available, download, remove)\n"
                       "USAGE: pveam <COMMAND> [ARGS] [OPTIONS]")  # fmt: skip


def _volid(entry: dict[str, Any]) -> str:
    return str(entry.get("volid", ""))


class Pvesm:
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    @_api_errors
    async def run(self, args: list[str]) -> int:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        node = self.ctx.node
        if sub == "status":
            info = self.ctx.method("GET", STORAGE_LIST.replace("{node}", node))
            parsed = parse_options(rest, positional=0, usage="pvesm status [OPTIONS]", info=info,
                                   skip=frozenset({"node"}))  # fmt: skip
            async with self.ctx.client() as client:
                data = await client.request("GET", path_of("nodes", node, "storage"), parsed.options)
            write_out(_storage_status(data))
            return 0
        if sub == "list":
            template = STORAGE_CONTENT.replace("{node}", node).replace("{storage}", "local")
            info = self.ctx.method("GET", template)
            parsed = parse_options(rest, positional=1, usage="pvesm list <storage> [OPTIONS]", info=info,
                                   skip=frozenset({"node", "storage"}))  # fmt: skip
            async with self.ctx.client() as client:
                path = path_of("nodes", node, "storage", parsed.positional[0], "content")
                data = await client.request("GET", path, parsed.options)
            width = max([len(v["volid"]) for v in data] + [5]) + 1
            out = f"{'Volid':<{width}} {'Format':<6} {'Type':<9} {'Size':>15} VMID\n"
            for v in sorted(data, key=_volid):
                size = int(v.get("size", 0))
                out += f"{v['volid']:<{width}} {v.get('format', ''):<6} {v.get('content', ''):<9} {size:>15} "
                out += f"{v.get('vmid', '')}\n"
            write_out("".join(line.rstrip() + "\n" for line in out.splitlines()))
            return 0
        given = f"unknown command 'pvesm {sub}'" if sub else "no command specified"
        raise CliError(f"ERROR: {given} (the simulator's pvesm offers: status, list)\n"
                       "USAGE: pvesm <COMMAND> [ARGS] [OPTIONS]")  # fmt: skip


def _storage_status(data: list[dict[str, Any]]) -> str:
    """``pvesm status``: sizes in KiB, the usage percentage with two decimals."""
    width = max([len(s["storage"]) for s in data] + [4]) + 1
    head = ("Name", "Type", "Status", "Total", "Used", "Available", "%")
    out = f"{head[0]:<{width}} {head[1]:>10} {head[2]:>10} {head[3]:>15} {head[4]:>15} {head[5]:>15} {head[6]:>8}\n"
    for s in sorted(data, key=lambda s: str(s["storage"])):
        total, used, avail = (int(s.get(k, 0)) // 1024 for k in ("total", "used", "avail"))
        state = "active" if s.get("active") else "inactive"
        percent = f"{used / total * 100:.2f}%" if total else "0.00%"
        out += f"{s['storage']:<{width}} {s['type']:>10} {state:>10} {total:>15} {used:>15} {avail:>15} {percent:>8}\n"
    return out
