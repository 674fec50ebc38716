"""Command shims of the memory backend, run in the simulator's process by ``run`` (see ``shimserver``).

The wrappers in a sandbox's ``/.pvesim/bin`` hand each call to the simulator. Every call is appended to
``<root>/.pvesim/calls.jsonl``; package, service and user state lives in ``<root>/.pvesim/state.json`` so that,
for example, ``systemctl is-active nginx`` answers ``active`` after ``apt-get install nginx`` or
``systemctl enable --now nginx``, and ``ss -ltn`` lists the ports of active services. Every file a shim touches
is resolved inside the container's root (a symlink planted in the container cannot lead a write out of it).

A call is synchronous and the module holds the one being served (root, working directory, stdin, output): the
simulator's event loop runs one call at a time.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import time
import urllib.parse
import zlib
from typing import Any

# Packages that bring a service, with the TCP ports it listens on once active.
SERVICES = {
    "nginx": ("nginx", [80]), "apache2": ("apache2", [80]), "openssh-server": ("ssh", [22]),
    "postgresql": ("postgresql", [5432]), "redis-server": ("redis-server", [6379]),
    "mariadb-server": ("mariadb", [3306]), "docker.io": ("docker", []), "caddy": ("caddy", [80, 443]),
    "prometheus-node-exporter": ("prometheus-node-exporter", [9100]), "grafana": ("grafana-server", [3000]),
}  # fmt: skip

# The call being served (set by ``run``).
ROOT = "/"
_cwd = "/"
_stdin = ""
_out: list[str] = []
_err: list[str] = []


class OutsideRoot(Exception):
    """A path that resolves outside the container's root."""


def ct_file(path: str) -> str:
    """The host path of ``path`` in the container (relative to the working directory), symlinks resolved inside."""
    root = ROOT  # resolved once per call by ``run``
    host = os.path.realpath(os.path.join(root, os.path.join(_cwd, path).lstrip("/")))
    if host != root and not host.startswith(root.rstrip("/") + "/"):
        raise OutsideRoot(f"{path}: leaves the container")
    return host


def load_state() -> dict[str, Any]:
    try:
        with open(ct_file("/.pvesim/state.json"), encoding="utf-8") as handle:
            data: dict[str, Any] = json.loads(handle.read())
            return data
    except (OSError, ValueError):
        return {"packages": {}, "services": {}}


def save_state(state: dict[str, Any]) -> None:
    path = ct_file("/.pvesim/state.json")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(json.dumps(state, sort_keys=True))
    os.replace(path + ".tmp", path)


