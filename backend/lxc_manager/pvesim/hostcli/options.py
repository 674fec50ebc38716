"""PVE's command-line option syntax (``PVE::JSONSchema::get_options``), checked against the API schema.

``--name value``, ``-name value`` and ``--name=value`` all work, options and positional arguments may be mixed,
``--`` ends the options. A boolean option takes an optional value (``--force`` alone means 1). Unknown options,
missing values and a wrong number of positional arguments fail with PVE's messages and exit 255.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxc_manager.pvesim.schema import MethodInfo, parse_boolean

NEGATIVE_NUMBER_RE = re.compile(r"^-\d+(\.\d+)?$")


class CliError(Exception):
    """A failure the CLI reports like PVE's: the message on stderr, then exit ``code`` (an uncaught die: 255)."""

    def __init__(self, message: str, code: int = 255) -> None:
        super().__init__(message)
        self.message = message if message.endswith("\n") else message + "\n"
        self.code = code


@dataclass
class Parsed:
    positional: list[str]
    options: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)


def _schema_of(name: str, info: MethodInfo | None, local: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if name in local:
        return local[name]
    return info.property(name) if info is not None else None


def parse_options(
    args: list[str],
    *,
    positional: int,
    usage: str,
    info: MethodInfo | None = None,
    local: dict[str, dict[str, Any]] | None = None,
    skip: frozenset[str] = frozenset(),
    extra_args: bool = False,
) -> Parsed:
    """Split ``args`` into ``positional`` arguments and ``--options`` known to ``info`` (or ``local``).

    ``skip``: schema parameters that are positional or implied (``node``, ``vmid``) and so not options.
    ``extra_args``: words after ``--`` (and surplus positional words) are kept in ``extra`` (``pct exec``).
    """
    local = local or {}
    parsed = Parsed(positional=[])
    words: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            parsed.extra = args[index:]
            break
        if not arg.startswith("-") or arg == "-" or NEGATIVE_NUMBER_RE.match(arg):
            words.append(arg)
            continue
        name, has_value, value = arg.lstrip("-").partition("=")
        schema = None if name in skip else _schema_of(name, info, local)
        if schema is None:
            raise CliError(f"Unknown option: {name}\n400 unable to parse option\n{usage}")
        if schema.get("type") == "boolean":
            if not has_value:
                # Getopt ':s': the next word is the value when it is not an option itself.
                if index < len(args) and not args[index].startswith("-"):
                    value = args[index]
                    index += 1
                else:
                    value = "1"
            boolean = parse_boolean(value) if value != "" else 1
            if boolean is None:
                raise CliError(
                    f"400 Parameter verification failed.\n{name}: type check ('boolean') failed - got '{value}'\n\n"
                    f"{usage}"
                )
            parsed.options[name] = str(boolean)
            continue
        if not has_value:
            if index >= len(args):
                raise CliError(f"400 Parameter verification failed.\n{name}: missing value\n\n{usage}")
            value = args[index]
            index += 1
        parsed.options[name] = value
    if len(words) < positional:
        raise CliError(f"400 not enough arguments\n{usage}")
    if len(words) > positional:
        if not extra_args:
            raise CliError(f"400 too many arguments\n{usage}")
        parsed.extra = words[positional:] + parsed.extra
    parsed.positional = words[:positional]
    return parsed
