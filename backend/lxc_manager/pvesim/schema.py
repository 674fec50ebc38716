"""The official PVE API schema (``apidata.json``) as a route table and a parameter validator that answers like PVE.

The schema is AGPL data owned by Proxmox, so it is never shipped: it is read at run time from ``--schema PATH``,
``$LXCM_PVE_SCHEMA`` or ``<repo>/../shared/pve-api/apidata.json``. The validation rules and their messages follow
``PVE::JSONSchema`` (``check_prop``, ``check_type``, ``check_object``, ``parse_property_string``): per-parameter
errors such as ``type check ('boolean') failed - got 'True'`` or ``property is missing and it is not optional``.

Reusable by any client-side conformance check: ``ApiSchema.load(path).validate(method, path, params)``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxc_manager.pvesim.formats import FormatError, check_named_format

SCHEMA_ENV = "LXCM_PVE_SCHEMA"
DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parents[3].parent / "shared" / "pve-api" / "apidata.json"

MISSING = "property is missing and it is not optional"
NOT_DEFINED = "property is not defined in schema and the schema does not allow additional properties"
DUPLICATE_URI = "duplicate parameter (already defined in URI) with conflicting values!"

# extractapi.pl collapses net0..net31 into ``net[n]``; these are PVE's real upper bounds (exclusive).
INDEXED_LIMITS = {
    "net": 32, "mp": 256, "unused": 256, "dev": 256, "ide": 4, "sata": 6, "scsi": 31, "virtio": 16,
    "hostpci": 16, "usb": 14, "serial": 4, "parallel": 3, "numa": 8, "ipconfig": 32, "virtiofs": 10,
}  # fmt: skip
_INDEXED_RE = re.compile(r"^([a-z][a-z_-]*?)(\d+)$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$")
_INTEGER_RE = re.compile(r"^[+-]?\d+$")

Params = dict[str, Any]


class SchemaUnavailable(RuntimeError):
    """apidata.json is missing or unreadable: the simulator refuses to start."""


class MethodNotImplemented(Exception):
    """No route for this method and path: PVE answers 501 ``Method 'GET /x' not implemented``."""

    def __init__(self, method: str, path: str) -> None:
        self.message = f"Method '{method} {path}' not implemented"
        super().__init__(self.message)


class PropertyStringError(Exception):
    """A property string that fails to parse (message ends in a newline) or whose sub-keys are invalid."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def render(self) -> str:
        text = self.message
        for key, msg in self.errors.items():
            text += f"{key}: {msg.rstrip(chr(10))}\n"
        return text


@dataclass(frozen=True)
class MethodInfo:
    """One ``info.<METHOD>`` entry of the schema."""

    method: str
    path: str
    name: str
    properties: dict[str, dict[str, Any]]
    additional_properties: bool
    permissions: dict[str, Any]
    allowtoken: bool
    protected: bool
    proxyto: str | None
    returns: dict[str, Any]

    def property(self, name: str) -> dict[str, Any] | None:
        """The schema of parameter ``name``, resolving indexed names (``net0`` → ``net[n]``)."""
        if name in self.properties:
            return self.properties[name]
        match = _INDEXED_RE.match(name)
        if match:
            prefix, index = match.group(1), int(match.group(2))
            schema = self.properties.get(f"{prefix}[n]")
            if schema is not None and index < INDEXED_LIMITS.get(prefix, 256):
                return schema
        return None


