"""The schema check that runs after every client test (conftest ``make_client``) really catches bad requests, and
the recorded real PVE answers (../shared/pve-api/fixtures, read in place) parse through the client's models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pve_fake import SHARED_PVE_API, ClientFactory, FakePVE, pve_ok

from lxc_manager.integrations.proxmox import (
    ClusterResource,
    LXCConfig,
    LXCStatus,
    NetSpec,
    NodeStatus,
    RootfsSpec,
    SnapshotEntry,
    TaskLog,
    TaskLogLine,
    TaskStatus,
    parse_upid,
)
from pve_conformance import RecordedRequest, conformance_errors, load_schema_or_skip


def test_schema_check_finds_wrong_names_types_enums_and_missing_parameters() -> None:
    schema = load_schema_or_skip()
    template = "local:vztmpl/a.tar.zst"
    create = "/nodes/pve1/lxc"
    bad = [
        RecordedRequest("POST", create, {"vmid": "201", "ostemplate": template, "onboot": "True"}, {}),
        RecordedRequest("GET", "/cluster/resources", {"type": "lxc"}, {}),
        RecordedRequest("POST", create, {"vmid": "201"}, {}),
        RecordedRequest("GET", "/nodes/pve1/lxc", {"bogus": "1"}, {}),
        RecordedRequest("GET", "/nodes/pve1/no-such-endpoint", {}, {}),
        RecordedRequest("POST", create, {"vmid": "201", "ostemplate": template, "net0": "name=e0,colour=red"}, {}),
    ]
    problems = conformance_errors(schema, bad)
    assert len(problems) == len(bad)
    assert "type check ('boolean') failed - got 'True'" in problems[0]
    assert "enumeration" in problems[1]
    assert "ostemplate: property is missing" in problems[2]
    assert "bogus" in problems[3]
    assert "not implemented" in problems[4]
    assert "colour" in problems[5]
    params = {"vmid": "201", "ostemplate": template, "unprivileged": "1", "net0": "name=eth0,bridge=vmbr0,ip=dhcp"}
    assert conformance_errors(schema, [RecordedRequest("POST", create, params, {})]) == []


@pytest.mark.pve_nonconformant
async def test_client_requests_are_recorded_for_the_check(fake: FakePVE, make_client: ClientFactory) -> None:
    schema = load_schema_or_skip()
    client = make_client(fake)
    fake.on("GET", "/nodes/pve1/lxc", pve_ok([]))
    await client.request("GET", "/nodes/pve1/lxc", {"full": True})
    records = make_client.transports[0].records
    assert [(r.method, r.path, r.params) for r in records] == [("GET", "/nodes/pve1/lxc", {"full": "1"})]
    assert conformance_errors(schema, records) != []


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text())


def test_every_fixture_file_is_covered(fixtures_dir: Path) -> None:
    covered = set(FIXTURE_PARSERS) | {"SOURCES.md", "http_headers.proxmoxer.json"}
    assert {p.name for p in fixtures_dir.iterdir()} <= covered, "new fixture without a parser test"


def _cluster_resources(body: Any) -> None:
    items = [ClusterResource.model_validate(x) for x in body["data"]]
    assert {i.type for i in items} >= {"lxc", "qemu", "node", "storage"}
    guests = [i for i in items if i.type in ("lxc", "qemu")]
    assert all(isinstance(g.vmid, int) and g.template is False for g in guests)


def _nodes_lxc(body: Any) -> None:
    items = [LXCStatus.model_validate(x) for x in body["data"]]
    assert all(i.pressurecpusome == 0.0 for i in items)
    assert min(i.cpu or 0 for i in items) < 0  # PVE reports slightly negative cpu


def _lxc_config(body: Any) -> None:
    config = LXCConfig.model_validate(body["data"])
    assert config.unprivileged is True and config.memory == 512
    net0 = NetSpec.parse(config.indexed("net")[0])
    assert net0.bridge == "vmbr0" and net0.build() == body["data"]["net0"]
    assert RootfsSpec.parse(config.rootfs or "").size == "8G"


def _snapshots(body: Any) -> None:
    assert [SnapshotEntry.model_validate(x).running for x in body["data"]] == [True]


def _node_status(body: Any) -> None:
    status = NodeStatus.model_validate(body["data"])
    assert status.memory is not None and status.memory.total > 0
    assert status.loadavg == [0.04, 0.04, 0.04]
    assert status.cpuinfo is not None and status.cpuinfo.mhz == 4400.0


def _task_status(body: Any) -> None:
    status = TaskStatus.model_validate(body["data"])
    upid = parse_upid(status.upid)
    assert upid.node == status.node and upid.type == status.type and upid.pid == status.pid
    assert status.running == (status.exitstatus is None)


def _task_log(body: Any) -> None:
    log = TaskLog(lines=[TaskLogLine.model_validate(x) for x in body["data"]], total=body["total"])
    assert log.total == len(log.lines)


def _write_responses(body: Any) -> None:
    for exchange in body["exchanges"]:
        data = exchange["response"]["data"]
        if data is not None:
            assert parse_upid(data).format() == data
        form = exchange["request"].get("form", {})
        if "net0" in form and exchange["request"]["path"].endswith("/lxc"):
            assert NetSpec.parse(form["net0"]).build() == form["net0"]


FIXTURE_PARSERS = {
    "cluster_resources.pve8.flutter_server_box.json": _cluster_resources,
    "cluster_resources.pve9_2.json": _cluster_resources,
    "nodes_lxc.pve9_2.json": _nodes_lxc,
    "lxc_config.pve9_2.json": _lxc_config,
    "lxc_snapshot_list.pve9_2.json": _snapshots,
    "node_status.pve9_2.json": _node_status,
    "task_log.proxmoxer.json": _task_log,
    "task_status_running.proxmoxer.json": _task_status,
    "task_status_stopped_error.proxmoxer.json": _task_status,
    "task_status_stopped_ok.proxmoxer.json": _task_status,
    "task_status_stopped_warnings.pve9_2.json": _task_status,
    "write_responses.pve9_2.json": _write_responses,
}


@pytest.mark.parametrize("name", sorted(FIXTURE_PARSERS))
def test_recorded_fixture_parses(fixtures_dir: Path, name: str) -> None:
    path = fixtures_dir / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    FIXTURE_PARSERS[name](_load(fixtures_dir, name))


def test_shared_folder_resolution() -> None:
    assert SHARED_PVE_API.name == "pve-api" and SHARED_PVE_API.parent.name == "shared"
