"""The simulator's payloads have the shape of the recorded real responses in ../shared/pve-api/fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from simkit import Pve

from lxc_manager.pvesim.schema import resolve_schema_path

FIXTURES = resolve_schema_path().parent / "fixtures"


def fixture(name: str) -> Any:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"recorded PVE fixtures not available at {FIXTURES}")
    return json.loads(Path(path).read_text())["data"]


def _types(item: dict[str, Any]) -> dict[str, type]:
    return {key: type(value) for key, value in item.items()}


async def _running(pve: Pve) -> None:
    await pve.create_ct(201, cores="1")
    assert (await pve.wait(await pve.data("POST", "/nodes/pve1/lxc/201/status/start")))["exitstatus"] == "OK"


async def test_lxc_list_entry_matches_recording(pve: Pve) -> None:
    await _running(pve)
    real = fixture("nodes_lxc.pve9_2.json")[0]
    ours = (await pve.data("GET", "/nodes/pve1/lxc"))[0]
    assert set(real) <= set(ours), set(real) - set(ours)
    for key in ("pressurecpusome", "pressureiofull", "pressurememorysome"):
        assert isinstance(ours[key], str)  # strings, as PVE sends them
    assert isinstance(ours["vmid"], int) and isinstance(ours["pid"], int)


async def test_cluster_resources_entries_match_recording(pve: Pve) -> None:
    await _running(pve)
    recorded = fixture("cluster_resources.pve9_2.json")
    ours = await pve.data("GET", "/cluster/resources")
    for kind in ("lxc", "node", "storage", "network"):
        real = next(item for item in recorded if item["type"] == kind)
        mine = next(item for item in ours if item["type"] == kind)
        missing = set(real) - set(mine) - {"hastate"}  # hastate only for HA-managed resources
        assert not missing, (kind, missing)
    lxc = next(item for item in ours if item["type"] == "lxc")
    assert lxc["id"] == "lxc/201" and lxc["memhost"] == 0


async def test_config_node_status_task_and_snapshot_shapes(pve: Pve) -> None:
    await _running(pve)
    real_config = fixture("lxc_config.pve9_2.json")
    config = await pve.data("GET", "/nodes/pve1/lxc/201/config")
    assert set(real_config) <= set(config)
    assert {k: t for k, t in _types(config).items() if k in real_config} == _types(real_config)
    real_status = fixture("node_status.pve9_2.json")
    status = await pve.data("GET", "/nodes/pve1/status")
    assert set(real_status) <= set(status), set(real_status) - set(status)
    assert set(real_status["memory"]) <= set(status["memory"]) and set(real_status["cpuinfo"]) <= set(status["cpuinfo"])
    real_task = fixture("task_status_stopped_warnings.pve9_2.json")
    upid = await pve.data("POST", "/nodes/pve1/lxc/201/status/reboot")
    task = await pve.wait(upid)
    assert set(real_task) == set(task) and _types(task) == _types(real_task)
    real_snapshots = fixture("lxc_snapshot_list.pve9_2.json")
    snapshots = await pve.data("GET", "/nodes/pve1/lxc/201/snapshot")
    assert snapshots[-1].keys() == real_snapshots[0].keys() and snapshots[-1]["running"] == 1


async def test_write_responses_are_upids_or_null(pve: Pve) -> None:
    path = FIXTURES / "write_responses.pve9_2.json"
    if not path.exists():
        pytest.skip(f"recorded PVE fixtures not available at {FIXTURES}")
    recorded = json.loads(path.read_text())["exchanges"]
    create = next(e for e in recorded if e["request"]["path"] == "/api2/json/nodes/pve/lxc")
    form = dict(create["request"]["form"])
    form["password"] = "recorded-password"
    form["ostemplate"] = "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst"  # the template our nodes carry
    upid = await pve.data("POST", "/nodes/pve1/lxc", data=form)
    assert upid.split(":")[5:7] == ["vzcreate", "201"]
    assert (await pve.wait(upid))["exitstatus"] == "OK"
    put = next(e for e in recorded if e["request"]["method"] == "PUT")
    assert await pve.data("PUT", "/nodes/pve1/lxc/201/config", data=put["request"]["form"]) is put["response"]["data"]
    config = await pve.data("GET", "/nodes/pve1/lxc/201/config")
    assert config["rootfs"] == "local-lvm:vm-201-disk-0,size=8G" and config["memory"] == 1024 and config["cores"] == 2