def record(name: str, argv: list[str]) -> None:
    entry = {"ts": round(time.time(), 3), "cmd": name, "argv": argv, "cwd": _cwd}
    with open(ct_file("/.pvesim/calls.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def out(text: str) -> None:
    _out.append(text + "\n")


def err(text: str) -> None:
    _err.append(text + "\n")


def unit_name(arg: str) -> str:
    return arg[: -len(".service")] if arg.endswith(".service") else arg


def unit_known(state: dict[str, Any], unit: str) -> bool:
    if unit in state["services"]:
        return True
    for folder in ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"):
        if os.path.exists(ct_file(f"/{folder}/{unit}.service")):
            return True
    return False


def apt(argv: list[str]) -> int:
    state = load_state()
    # -o/-c/-t take a value (``-o Dpkg::Options::=--force-confold``): it is neither the action nor a package.
    valued = {"-o", "--option", "-c", "--config-file", "-t", "--target-release"}
    words = [a for i, a in enumerate(argv) if not a.startswith("-") and (i == 0 or argv[i - 1] not in valued)]
    if not words:
        err("E: No command given")
        return 100
    action, packages = words[0], words[1:]
    if action == "update":
        out("Hit:1 http://deb.debian.org/debian bookworm InRelease")
        out("Reading package lists... Done")
        return 0
    if action in {"install", "reinstall"}:
        out("Reading package lists... Done\nBuilding dependency tree... Done")
        for package in packages:
            name = package.split("=")[0]
            state["packages"][name] = package.split("=")[1] if "=" in package else "1.0-1"
            out(f"Setting up {name} ({state['packages'][name]}) ...")
            if name in SERVICES:
                service, ports = SERVICES[name]
                state["services"][service] = {"enabled": True, "active": True, "ports": ports}
        save_state(state)
        return 0
    if action in {"remove", "purge"}:
        for package in packages:
            state["packages"].pop(package, None)
            if package in SERVICES:
                state["services"].pop(SERVICES[package][0], None)
            out(f"Removing {package} ...")
        save_state(state)
        return 0
    if action in {"upgrade", "dist-upgrade", "full-upgrade", "autoremove", "clean", "autoclean"}:
        out("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    err(f"E: Invalid operation {action}")
    return 100


def dpkg(argv: list[str]) -> int:
    state = load_state()
    if argv[:1] in (["-s"], ["--status"]) and len(argv) > 1:
        package = argv[1]
        if package not in state["packages"]:
            err(f"dpkg-query: package '{package}' is not installed and no information is available")
            return 1
        out(f"Package: {package}\nStatus: install ok installed\nVersion: {state['packages'][package]}")
        return 0
    if argv[:1] in (["-l"], ["--list"]):
        for package, version in sorted(state["packages"].items()):
            if len(argv) == 1 or package in argv[1:]:
                out(f"ii  {package:<30} {version:<15} amd64        {package}")
        return 0
    return 0


def systemctl(argv: list[str]) -> int:
    state = load_state()
    now = "--now" in argv
    quiet = "--quiet" in argv or "-q" in argv  # is-active/is-enabled answer by exit status only
    words = [a for a in argv if not a.startswith("-")]
    if not words:
        out("  UNIT                     LOAD   ACTIVE SUB     DESCRIPTION")
        return 0
    action, units = words[0], [unit_name(u) for u in words[1:]]
    if action in {"daemon-reload", "daemon-reexec", "reset-failed"}:
        return 0
    if action == "is-system-running":
        out("running")
        return 0
    code = 0
    for unit in units:
        svc = state["services"].get(unit)
        if action == "is-active":
            if not quiet:
                out("active" if svc and svc.get("active") else "inactive")
            code = code or (0 if svc and svc.get("active") else 3)
            continue
        if action == "is-enabled":
            if not unit_known(state, unit):
                err(f"Failed to get unit file state for {unit}.service: No such file or directory")
                code = 1
                continue
            if not quiet:
                out("enabled" if svc and svc.get("enabled") else "disabled")
            code = code or (0 if svc and svc.get("enabled") else 1)
            continue
        if action == "status":
            if not unit_known(state, unit):
                err(f"Unit {unit}.service could not be found.")
                code = 4
                continue
            active = bool(svc and svc.get("active"))
            out(f"● {unit}.service\n     Active: {'active (running)' if active else 'inactive (dead)'}")
            code = code or (0 if active else 3)
            continue
        if not unit_known(state, unit):
            verb = {"start": "start", "restart": "restart", "stop": "stop", "reload": "reload"}.get(action)
            if verb:
                err(f"Failed to {verb} {unit}.service: Unit {unit}.service not found.")
            else:
                err(f"Failed to {action} unit: Unit file {unit}.service does not exist.")
            code = 5 if verb else 1
            continue
        svc = state["services"].setdefault(unit, {"enabled": False, "active": False, "ports": []})
        if action in {"start", "restart", "reload", "try-restart"}:
            svc["active"] = True
        elif action == "stop":
            svc["active"] = False
        elif action == "enable":
            svc["enabled"] = True
            svc["active"] = svc["active"] or now
            err(f"Created symlink /etc/systemd/system/multi-user.target.wants/{unit}.service.")
        elif action == "disable":
            svc["enabled"] = False
            svc["active"] = svc["active"] and not now
        elif action == "mask":
            svc["enabled"] = False
    save_state(state)
    return code


def unit_ports(unit: str) -> list[int]:
    """TCP ports a custom unit listens on, read from its ExecStart: ``--port N``, ``-p N``, ``HOST:N`` or a bare N."""
    for folder in ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"):
        try:
            with open(ct_file(f"/{folder}/{unit}.service"), encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        ports: list[int] = []
        for line in lines:
            if not line.startswith("ExecStart="):
                continue
            words = shlex.split(line.partition("=")[2].lstrip("-@+!:"))
            for index, word in enumerate(words[1:], start=1):
                value = word.rsplit("=", 1)[-1].rsplit(":", 1)[-1]
                option_value = words[index - 1] in {"--port", "-p", "--listen-port"}
                if value.isdigit() and 0 < int(value) < 65536 and (option_value or not word.startswith("-")):
                    ports.append(int(value))
        return ports
    return []


def active_ports(state: dict[str, Any]) -> dict[int, str]:
    """Listening TCP port → service name, for every active service (package table first, else its unit file)."""
    ports: dict[int, str] = {}
    for name, svc in sorted(state["services"].items()):
        if svc.get("active"):
            for port in svc.get("ports") or unit_ports(name):
                ports[int(port)] = name
    return ports


def ss(argv: list[str]) -> int:
    """``ss -ltn`` with ``-H`` (no header) and a ``sport = :N`` filter; only TCP listeners of active services."""
    state = load_state()
    wanted: int | None = None
    if "sport" in argv:
        text = " ".join(argv[argv.index("sport") + 1 :]).lstrip("= ").lstrip(":")
        wanted = int(text) if text.isdigit() else None
    if "-H" not in argv and "--no-header" not in argv:
        out("State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process")
    udp_only = any(a.startswith("-") and not a.startswith("--") and "u" in a and "t" not in a for a in argv)
    for port, name in sorted(active_ports(state).items()):
        if not udp_only and wanted in (None, port):
            out(f'LISTEN 0      511          0.0.0.0:{port}      0.0.0.0:*     users:(("{name}"))')
    return 0


def ipv4_network(inet: str) -> tuple[str, str, str]:
    """``10.0.0.5/24`` → (address, network with prefix, broadcast)."""
    iface = ipaddress.ip_interface(inet)
    return str(iface.ip), str(iface.network), str(iface.network.broadcast_address)


def ip_cmd(argv: list[str]) -> int:
    """``ip [-4] [-o] addr show [scope global]`` and ``ip route [show default]`` from the simulated lease."""
    nets = load_state().get("network", [])
    words = [a for a in argv if not a.startswith("-")]
    obj = words[0] if words else ""
    if obj in {"a", "addr", "address"}:
        entries = [] if "global" in words else [{"name": "lo", "inet": "127.0.0.1/8", "scope": "host"}]
        entries += [{**net, "scope": "global"} for net in nets]
        for index, net in enumerate(entries, start=1):
            brd = "" if net["name"] == "lo" else f" brd {ipv4_network(net['inet'])[2]}"
            label = "" if net["name"] == "lo" else f" {net['name']}"
            tail = "valid_lft forever preferred_lft forever"
            if "-o" in argv:
                out(f"{index}: {net['name']}    inet {net['inet']}{brd} scope {net['scope']}{label}\\       {tail}")
            else:
                out(f"{index}: {net['name']}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP\n"
                    f"    inet {net['inet']}{brd} scope {net['scope']}{label}\n       {tail}")  # fmt: skip
        return 0
    if obj in {"r", "ro", "route"}:
        for net in nets:
            if net.get("gateway"):
                out(f"default via {net['gateway']} dev {net['name']}")
        if "default" not in words:
            for net in nets:
                address, network, _ = ipv4_network(net["inet"])
                out(f"{network} dev {net['name']} proto kernel scope link src {address}")
        return 0
    err(f'Object "{obj}" is unknown, try "ip help".' if obj else "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }")
    return 255


def getent(argv: list[str]) -> int:
    """``getent hosts|passwd|group NAME``: the CT's own files; other host names get a stable TEST-NET-2 address
    (the sandbox pretends the network works, like the apt shim)."""
    if len(argv) < 2:
        err("Usage: getent [OPTION...] database [key ...]")
        return 1
    database, key = argv[0], argv[1]
    files = {"hosts": "etc/hosts", "passwd": "etc/passwd", "group": "etc/group"}
    if database not in files:
        err(f"Unknown database: {database}")
        return 1
    try:
        with open(ct_file("/" + files[database]), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split() if database == "hosts" else line.split(":")
        if (database == "hosts" and key in fields[1:]) or (database != "hosts" and fields[:1] == [key]):
            out(line)
            return 0
    if database == "hosts" and "." in key:
        out(f"198.51.100.{zlib.crc32(key.encode()) % 254 + 1}    {key}")
        return 0
    return 2


def url_host_port(url: str) -> tuple[str, int]:
    """Host (lower case, IPv6 without brackets) and port of an http(s) URL."""
    parsed = urllib.parse.urlsplit(url)
    try:
        port = parsed.port
    except ValueError:  # not a number
        port = None
    return parsed.hostname or "", port or (443 if parsed.scheme.lower() == "https" else 80)


def curl(argv: list[str]) -> int:
    """Answers for the CT's own active services (127.0.0.1, localhost or its address); anything else has no network."""
    url = next((a for a in reversed(argv) if a.startswith(("http://", "https://"))), "")
    host, port = url_host_port(url)
    state = load_state()
    own = {"127.0.0.1", "localhost", "::1"} | {net["inet"].split("/")[0] for net in state.get("network", [])}
    if host not in own:
        return no_network("curl")
    if port not in active_ports(state):
        err(f"curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server")
        return 7
    if "-o" in argv and argv.index("-o") + 1 < len(argv) and argv[argv.index("-o") + 1] != "/dev/null":
        with open(ct_file(argv[argv.index("-o") + 1]), "w", encoding="utf-8"):
            pass  # the simulated service answers 200 with an empty body
    return 0


def passwd_entries() -> list[list[str]]:
    try:
        with open(ct_file("/etc/passwd"), encoding="utf-8") as handle:
            return [line.rstrip("\n").split(":") for line in handle if line.count(":") >= 6]
    except OSError:
        return []


def useradd(argv: list[str]) -> int:
    name = next((a for a in reversed(argv) if not a.startswith("-")), None)
    if not name:
        err("Usage: useradd [options] LOGIN")
        return 2
    entries = passwd_entries()
    if any(e[0] == name for e in entries):
        err(f"useradd: user '{name}' already exists")
        return 9
    uid = max([int(e[2]) for e in entries if int(e[2]) < 60000] + [999]) + 1
    shell = argv[argv.index("-s") + 1] if "-s" in argv else "/bin/sh"
    home = f"/home/{name}"
    with open(ct_file("/etc/passwd"), "a", encoding="utf-8") as handle:
        handle.write(f"{name}:x:{uid}:{uid}::{home}:{shell}\n")
    with open(ct_file("/etc/group"), "a", encoding="utf-8") as handle:
        handle.write(f"{name}:x:{uid}:\n")
    if "-m" in argv:
        os.makedirs(ct_file(home), exist_ok=True)
    return 0


def id_cmd(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")]
    name = names[0] if names else "root"
    for entry in passwd_entries():
        if entry[0] == name:
            if "-u" in argv:
                out(entry[2])
            else:
                out(f"uid={entry[2]}({name}) gid={entry[3]}({name}) groups={entry[3]}({name})")
            return 0
    err(f"id: '{name}': no such user")
    return 1


def usermod(argv: list[str]) -> int:
    name = argv[-1] if argv else ""
    if not any(e[0] == name for e in passwd_entries()):
        err(f"usermod: user '{name}' does not exist")
        return 6
    return 0


def chpasswd(argv: list[str]) -> int:
    # Consume the "user:password" lines without recording them: secrets never reach the call log.
    users = [line.split(":", 1)[0] for line in _stdin.splitlines() if ":" in line]
    known = {e[0] for e in passwd_entries()}
    for user in users:
        if user not in known:
            err(f"chpasswd: (user {user}) pam_chauthtok() failed, error:\nAuthentication token manipulation error")
            return 1
    return 0


def no_network(name: str) -> int:
    err(f"{name}: (6) Could not resolve host: the simulator has no network")
    return 6


COMMANDS = {
    "apt-get": apt, "apt": apt, "dpkg": dpkg, "dpkg-query": dpkg, "systemctl": systemctl, "ss": ss,
    "useradd": useradd, "adduser": useradd, "usermod": usermod, "chpasswd": chpasswd, "id": id_cmd,
    "ip": ip_cmd, "getent": getent, "curl": curl,
}  # fmt: skip


def run(root: str, name: str, argv: list[str], cwd: str = "/", stdin: str = "") -> tuple[int, str, str]:
    """Serve one call of shim ``name`` in the container whose root is ``root``: (exit status, stdout, stderr)."""
    global ROOT, _cwd, _stdin
    ROOT, _cwd, _stdin = os.path.realpath(root), cwd, stdin
    _out.clear()
    _err.clear()
    try:
        record(name, argv)
        code = no_network(name) if name == "wget" else COMMANDS[name](argv)
    except OutsideRoot as exc:
        err(f"{name}: {exc}")
        code = 1
    except (OSError, ValueError, KeyError, IndexError) as exc:  # what a broken state file or odd argv raises
        err(f"{name}: {type(exc).__name__}: {exc}")
        code = 1
    finally:
        ROOT, _cwd, _stdin = "/", "/", ""
    output, errors = "".join(_out), "".join(_err)
    _out.clear()
    _err.clear()
    return code, output, errors
