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