@dataclass
class Route:
    template: str
    regex: re.Pattern[str]
    literal_segments: int
    methods: dict[str, MethodInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteMatch:
    info: MethodInfo
    path_params: dict[str, str]


def _compile_template(template: str) -> tuple[re.Pattern[str], int]:
    parts = []
    literals = 0
    for segment in template.strip("/").split("/"):
        name = segment[1:-1] if segment.startswith("{") and segment.endswith("}") else None
        if name is None:
            parts.append(re.escape(segment))
            literals += 1
        elif name == "volume":
            # pve-storage: fragmentDelimiter '' — volume IDs contain '/', so {volume} takes the rest of the path.
            parts.append(f"(?P<{name}>.+)")
        else:
            parts.append(f"(?P<{name.replace('-', '_')}>[^/]+)")
    return re.compile("^/" + "/".join(parts) + "$"), literals


def resolve_schema_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(SCHEMA_ENV)
    return Path(env) if env else DEFAULT_SCHEMA_PATH


class ApiSchema:
    """Route table and validator over the official schema tree."""

    def __init__(self, tree: list[dict[str, Any]]) -> None:
        self.routes: list[Route] = []
        self._by_template: dict[str, Route] = {}
        self._walk(tree)
        # Literal segments win over ``{param}`` ones, as in PVE's RESTHandler::find_handler.
        self.routes.sort(key=lambda r: (-r.literal_segments, r.template))

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ApiSchema:
        return _load_cached(str(resolve_schema_path(path)))

    def _walk(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            infos = node.get("info") or {}
            if infos:
                regex, literals = _compile_template(node["path"])
                route = Route(node["path"], regex, literals)
                for method, raw in infos.items():
                    route.methods[method] = _method_info(method, node["path"], raw)
                self.routes.append(route)
                self._by_template[node["path"]] = route
            self._walk(node.get("children") or [])

    def info(self, method: str, template: str) -> MethodInfo:
        return self._by_template[template].methods[method]

    def match(self, method: str, path: str) -> RouteMatch:
        """Find the handler for a relative path like ``/nodes/pve1/lxc/100/config``."""
        clean = "/" + path.strip("/")
        for route in self.routes:
            found = route.regex.match(clean)
            if found is None:
                continue
            info = route.methods.get(method)
            if info is None:
                break
            names = re.findall(r"\{([^}]+)\}", route.template)
            values = found.groupdict()
            return RouteMatch(info, {name: values[name.replace("-", "_")] for name in names})
        raise MethodNotImplemented(method, clean if clean != "/" else "/")

    def validate(self, method: str, path: str, params: Params) -> dict[str, str]:
        """Per-parameter errors of a request (empty when valid). Raises MethodNotImplemented for unknown routes."""
        route = self.match(method, path)
        merged, errors = merge_path_params(route.path_params, params)
        if errors:
            return errors
        return validate_params(route.info, merged)


@lru_cache(maxsize=4)
def _load_cached(path: str) -> ApiSchema:
    try:
        with open(path, encoding="utf-8") as handle:
            tree = json.load(handle)
    except FileNotFoundError:
        raise SchemaUnavailable(
            f"PVE API schema not found at {path}: pass --schema PATH or set {SCHEMA_ENV} "
            "(it is the official apidata.json, see ../shared/pve-api/README.md)"
        ) from None
    except (OSError, ValueError) as exc:
        raise SchemaUnavailable(f"PVE API schema at {path} is unreadable: {exc}") from None
    if not isinstance(tree, list):
        raise SchemaUnavailable(f"PVE API schema at {path} is not the apidata.json tree")
    return ApiSchema(tree)


def _method_info(method: str, path: str, raw: dict[str, Any]) -> MethodInfo:
    parameters = raw.get("parameters") or {}
    return MethodInfo(
        method=method,
        path=path,
        name=str(raw.get("name", "")),
        properties=dict(parameters.get("properties") or {}),
        additional_properties=bool(parameters.get("additionalProperties", 0)),
        permissions=dict(raw.get("permissions") or {}),
        allowtoken=bool(raw.get("allowtoken", 1)),
        protected=bool(raw.get("protected", 0)),
        proxyto=raw.get("proxyto"),
        returns=dict(raw.get("returns") or {}),
    )


def merge_path_params(path_params: dict[str, str], params: Params) -> tuple[Params, dict[str, str]]:
    """PVE merges URI and body parameters; a conflicting duplicate is a 400 error."""
    merged = dict(params)
    errors: dict[str, str] = {}
    for name, value in path_params.items():
        if name in merged and str(merged[name]) != value:
            errors[name] = DUPLICATE_URI
        merged[name] = value
    return merged, errors


def _add_error(errors: dict[str, str], path: str, message: str) -> None:
    path = path or "_root"
    errors[path] = f"{errors[path]}\\n{message}" if path in errors else message


def is_number(value: str) -> bool:
    return bool(_NUMBER_RE.match(value))


def is_integer(value: str) -> bool:
    return bool(_INTEGER_RE.match(value))


def parse_boolean(value: str) -> int | None:
    """Property-string booleans: ``1|on|yes|true`` and ``0|off|no|false`` (case-insensitive)."""
    lowered = value.lower()
    if lowered in {"1", "on", "yes", "true"}:
        return 1
    if lowered in {"0", "off", "no", "false"}:
        return 0
    return None


def _perl_str(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_type(path: str, type_: str | None, value: Any, errors: dict[str, str]) -> bool:
    if type_ is None or type_ == "any":
        return True
    if isinstance(value, bool):
        # JSON true/false (JSON::PP::Boolean) are only accepted where a boolean is expected.
        if type_ == "boolean":
            return True
        _add_error(errors, path, f"type check ('{type_}') failed - got JSON::PP::Boolean")
        return False
    if isinstance(value, (list, dict)):
        if (type_ == "array" and isinstance(value, list)) or (type_ == "object" and isinstance(value, dict)):
            return True
        kind = "ARRAY" if isinstance(value, list) else "HASH"
        _add_error(errors, path, f"type check ('{type_}') failed - got {kind}")
        return False
    text = _perl_str(value)
    if type_ == "boolean" and text not in {"0", "1"}:
        _add_error(errors, path, f"type check ('boolean') failed - got '{text}'")
        return False
    if type_ == "integer" and not is_integer(text):
        _add_error(errors, path, f"type check ('integer') failed - got '{text}'")
        return False
    if type_ == "number" and not is_number(text):
        _add_error(errors, path, f"type check ('number') failed - got '{text}'")
        return False
    if type_ in {"array", "object"}:
        _add_error(errors, path, f"type check ('{type_}') failed - got '{text}'")
        return False
    return True


def _pattern(pattern: str) -> re.Pattern[str]:
    return _compile_perl_pattern(pattern)


@lru_cache(maxsize=512)
def _compile_perl_pattern(pattern: str) -> re.Pattern[str]:
    # Perl stringifies qr// as (?^flags:...); PVE matches m/^$pattern$/.
    converted = re.sub(r"\(\?\^([a-z]*):", lambda m: f"(?{m.group(1)}:" if m.group(1) else "(?:", pattern)
    return re.compile(f"^(?:{converted})$")


def check_prop(value: Any, schema: dict[str, Any], path: str, errors: dict[str, str]) -> None:
    """``PVE::JSONSchema::check_prop`` for one value against its property schema."""
    if value is None:
        if schema.get("type") == "null":
            return
        if not schema.get("optional") and not schema.get("alias") and not schema.get("group"):
            _add_error(errors, path, MISSING)
        return
    if not _check_type(path, schema.get("type"), value, errors):
        return
    if isinstance(value, (list, dict)):
        return
    text = _perl_str(value)
    fmt = schema.get("format")
    if fmt:
        try:
            check_format(fmt, text, path)
        except FormatError as exc:
            _add_error(errors, path, f"invalid format - {exc.message}")
            return
        except PropertyStringError as exc:
            _add_error(errors, path, f"invalid format - {exc.render()}")
            return
    pattern = schema.get("pattern")
    if pattern and not isinstance(value, bool) and not _pattern(pattern).match(text):
        _add_error(errors, path, "value does not match the regex pattern")
        return
    max_length = schema.get("maxLength")
    if max_length is not None and len(text) > int(max_length):
        _add_error(errors, path, f"value may only be {max_length} characters long")
        return
    min_length = schema.get("minLength")
    if min_length is not None and len(text) < int(min_length):
        _add_error(errors, path, f"value must be at least {min_length} characters long")
        return
    if is_number(text):
        number = float(text)
        maximum = schema.get("maximum")
        if maximum is not None and number > float(maximum):
            _add_error(errors, path, f"value must have a maximum value of {_perl_str(maximum)}")
            return
        minimum = schema.get("minimum")
        if minimum is not None and number < float(minimum):
            _add_error(errors, path, f"value must have a minimum value of {_perl_str(minimum)}")
            return
    enum = schema.get("enum")
    if enum and text not in [str(item) for item in enum]:
        _add_error(errors, path, f"value '{text}' does not have a value in the enumeration '{', '.join(enum)}'")


def check_format(fmt: str | dict[str, Any], value: str, path: str = "") -> None:
    if isinstance(fmt, dict):
        parse_property_string(fmt, value, path)
        return
    check_named_format(fmt, value)


def parse_property_string(fmt: dict[str, dict[str, Any]], value: str, path: str = "") -> dict[str, Any]:
    """``PVE::JSONSchema::parse_property_string``: ``key=value`` pairs, one optional default key, no unknown keys."""
    result: dict[str, Any] = {}
    default_key: str | None = None
    for part in value.split(","):
        if not part.strip():
            continue
        pair = re.match(r"^([^=]+)=(.+)$", part, re.DOTALL)
        if pair:
            key, val = pair.group(1), pair.group(2)
            if key in result:
                raise PropertyStringError(f"duplicate key in comma-separated list property: {key}\n")
            sub = fmt.get(key)
            if sub is not None and sub.get("alias"):
                key_alias = sub.get("keyAlias")
                if key_alias:
                    if key_alias in result:
                        raise PropertyStringError(f"key alias '{key_alias}' is already defined\n")
                    result[key_alias] = key
                key = sub["alias"]
                sub = fmt.get(key)
            if sub is None:
                raise PropertyStringError(f"invalid key in comma-separated list property: {key}\n")
            if sub.get("type") == "boolean":
                parsed = parse_boolean(val)
                result[key] = parsed if parsed is not None else val
            else:
                result[key] = val
        elif "=" not in part:
            if default_key is not None:
                raise PropertyStringError(f"duplicate key in comma-separated list property: {default_key}\n")
            default_key = next((k for k, s in fmt.items() if s.get("default_key")), None)
            if default_key is None:
                raise PropertyStringError("value without key, but schema does not define a default key\n")
            if result.get(default_key):
                raise PropertyStringError(f"duplicate key in comma-separated list property: {default_key}\n")
            result[default_key] = part
        else:
            raise PropertyStringError("missing key in comma-separated list property\n")
    errors: dict[str, str] = {}
    for key, sub in fmt.items():
        if sub.get("alias"):
            continue
        check_prop(result.get(key), sub, f"{path}.{key}" if path else key, errors)
    if errors:
        raise PropertyStringError("format error\n", errors)
    return result


def validate_params(info: MethodInfo, params: Params) -> dict[str, str]:
    """``check_object`` at the top level: every schema property, then unknown keys and ``requires``."""
    errors: dict[str, str] = {}
    for name, declared in info.properties.items():
        if name.endswith("[n]"):
            continue
        check_prop(params.get(name), declared, name, errors)
    for name, value in params.items():
        schema = info.property(name)
        if schema is None:
            if not info.additional_properties:
                _add_error(errors, name, NOT_DEFINED)
            continue
        if name not in info.properties:
            check_prop(value, schema, name, errors)
        requires = schema.get("requires")
        if requires and params.get(requires) is None:
            _add_error(errors, name, f"missing property - '{requires}' requires this property")
    return errors


def coerce_params(info: MethodInfo, params: Params) -> Params:
    """Typed values for handlers (after validation): integers, numbers and 0/1 booleans become Python values."""
    typed: Params = {}
    for name, value in params.items():
        schema = info.property(name) or {}
        kind = schema.get("type")
        if kind == "integer" and not isinstance(value, bool):
            typed[name] = int(_perl_str(value))
        elif kind == "number" and not isinstance(value, bool):
            typed[name] = float(_perl_str(value))
        elif kind == "boolean":
            typed[name] = value if isinstance(value, bool) else _perl_str(value) == "1"
        else:
            typed[name] = value if isinstance(value, (list, dict)) else _perl_str(value)
    return typed
