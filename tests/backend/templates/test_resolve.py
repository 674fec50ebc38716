"""Resolution for deployments: packages from buckets, inputs, PVE parameters equal to the engine's."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest
import yaml

from lxc_manager.templates.format import TemplateManifest
from lxc_manager.templates.resolve import (
    SECRET_MASK,
    InputError,
    mask_inputs,
    masked_manifest_json,
    pve_create_params,
    resolve_inputs,
    resolve_packages,
)
from lxc_tree import REPO_LXC

BASE = {"format": 1, "name": "demo", "os": {"template": "debian-12-standard"}}


def manifest(**extra: Any) -> TemplateManifest:
    return TemplateManifest.model_validate({**BASE, **extra})


def test_packages_expand_in_order_with_sources_and_pins() -> None:
    m = manifest(packages={"buckets": ["base", "web", "gone"], "extra": ["curl=7.88*", "jq"]})
    result = resolve_packages(m, {"base": ["curl", "ca-certificates"], "web": ["nginx=1.22*", "curl", "jq"]})
    assert [(p.spec, p.sources) for p in result.packages] == [
        ("curl=7.88*", ["base", "web", "extra"]),
        ("ca-certificates", ["base"]),
        ("nginx=1.22*", ["web"]),
        ("jq", ["web", "extra"]),
    ]
    assert result.missing_buckets == ["gone"] and result.conflicts == []


def test_conflicting_bucket_pins_are_reported() -> None:
    m = manifest(packages={"buckets": ["a", "b"]})
    result = resolve_packages(m, {"a": ["nginx=1.22*"], "b": ["nginx=1.24*"]})
    assert result.packages[0].spec == "nginx=1.22*"
    assert result.conflicts == ["nginx: nginx=1.22* (a) vs nginx=1.24* (b)"]


def test_inputs_defaults_types_generation_and_errors() -> None:
    m = manifest(
        inputs=[
            {"name": "greeting", "default": "hi", "max": 10},
            {"name": "port", "type": "int", "min": 1, "max": 65535, "required": True},
            {"name": "debug", "type": "bool", "default": False},
            {"name": "size", "type": "enum", "choices": ["s", "m"], "default": "s"},
            {"name": "secret", "type": "password", "generate": True, "min": 12},
            {"name": "token", "secret": True, "pattern": "[a-f0-9]{8}"},
        ]
    )
    values = resolve_inputs(m, {"port": "8080", "debug": "yes", "token": "deadbeef"})
    assert values["greeting"] == "hi" and values["port"] == 8080 and values["debug"] is True
    assert isinstance(values["secret"], str) and len(values["secret"]) >= 12
    assert mask_inputs(m, values)["secret"] == SECRET_MASK and mask_inputs(m, values)["token"] == SECRET_MASK

    with pytest.raises(InputError) as info:
        resolve_inputs(m, {"port": "0", "size": "xl", "greeting": "x" * 11, "token": "nothex!!", "nope": 1})
    assert set(info.value.problems) == {"port", "size", "greeting", "token", "nope"}
    assert "nothex" not in str(info.value)  # values are never echoed
    with pytest.raises(InputError, match="port: is required"):
        resolve_inputs(m, {})


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "x", "type": "int", "default": "seven"},
        {"name": "x", "type": "enum"},
        {"name": "x", "choices": ["a"]},
        {"name": "x", "pattern": "("},
        {"name": "x", "min": 5, "max": 1},
        {"name": "x", "generate": True},
        {"name": "x", "type": "bool", "min": 1},
        {"name": "X"},
    ],
)
def test_invalid_input_declarations(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        manifest(inputs=[spec])


def test_secret_defaults_are_masked() -> None:
    data = manifest(inputs=[{"name": "pw", "type": "password", "default": "hunter2hunter2"}]).model_dump(
        mode="json", by_alias=True
    )
    assert masked_manifest_json(data)["inputs"][0]["default"] == SECRET_MASK
    assert data["inputs"][0]["default"] == "hunter2hunter2"  # the input is untouched


def _engine_module() -> Any:
    path = REPO_LXC / "lib" / "manifest.py"
    if not path.exists():
        pytest.skip("the bash engine's manifest.py is not in this tree")
    spec = importlib.util.spec_from_file_location("lxc_engine_manifest", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "container",
    [
        {},
        {
            "cores": 4, "memory": 2048, "swap": 0, "disk": 20, "unprivileged": False, "onboot": True,
            "features": {"nesting": True, "keyctl": True, "fuse": True},
            "network": {"bridge": "vmbr1", "ip": "10.0.0.5/24", "gateway": "10.0.0.1", "ip6": "fd00::5/64",
                        "gateway6": "fd00::1", "vlan": 20, "firewall": True, "mtu": 1400},
            "dns": {"servers": ["1.1.1.1", "9.9.9.9"], "search_domain": "lab.example"},
        },
    ],
)  # fmt: skip
def test_pve_parameters_equal_the_engines(container: dict[str, Any]) -> None:
    engine = _engine_module()
    m = manifest(container=container, os={"template": "debian-12-standard", "ostype": "debian"})
    ours = pve_create_params(m, hostname="ct1", storage="local-lvm")
    args = engine.create_args(yaml.safe_load(yaml.safe_dump(m.model_dump(mode="json"))), "ct1", "local-lvm", None)
    theirs = dict(zip(args[0::2], args[1::2], strict=True))
    assert {f"--{k}": str(v) for k, v in ours.items()} == theirs
