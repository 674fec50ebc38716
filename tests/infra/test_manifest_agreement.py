"""The bash engine's manifest.py accepts and rejects exactly what the dashboard's models do.

Each case mutates a real template manifest and compares ``TemplateManifest.model_validate`` with the engine's
validation: the JSON Schema (python3-jsonschema, and the engine's built-in interpreter used when that package
is absent on a PVE node) followed by its cross-field rules.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from lxc_manager.templates.format import TemplateManifest

LXC = Path(__file__).resolve().parents[2] / "infra" / "lxc"
DELETE = object()


def _engine() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lxc_engine_manifest_agreement", LXC / "lib" / "manifest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ENGINE = _engine()
SCHEMA = json.loads((LXC / "schema" / "template.schema.json").read_text(encoding="utf-8"))
BASES = {
    name: yaml.safe_load((LXC / "templates" / name / "template.yaml").read_text(encoding="utf-8"))
    for name in ("minimal", "forge-shield")
}

# (base template, path, new value or DELETE)
CASES: list[tuple[str, tuple[str | int, ...], Any]] = [
    ("minimal", (), None),
    ("forge-shield", (), None),
    ("minimal", ("format",), 2),
    ("minimal", ("name",), "Bad_Name"),
    ("minimal", ("os",), DELETE),
    ("minimal", ("os", "volid"), "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
    ("minimal", ("os", "volid"), "local:iso/x.iso"),
    ("minimal", ("os", "ostype"), "windows"),
    ("minimal", ("container", "cores"), 0),
    ("minimal", ("container", "memory"), 15),
    ("minimal", ("container", "memroy"), 512),
    ("minimal", ("container", "network", "ip"), "10.0.0.5"),
    ("minimal", ("container", "network", "ip"), "10.0.0.5/24"),
    ("minimal", ("container", "network", "ip"), "fd00::5/64"),
    ("minimal", ("container", "network", "gateway"), "10.0.0.1"),
    ("minimal", ("container", "network", "ip6"), "fd00::5/64"),
    ("minimal", ("container", "network", "ip6"), "10.0.0.5/24"),
    ("minimal", ("container", "network", "vlan"), 0),
    ("minimal", ("container", "network", "vlan"), 4094),
    ("minimal", ("container", "network", "bridge"), "vmbr 0"),
    ("minimal", ("container", "dns"), {"servers": ["1.1.1.1", "bad"]}),
    ("minimal", ("container", "dns"), {"servers": ["1.1.1.1"], "search_domain": "lab.example"}),
    ("minimal", ("tags",), ["web", "web"]),
    ("minimal", ("tags",), ["Web"]),
    ("minimal", ("packages", "extra"), ["python3", "Bad_Pkg"]),
    ("minimal", ("packages", "extra"), ["python3", "nginx=1.22*"]),
    ("minimal", ("packages", "extra"), ["python3", "python3"]),
    ("minimal", ("scripts",), ["../10-web.sh"]),
    ("minimal", ("scripts",), ["10-web.sh", "10-web.sh"]),
    ("minimal", ("files", 0, "source"), "../etc/passwd"),
    ("minimal", ("files", 0, "source"), "/etc/passwd"),
    ("minimal", ("files", 0, "destination"), "srv/www/index.html"),
    ("minimal", ("files", 0, "destination"), "/srv//www/index.html"),
    ("minimal", ("files", 0, "destination"), "/srv/www/../index.html"),
    ("minimal", ("files", 0, "mode"), "999"),
    ("minimal", ("files", 0, "mode"), "0640"),
    ("minimal", ("files", 0, "owner"), "Root"),
    ("minimal", ("files", 1, "destination"), "/srv/www/index.html.in"),
    ("minimal", ("hooks", "on-boot"), ["x.sh"]),
    ("minimal", ("services", 0, "protocol"), "tcp"),
    ("minimal", ("services", 0, "web_ui"), "index.html"),
    ("minimal", ("services", 0, "unit"), "minimal-web"),
    ("minimal", ("services", 0, "port"), 70000),
    ("minimal", ("services",), [{"name": "x"}]),
    ("minimal", ("credentials", 0, "capture"), {"file": "/a", "output": "A"}),
    ("minimal", ("credentials", 0, "capture"), {"file": "relative"}),
    ("minimal", ("credentials", 0, "service"), "nope"),
    ("minimal", ("inputs", 0, "type"), "float"),
    ("minimal", ("inputs", 0, "default"), ""),
    ("minimal", ("inputs", 0, "pattern"), "^[a-z]+$"),
    ("minimal", ("inputs", 0, "pattern"), "(unclosed"),
    ("minimal", ("inputs", 0, "choices"), ["a"]),
    ("minimal", ("inputs", 1, "generate"), False),
    ("minimal", ("inputs",), [{"name": "n", "type": "int", "min": 5, "max": 1}]),
    ("minimal", ("inputs",), [{"name": "n", "type": "int", "default": "3"}]),
    ("minimal", ("inputs",), [{"name": "n", "type": "bool", "min": 1}]),
    ("minimal", ("inputs",), [{"name": "n", "type": "enum"}]),
    ("minimal", ("inputs",), [{"name": "n", "type": "enum", "choices": ["a", "b"], "default": "c"}]),
    ("minimal", ("inputs",), [{"name": "n", "type": "string", "generate": True}]),
    ("minimal", ("inputs",), [{"name": "Bad"}]),
    ("forge-shield", ("inputs", 0, "default"), "Root"),
    ("forge-shield", ("hooks", "post-start"), ["wait network.sh"]),
]


# Known difference, reported to the template-format owner: the models validate in pydantic's lax mode and
# coerce "4" → 4 and "yes"/1 → true, which their own JSON Schema (and so the engine) rejects.
LAX_COERCION = [
    ("minimal", ("container", "cores"), "4"),
    ("minimal", ("container", "cores"), True),
    ("minimal", ("container", "unprivileged"), "yes"),
]


def _mutated(base: str, path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(BASES[base])
    if not path:
        return data
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def _models_accept(data: dict[str, Any]) -> bool:
    try:
        TemplateManifest.model_validate(data)
    except ValidationError:
        return False
    return True


def _engine_accepts(data: dict[str, Any], *, builtin: bool) -> bool:
    errors: list[Any] = []
    if builtin:
        ENGINE._check(data, SCHEMA, SCHEMA, [], errors)
    else:
        errors = ENGINE.schema_errors(data, SCHEMA)
    return not errors and not ENGINE.semantic_errors(data)


def _id(base: str, path: tuple[str | int, ...], value: Any) -> str:
    return f"{base}:{'.'.join(map(str, path)) or 'as-is'}={value!r}"[:80]


# The models are strict (no coercion), so the former lax-mode cases must agree too.
PARAMS = [pytest.param(*case, id=_id(*case)) for case in (*CASES, *LAX_COERCION)]


@pytest.mark.parametrize(("base", "path", "value"), PARAMS)
def test_engine_validation_agrees_with_the_models(base: str, path: tuple[str | int, ...], value: Any) -> None:
    data = _mutated(base, path, value)
    expected = _models_accept(data)
    assert _engine_accepts(data, builtin=True) is expected, "built-in schema interpreter disagrees"
    pytest.importorskip("jsonschema")
    assert _engine_accepts(data, builtin=False) is expected, "python3-jsonschema path disagrees"


def test_cases_cover_both_outcomes() -> None:
    outcomes = [_models_accept(_mutated(b, p, v)) for b, p, v in CASES]
    assert outcomes.count(True) >= 8 and outcomes.count(False) >= 30
