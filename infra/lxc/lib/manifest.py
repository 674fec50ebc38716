#!/usr/bin/env python3
"""Read, validate and resolve a template for the bash deploy engine (python3 + PyYAML, nothing else).

    manifest.py resolve --template-dir DIR --buckets-dir DIR --schema-dir DIR --deploy-id ID
                        [--hostname H] [--storage S] [--bridge B] [--env-file PATH] [--plan-out PATH]
        --set values arrive on stdin as NUL-separated ``key=value`` items (never in argv).
        Writes the resolved plan as JSON (to --plan-out or stdout) and, with --env-file, the inputs as a
        0600 shell env file (values quoted with shlex.quote) that the container runner loads.
    manifest.py emit PLAN.json
        Prints the plan as NUL-separated ``key``/``value`` pairs that deploy.sh reads with ``read -d ''``:
        the shell never evaluates any template text.

Validation: the JSON Schema in infra/lxc/schema/ (the single source, generated from the dashboard's models)
with python3-jsonschema when installed, else with the small built-in interpreter of the same schema below;
then the cross-field rules the schema cannot express. Exit codes: 0 ok, 4 invalid template, 5 bad input,
3 missing dependency, 2 usage.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import posixpath
import re
import secrets
import shlex
import sys
from pathlib import Path
from typing import Any

try:
    import yaml
except ImportError:  # pragma: no cover - checked by deploy.sh first, kept for direct use
    sys.stderr.write("PyYAML is missing: install it with: apt-get install -y python3-yaml\n")
    sys.exit(3)

EXIT_TEMPLATE = 4
EXIT_INPUT = 5
SECRET_MASK = "********"
HOOK_EVENTS = ("pre-create", "post-create", "post-start", "pre-provision", "post-provision", "post-verify")
SCRIPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
STORAGE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
BRIDGE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,15}$")
DEPLOY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Invalid(Exception):
    """A validation failure with the exit code deploy.sh reports."""

    def __init__(self, message: str, code: int = EXIT_TEMPLATE) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- YAML with line numbers


def load_yaml(path: Path) -> tuple[Any, Any]:
    """Safe-load a YAML file; return (data, composed node tree for line lookups)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Invalid(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: cannot read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise Invalid(f"{path}{where}: invalid YAML: {problem}") from None
    return data, node


def line_of(node: Any, path: list[str | int]) -> int | None:
    """1-based line of the YAML node at ``path`` (or of its deepest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def where(file: Path, node: Any, path: list[str | int]) -> str:
    line = line_of(node, path)
    dotted = ".".join(str(p) for p in path) or "(top level)"
    return f"{file}{f':{line}' if line else ''}: {dotted}"


# ---------------------------------------------------------------- JSON Schema


def schema_errors(data: Any, schema: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    """Errors as (path, message): python3-jsonschema when available, else the built-in subset interpreter."""
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        errors: list[tuple[list[str | int], str]] = []
        _check(data, schema, schema, [], errors)
        return errors
    validator = jsonschema.Draft202012Validator(schema)
    found = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path).__len__())
    return [(list(e.absolute_path), e.message) for e in found]


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _check(value: Any, schema: dict[str, Any], root: dict[str, Any], path: list[str | int], out: list[Any]) -> None:
    """The JSON Schema keywords the generated schema uses: $ref, type, const, enum, anyOf, properties,
    required, additionalProperties, items, maxItems, pattern, maxLength, minimum, maximum."""
    if "$ref" in schema:
        ref = schema["$ref"]
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        _check(value, target, root, path, out)
    if "anyOf" in schema:
        branches = []
        for branch in schema["anyOf"]:
            errs: list[Any] = []
            _check(value, branch, root, path, errs)
            if not errs:
                break
            branches.append(errs)
        else:
            out.extend(min(branches, key=len) if branches else [(path, "matches no allowed form")])
    expected = schema.get("type")
    if expected is not None:
        kinds = expected if isinstance(expected, list) else [expected]
        if not any(_TYPES[k](value) for k in kinds):
            out.append((path, f"{value!r} is not of type {' or '.join(kinds)}"))
            return
    if "const" in schema and value != schema["const"]:
        out.append((path, f"must be {schema['const']!r}"))
    if "enum" in schema and value not in schema["enum"]:
        out.append((path, f"{value!r} is not one of {schema['enum']}"))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append((path, f"is longer than {schema['maxLength']} characters"))
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            out.append((path, f"{value!r} does not match {schema['pattern']!r}"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append((path, f"{value} is less than the minimum of {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            out.append((path, f"{value} is greater than the maximum of {schema['maximum']}"))
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append((path, f"has more than {schema['maxItems']} items"))
        if "items" in schema:
            for index, item in enumerate(value):
                _check(item, schema["items"], root, [*path, index], out)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                out.append((path, f"{key!r} is a required property"))
        for key, item in value.items():
            if key in props:
                _check(item, props[key], root, [*path, key], out)
            elif schema.get("additionalProperties") is False:
                out.append(([*path, key], f"unknown key {key!r}"))


def validate(file: Path, data: Any, node: Any, schema_path: Path) -> None:
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{schema_path}: cannot load the JSON Schema: {exc}") from None
    errors = schema_errors(data, schema)
    if errors:
        lines = [f"{where(file, node, p)}: {m}" for p, m in errors[:20]]
        raise Invalid("invalid template:\n  " + "\n  ".join(lines))


# ---------------------------------------------------------------- rules the schema cannot express


def _relative(value: str) -> bool:
    parts = value.split("/")
    return bool(value) and "\\" not in value and not value.startswith("/") and "" not in parts and "." not in parts and ".." not in parts


def _absolute(value: str) -> bool:
    return (
        value.startswith("/")
        and "\\" not in value
        and not any(p in (".", "..") for p in value.split("/"))
        and posixpath.normpath(value) == value
    )


def semantic_errors(m: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    """Mirror of the model validators in backend/lxc_manager/templates/format.py."""
    errs: list[tuple[list[str | int], str]] = []
    net = m.get("container", {}).get("network", {})
    p_net: list[str | int] = ["container", "network"]
    ip, ip6 = net.get("ip", "dhcp"), net.get("ip6", "none")
    if ip != "dhcp":
        try:
            ok = "/" in ip and ipaddress.ip_interface(ip).version == 4
        except ValueError:
            ok = False
        if not ok:
            errs.append(([*p_net, "ip"], "must be 'dhcp' or an IPv4 address with prefix, e.g. 10.0.0.5/24"))
    if ip6 not in ("none", "auto", "dhcp"):
        try:
            ok = "/" in ip6 and ipaddress.ip_interface(ip6).version == 6
        except ValueError:
            ok = False
        if not ok:
            errs.append(([*p_net, "ip6"], "must be none, auto, dhcp or an IPv6 address with prefix"))
    for key, version in (("gateway", 4), ("gateway6", 6)):
        if net.get(key) is not None:
            try:
                ok = ipaddress.ip_address(net[key]).version == version
            except ValueError:
                ok = False
            if not ok:
                errs.append(([*p_net, key], f"must be an IPv{version} address"))
    if net.get("gateway") and ip == "dhcp":
        errs.append(([*p_net, "gateway"], "gateway is only valid with a static ip"))
    if net.get("gateway6") and ip6 in ("none", "auto", "dhcp"):
        errs.append(([*p_net, "gateway6"], "gateway6 is only valid with a static ip6"))
    for i, server in enumerate(m.get("container", {}).get("dns", {}).get("servers", [])):
        try:
            ipaddress.ip_address(server)
        except ValueError:
            errs.append((["container", "dns", "servers", i], "must be an IP address"))
    for i, f in enumerate(m.get("files", [])):
        if not _relative(f["source"]):
            errs.append((["files", i, "source"], "must be a relative path inside files/ (no '..', no leading '/')"))
        if not _absolute(f["destination"]):
            errs.append((["files", i, "destination"], "must be a normalised absolute path inside the container"))
    for i, s in enumerate(m.get("services", [])):
        if s.get("web_ui") is not None:
            if s.get("protocol", "tcp") not in ("http", "https") or s.get("port") is None:
                errs.append((["services", i, "web_ui"], "web_ui needs protocol http or https and a port"))
            elif not s["web_ui"].startswith("/") or any(c in s["web_ui"] for c in " \t\r\n"):
                errs.append((["services", i, "web_ui"], "web_ui must be a URL path starting with '/'"))
        if s.get("unit") is None and s.get("port") is None:
            errs.append((["services", i], "a service declares a unit, a port, or both"))
    services = {s["name"] for s in m.get("services", [])}
    for i, c in enumerate(m.get("credentials", [])):
        cap = c.get("capture", {})
        if (cap.get("file") is None) == (cap.get("output") is None):
            errs.append((["credentials", i, "capture"], "set exactly one of file or output"))
        elif cap.get("file") is not None and not _absolute(cap["file"]):
            errs.append((["credentials", i, "capture", "file"], "must be a normalised absolute path"))
        if c.get("service") is not None and c["service"] not in services:
            errs.append((["credentials", i, "service"], f"names an undeclared service {c['service']}"))
    for i, spec in enumerate(m.get("inputs", [])):
        try:
            input_consistent(spec)
        except ValueError as exc:
            errs.append((["inputs", i], str(exc)))
    for label, names in (
        ("tags", m.get("tags", [])),
        ("scripts", m.get("scripts") or []),
        ("services", [s["name"] for s in m.get("services", [])]),
        ("credentials", [c["name"] for c in m.get("credentials", [])]),
        ("inputs", [x["name"] for x in m.get("inputs", [])]),
        ("files", [f["destination"] for f in m.get("files", [])]),
        ("packages", m.get("packages", {}).get("extra", [])),
        ("packages", m.get("packages", {}).get("buckets", [])),
    ):
        seen: set[str] = set()
        for name in names:
            if name in seen:
                errs.append(([label], f"duplicate entry {name}"))
            seen.add(name)
    return errs


def input_consistent(spec: dict[str, Any]) -> None:
    kind = spec.get("type", "string")
    if spec.get("pattern") is not None:
        if kind not in ("string", "password"):
            raise ValueError("pattern applies to string and password inputs")
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
    if kind == "enum" and not spec.get("choices"):
        raise ValueError("an enum input needs choices")
    if kind != "enum" and spec.get("choices") is not None:
        raise ValueError("choices apply to enum inputs only")
    if kind in ("bool", "enum") and (spec.get("min") is not None or spec.get("max") is not None):
        raise ValueError("min/max apply to int, string and password inputs")
    if spec.get("min") is not None and spec.get("max") is not None and spec["min"] > spec["max"]:
        raise ValueError("min must not exceed max")
    if spec.get("generate") and kind != "password":
        raise ValueError("generate applies to password inputs only")
    if spec.get("default") is not None:
        check_value(spec, spec["default"], "default")


def check_value(spec: dict[str, Any], value: Any, what: str) -> None:
    """Same rules as Input.check_value in the dashboard's models."""
    kind = spec.get("type", "string")
    lo, hi = spec.get("min"), spec.get("max")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{what} must be true or false")
        return
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{what} must be an integer")
        if lo is not None and value < lo:
            raise ValueError(f"{what} must be ≥ {lo}")
        if hi is not None and value > hi:
            raise ValueError(f"{what} must be ≤ {hi}")
        return
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if kind == "enum":
        if value not in spec.get("choices", []):
            raise ValueError(f"{what} must be one of {', '.join(spec.get('choices', []))}")
        return
    if lo is not None and len(value) < lo:
        raise ValueError(f"{what} must be at least {lo} characters")
    if hi is not None and len(value) > hi:
        raise ValueError(f"{what} must be at most {hi} characters")
    if spec.get("pattern") is not None and re.fullmatch(spec["pattern"], value) is None:
        raise ValueError(f"{what} does not match the pattern")


# ---------------------------------------------------------------- resolving a template


def regular_file_inside(base: Path, folder: str, name: str) -> Path:
    """``base/folder/name`` when it is a regular file whose real path stays inside the template folder."""
    path = base / folder / name
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(Path(os.path.realpath(base))):
        raise Invalid(f"{folder}/{name}: points outside the template folder")
    if not real.is_file():
        raise Invalid(f"{folder}/{name}: no such file in the template folder")
    return path


def resolve_packages(m: dict[str, Any], buckets_dir: Path, schema_dir: Path) -> list[str]:
    """Bucket packages in bucket order, then the extra ones (pins resolved as below)."""
    chosen: dict[str, tuple[str, str]] = {}
    sources: list[tuple[str, list[str]]] = []
    for bucket in m.get("packages", {}).get("buckets", []):
        path = buckets_dir / f"{bucket}.yaml"
        if not path.is_file():
            raise Invalid(f"packages.buckets: bucket {bucket!r} not found ({path})")
        data, node = load_yaml(path)
        validate(path, data, node, schema_dir / "bucket.schema.json")
        if data.get("name") != bucket:
            raise Invalid(f"{path}: name {data.get('name')!r} must equal the file name {bucket!r}")
        sources.append((f"bucket {bucket}", data["packages"]))
    sources.append(("packages.extra", m.get("packages", {}).get("extra", [])))
    # Same rule as the dashboard (templates/resolve.py): one entry per package, in first-seen order; a pin
    # wins over no pin, an explicit extra pin wins over a bucket's, two buckets pinning differently is an error.
    for origin, specs in sources:
        for spec in specs:
            name = spec.split("=", 1)[0]
            if name not in chosen:
                chosen[name] = (spec, origin)
                continue
            current, current_origin = chosen[name]
            if "=" not in spec:
                continue
            if origin == "packages.extra" or "=" not in current:
                chosen[name] = (spec, origin)
            elif spec != current:
                raise Invalid(f"package {name} is pinned as {current!r} in {current_origin} and {spec!r} in {origin}")
    return [spec for spec, _ in chosen.values()]


def parse_sets(raw: bytes) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in raw.split(b"\0"):
        if not item:
            continue
        text = item.decode("utf-8", errors="strict")
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise Invalid(f"--set {key or text!r}: expected key=value", EXIT_INPUT)
        if key in values:
            raise Invalid(f"--set {key}: given twice", EXIT_INPUT)
        values[key] = value
    return values


TRUE, FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def resolve_inputs(m: dict[str, Any], given: dict[str, str]) -> list[dict[str, Any]]:
    """Typed, validated input values: --set, else the default, else generated (password), else an error."""
    specs = {spec["name"]: spec for spec in m.get("inputs", [])}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        declared = ", ".join(specs) or "none"
        raise Invalid(f"--set {unknown[0]}: the template has no such input (declared: {declared})", EXIT_INPUT)
    resolved = []
    for name, spec in specs.items():
        kind = spec.get("type", "string")
        secret = bool(spec.get("secret")) or kind == "password"
        if name in given:
            raw = given[name]
            value: Any = raw
            if kind == "int":
                if re.fullmatch(r"-?[0-9]{1,18}", raw) is None:
                    raise Invalid(f"--set {name}: must be an integer", EXIT_INPUT)
                value = int(raw)
            elif kind == "bool":
                if raw.lower() not in TRUE | FALSE:
                    raise Invalid(f"--set {name}: must be true or false", EXIT_INPUT)
                value = raw.lower() in TRUE
            try:
                check_value(spec, value, "value")
            except ValueError as exc:
                raise Invalid(f"--set {name}: {exc}", EXIT_INPUT) from None
        elif spec.get("default") is not None:
            value = spec["default"]
        elif kind == "password" and spec.get("generate"):
            value = secrets.token_urlsafe(24)
        elif spec.get("required"):
            raise Invalid(f"input {name} is required: pass --set {name}=VALUE", EXIT_INPUT)
        else:
            value = None
        resolved.append({"name": name, "type": kind, "secret": secret, "value": value})
    return resolved


def shell_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_private(path: Path, text: str) -> None:
    """Create a 0600 file (replacing an older one) without a window where it is readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_inputs(inputs_dir: Path, inputs: list[dict[str, Any]], env: dict[str, str]) -> None:
    """``env`` (sourced by the runner) and ``secrets/<name>`` files: a secret input never appears in the env
    file itself, scripts read it from the file named by ``INPUT_<NAME>_FILE``."""
    lines = ["# Written by deploy.sh; loaded by the container runner. 0600, removed after the deploy."]
    for key, value in env.items():
        lines.append(f"export {key}={shlex.quote(value)}")
    for item in inputs:
        if item["value"] is None:
            continue
        var = "INPUT_" + item["name"].upper()
        if item["secret"]:
            write_private(inputs_dir / "secrets" / item["name"], shell_value(item["value"]))
            # The runner sets LXCM_INPUTS_DIR to the folder holding this file, in the container or on the host.
            lines.append(f'export {var}_FILE="$LXCM_INPUTS_DIR/secrets/{item["name"]}"')
        else:
            lines.append(f"export {var}={shlex.quote(shell_value(item['value']))}")
    write_private(inputs_dir / "env", "\n".join(lines) + "\n")


def create_args(m: dict[str, Any], hostname: str, storage: str, bridge: str | None) -> list[str]:
    """The `pct create` options (after VMID and OS template) for the manifest's container section."""
    c = m.get("container", {})
    feats = c.get("features", {})
    net = dict(c.get("network", {}))
    dns = c.get("dns", {})
    args = [
        "--hostname", hostname,
        "--cores", str(c.get("cores", 1)),
        "--memory", str(c.get("memory", 512)),
        "--swap", str(c.get("swap", 512)),
        "--rootfs", f"{storage}:{c.get('disk', 4)}",
        "--unprivileged", "1" if c.get("unprivileged", True) else "0",
        "--onboot", "1" if c.get("onboot", False) else "0",
    ]  # fmt: skip
    enabled = [f"{k}=1" for k in ("nesting", "keyctl", "fuse") if feats.get(k)]
    if enabled:
        args += ["--features", ",".join(enabled)]
    net0 = [f"name=eth0,bridge={bridge or net.get('bridge', 'vmbr0')}", f"ip={net.get('ip', 'dhcp')}"]
    if net.get("gateway"):
        net0.append(f"gw={net['gateway']}")
    if net.get("ip6", "none") != "none":
        net0.append(f"ip6={net['ip6']}")
    if net.get("gateway6"):
        net0.append(f"gw6={net['gateway6']}")
    if net.get("vlan") is not None:
        net0.append(f"tag={net['vlan']}")
    if net.get("firewall"):
        net0.append("firewall=1")
    if net.get("mtu") is not None:
        net0.append(f"mtu={net['mtu']}")
    args += ["--net0", ",".join(net0)]
    if dns.get("servers"):
        args += ["--nameserver", " ".join(dns["servers"])]
    if dns.get("search_domain"):
        args += ["--searchdomain", dns["search_domain"]]
    if m["os"].get("ostype"):
        args += ["--ostype", m["os"]["ostype"]]
    return args


def resolve(opts: argparse.Namespace, given: dict[str, str]) -> dict[str, Any]:
    tdir = Path(opts.template_dir)
    schema_dir = Path(opts.schema_dir)
    manifest_path = tdir / "template.yaml"
    if not manifest_path.is_file():
        raise Invalid(f"{tdir}: not a template folder (no template.yaml)")
    data, node = load_yaml(manifest_path)
    if not isinstance(data, dict):
        raise Invalid(f"{manifest_path}: the manifest must be a mapping")
    validate(manifest_path, data, node, schema_dir / "template.schema.json")
    errors = semantic_errors(data)
    if errors:
        raise Invalid("invalid template:\n  " + "\n  ".join(f"{where(manifest_path, node, p)}: {m}" for p, m in errors))
    if data["name"] != tdir.resolve().name:
        raise Invalid(f"{where(manifest_path, node, ['name'])}: {data['name']!r} must equal the folder name {tdir.resolve().name!r}")

    scripts = data.get("scripts")
    if scripts is None:
        folder = tdir / "scripts"
        scripts = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        for name in scripts:
            if not SCRIPT_NAME.match(name):
                raise Invalid(f"scripts/{name}: script file name has unsupported characters")
    for name in scripts:
        regular_file_inside(tdir, "scripts", name)
    hooks = {event: list(data.get("hooks", {}).get(event, [])) for event in HOOK_EVENTS}
    for names in hooks.values():
        for name in names:
            regular_file_inside(tdir, "hooks", name)
    files = []
    for f in data.get("files", []):
        regular_file_inside(tdir, "files", f["source"])
        user, _, group = f.get("owner", "root:root").partition(":")
        files.append({"source": f["source"], "destination": f["destination"], "user": user,
                      "group": group, "mode": f.get("mode", "0644").rjust(4, "0")})  # fmt: skip

    hostname = opts.hostname or data["name"]
    if not HOSTNAME.match(hostname):
        raise Invalid(f"--hostname {hostname!r}: not a valid host name", EXIT_INPUT)
    if not STORAGE.match(opts.storage):
        raise Invalid(f"--storage {opts.storage!r}: not a valid storage id", EXIT_INPUT)
    if opts.bridge is not None and not BRIDGE.match(opts.bridge):
        raise Invalid(f"--bridge {opts.bridge!r}: not a valid bridge name", EXIT_INPUT)
    packages = resolve_packages(data, Path(opts.buckets_dir), schema_dir)
    services = data.get("services", [])
    if any(s.get("web_ui") for s in services) and "curl" not in {p.split("=", 1)[0] for p in packages}:
        packages.append("curl")  # verify fetches each web UI from inside the container
    inputs = resolve_inputs(data, given)
    if opts.env_file_dir:
        env = {"LXCM_DEPLOY_ID": opts.deploy_id, "LXCM_TEMPLATE": data["name"]}
        write_inputs(Path(opts.env_file_dir), inputs, env)
    return {
        "format": 1,
        "deploy_id": opts.deploy_id,
        "name": data["name"],
        "description": data.get("description", ""),
        "version": data.get("version") or "",
        "template_dir": str(tdir.resolve()),
        "tags": data.get("tags", []),
        "os": {"template": data["os"]["template"], "volid": data["os"].get("volid") or ""},
        "storage": opts.storage,
        "hostname": hostname,
        "create_args": create_args(data, hostname, opts.storage, opts.bridge),
        "packages": packages,
        "scripts": scripts,
        "hooks": hooks,
        "files": files,
        "services": [
            {"name": s["name"], "unit": s.get("unit") or "", "port": str(s.get("port") or ""),
             "protocol": s.get("protocol", "tcp"), "web_ui": s.get("web_ui") or ""}
            for s in services
        ],  # fmt: skip
        "credentials": [
            {"name": c["name"], "file": c["capture"].get("file") or "", "output": c["capture"].get("output") or ""}
            for c in data.get("credentials", [])
        ],
        "inputs": [
            {"name": i["name"], "secret": i["secret"],
             "display": "" if i["value"] is None else (SECRET_MASK if i["secret"] else shell_value(i["value"]))}
            for i in inputs
        ],  # fmt: skip
        "secret_inputs": [i["name"] for i in inputs if i["secret"] and i["value"] is not None],
    }


# ---------------------------------------------------------------- NUL stream for bash


def emit(plan: dict[str, Any]) -> None:
    out: list[tuple[str, str]] = []
    for key in ("deploy_id", "name", "description", "version", "template_dir", "storage", "hostname"):
        out.append((key, str(plan[key])))
    out += [("os_template", plan["os"]["template"]), ("os_volid", plan["os"]["volid"])]
    out += [("tag", t) for t in plan["tags"]]
    out += [("create_arg", a) for a in plan["create_args"]]
    out += [("package", p) for p in plan["packages"]]
    out += [("script", s) for s in plan["scripts"]]
    for event, names in plan["hooks"].items():
        out += [("hook_" + event.replace("-", "_"), n) for n in names]
    for f in plan["files"]:
        out += [("file_" + k, f[k]) for k in ("source", "destination", "user", "group", "mode")]
    for s in plan["services"]:
        out += [("service_" + k, s[k]) for k in ("name", "unit", "port", "protocol", "web_ui")]
    for c in plan["credentials"]:
        out += [("credential_" + k, c[k]) for k in ("name", "file", "output")]
    out += [("input_display", f"{i['name']}={i['display']}") for i in plan["inputs"]]
    out += [("secret_input", n) for n in plan["secret_inputs"]]
    buf = sys.stdout.buffer
    for key, value in out:
        if "\0" in value:
            raise Invalid(f"{key}: NUL byte in value")
        buf.write(key.encode() + b"\0" + value.encode("utf-8") + b"\0")
    buf.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="manifest.py")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("resolve")
    r.add_argument("--template-dir", required=True)
    r.add_argument("--buckets-dir", required=True)
    r.add_argument("--schema-dir", required=True)
    r.add_argument("--deploy-id", required=True)
    r.add_argument("--hostname")
    r.add_argument("--storage", default="local-lvm")
    r.add_argument("--bridge")
    r.add_argument("--env-file-dir", help="write env + secrets/ here (0600)")
    r.add_argument("--plan-out")
    e = sub.add_parser("emit")
    e.add_argument("plan")
    opts = parser.parse_args(argv)
    try:
        if opts.command == "emit":
            emit(json.loads(Path(opts.plan).read_text(encoding="utf-8")))
            return 0
        if not DEPLOY_ID.match(opts.deploy_id):
            raise Invalid(f"--deploy-id {opts.deploy_id!r}: invalid", EXIT_INPUT)
        plan = resolve(opts, parse_sets(sys.stdin.buffer.read()))
        text = json.dumps(plan, indent=1, sort_keys=True) + "\n"
        if opts.plan_out:
            write_private(Path(opts.plan_out), text)
        else:
            sys.stdout.write(text)
        return 0
    except Invalid as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.code
    except UnicodeDecodeError:
        sys.stderr.write("--set values must be UTF-8 text\n")
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
