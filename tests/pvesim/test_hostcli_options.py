"""The host CLI's PVE option syntax (checked against the official schema) and pvesh's output formats."""

from __future__ import annotations

import pytest

from lxc_manager.pvesim.hostcli.options import CliError, parse_options
from lxc_manager.pvesim.hostcli.tools import format_result
from lxc_manager.pvesim.schema import ApiSchema

USAGE = "pct create <vmid> <ostemplate> [OPTIONS]"


def _create(schema: ApiSchema, *args: str) -> tuple[list[str], dict[str, str]]:
    info = schema.match("POST", "/nodes/pve1/lxc").info
    parsed = parse_options(list(args), positional=2, usage=USAGE, info=info, skip=frozenset({"node", "vmid"}))
    return parsed.positional, parsed.options


def test_pve_option_forms_and_booleans(pve_schema: ApiSchema) -> None:
    positional, options = _create(
        pve_schema, "--hostname=web", "100", "-memory", "512", "local:vztmpl/d.tar.zst", "--unprivileged",
        "--description", "-starts with a dash", "--start", "no", "--net0", "name=eth0,bridge=vmbr0,ip=dhcp", "--force",
    )  # fmt: skip
    assert positional == ["100", "local:vztmpl/d.tar.zst"]
    assert options == {"hostname": "web", "memory": "512", "unprivileged": "1", "description": "-starts with a dash",
                       "start": "0", "net0": "name=eth0,bridge=vmbr0,ip=dhcp", "force": "1"}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["100", "t", "--bogus", "1"], f"Unknown option: bogus\n400 unable to parse option\n{USAGE}\n"),
        (["100", "t", "--vmid", "101"], f"Unknown option: vmid\n400 unable to parse option\n{USAGE}\n"),
        (["100", "t", "--hostname"], f"400 Parameter verification failed.\nhostname: missing value\n\n{USAGE}\n"),
        (["100", "t", "--unprivileged=maybe"],
         f"400 Parameter verification failed.\nunprivileged: type check ('boolean') failed - got 'maybe'\n\n{USAGE}\n"),
        (["100"], f"400 not enough arguments\n{USAGE}\n"),
        (["100", "t", "extra"], f"400 too many arguments\n{USAGE}\n"),
    ],
)  # fmt: skip
def test_pve_option_errors(pve_schema: ApiSchema, args: list[str], message: str) -> None:
    with pytest.raises(CliError) as caught:
        _create(pve_schema, *args)
    assert (caught.value.message, caught.value.code) == (message, 255)


def test_exec_keeps_everything_after_the_double_dash() -> None:
    parsed = parse_options(["105", "--", "sh", "-c", "echo --x; exit -1"], positional=1, usage="u", extra_args=True)
    assert (parsed.positional, parsed.extra) == (["105"], ["sh", "-c", "echo --x; exit -1"])


def test_pvesh_output_formats() -> None:
    data = [{"vmid": 100, "status": "running"}, {"vmid": 101, "status": "stopped", "lock": "backup"}]
    assert format_result("100", "json", True, True) == '"100"\n'
    assert format_result("100", "text", True, True) == "100\n"
    assert format_result(None, "text", True, True) == ""
    assert format_result({"b": 1, "a": True}, "json-pretty", True, True) == '{\n   "a": true,\n   "b": 1\n}\n'
    assert format_result(data, "text", False, True).splitlines() == [
        "lock   status  vmid",
        "       running 100",
        "backup stopped 101",
    ]
    boxed = format_result({"version": "9.1.9"}, "text", True, True).splitlines()
    assert boxed == [
        "┌─────────┬───────┐",
        "│ key     │ value │",
        "╞═════════╪═══════╡",
        "│ version │ 9.1.9 │",
        "└─────────┴───────┘",
    ]
