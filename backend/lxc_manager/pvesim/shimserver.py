"""The memory backend's shim calls, served by the simulator's own process.

The wrappers in a sandbox's ``/.pvesim/bin`` are small bash clients: each call sends the container, its working
directory, the command name, argv and (for ``chpasswd``) stdin over TCP to 127.0.0.1, where ``shim.run`` executes
it against the container's state files, and prints the exit status, stdout and stderr it gets back. A shell with
``/dev/tcp`` starts in ~1.5 ms of CPU, a Python interpreter in ~10 ms, and a deployment makes about ten shim calls
(the pipeline's checks, and ``systemctl``/``ip``/``getent`` in template scripts).

Wire format, request: NUL-terminated fields ``token vmid cwd name argc argv… stdin-length`` then the stdin bytes.
Answer: ``"<status> <stdout bytes> <stderr bytes>\\n"`` then both outputs. The token (random per server, passed to
commands in their environment like ``CT_VMID``) keeps other local users from driving the shims.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from lxc_manager.core.logging import get_logger
from lxc_manager.pvesim import shim

log = get_logger(__name__)

SHIMMED = tuple(sorted({*shim.COMMANDS, "wget"}))
_FIELD_LIMIT = 1 << 20  # one argument, the stdin length …; a longer one drops the call (the client exits 1)
_CLIENT = """#!/bin/bash
# pvesim shim client for {name}: the simulator runs the call in its own process (see lxc_manager/pvesim/shimserver.py).
LC_ALL=C
exec 3<>"/dev/tcp/127.0.0.1/${{PVESIM_SHIM_PORT:?no shim server}}" || exit 127
input=
{read_stdin}
printf '%s\\0' "${{PVESIM_SHIM_TOKEN:?}}" "${{CT_VMID:?}}" "$PWD" {name} "$#" "$@" "${{#input}}" >&3
printf '%s' "$input" >&3
IFS=' ' read -r status outlen errlen <&3 || exit 1
if [ "$outlen" -gt 0 ]; then IFS= read -r -N "$outlen" text <&3; printf '%s' "$text"; fi
if [ "$errlen" -gt 0 ]; then IFS= read -r -N "$errlen" text <&3; printf '%s' "$text" >&2; fi
exit "$status"
"""


def client_script(name: str) -> str:
    """The wrapper installed as ``/.pvesim/bin/<name>``; only ``chpasswd`` reads its stdin (to EOF)."""
    if name not in SHIMMED:
        raise ValueError(f"no shim named {name!r}")
    read_stdin = "IFS= read -r -d '' input || true" if name == "chpasswd" else ""
    return _CLIENT.format(name=name, read_stdin=read_stdin)


class ShimServer:
    """One listener per simulator (per event loop); ``root_of(vmid)`` is the container's sandbox root or None."""

    def __init__(self, root_of: Callable[[int], Path | None]) -> None:
        self._root_of = root_of
        self.token = secrets.token_hex(16)
        self._server: asyncio.Server | None = None
        self._starting: asyncio.Future[None] | None = None
        self.port = 0

    async def ensure_started(self) -> None:
        if self._starting is None:  # the first caller starts it, the others (same loop) wait for that
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_FIELD_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def environment(self) -> dict[str, str]:
        return {"PVESIM_SHIM_PORT": str(self.port), "PVESIM_SHIM_TOKEN": self.token}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            answer = await self._answer(reader)
            if answer is not None:
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, ConnectionError) as exc:
            log.debug("pvesim shim call dropped", error=str(exc))
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> bytes | None:
        async def field() -> str:
            return (await reader.readuntil(b"\0"))[:-1].decode("utf-8", "surrogateescape")

        if not hmac.compare_digest((await field()).encode("utf-8", "surrogateescape"), self.token.encode()):
            return None
        vmid, cwd, name, argc = int(await field()), await field(), await field(), int(await field())
        argv = [await field() for _ in range(argc)]
        stdin = (await reader.readexactly(int(await field()))).decode("utf-8", "replace")
        root = self._root_of(vmid)
        if root is None or name not in SHIMMED:
            return b"127 0 %d\n" % len(message := f"{name}: no such container or command\n".encode()) + message
        code, out, err = shim.run(str(root), name, argv, _ct_path(str(root), cwd), stdin)
        stdout, stderr = out.encode("utf-8", "surrogateescape"), err.encode("utf-8", "surrogateescape")
        return f"{code} {len(stdout)} {len(stderr)}\n".encode() + stdout + stderr


def _ct_path(root: str, cwd: str) -> str:
    """The working directory as the container sees it (prefix isolation reports the host path of the sandbox)."""
    if cwd == root or cwd.startswith(root + "/"):
        return "/" + os.path.relpath(cwd, root).removeprefix(".")
    return cwd or "/"
