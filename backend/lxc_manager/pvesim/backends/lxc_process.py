"""Async subprocess plumbing of the lxc backend: argv lists only, streamed output, hard timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from lxc_manager.pvesim.backend import BackendError

OutputSink = Callable[[bytes], Awaitable[None]]
_READ_CHUNK = 65536


class LxcBackendError(BackendError):
    """An LXC operation failed; the message is what PVE-like callers show in the task log."""


class ContainerNotFoundError(LxcBackendError):
    pass


class ContainerNotRunningError(LxcBackendError):
    pass


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


async def run_command(
    argv: Sequence[str],
    *,
    time_limit: float,
    stdin: bytes | AsyncIterator[bytes] | None = None,
    env: Mapping[str, str] | None = None,
    stdout_sink: OutputSink | None = None,
    stderr_sink: OutputSink | None = None,
) -> ExecResult:
    """Run argv; output is streamed to the sinks when given, else collected. Kills the process on timeout."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError as exc:
        raise LxcBackendError(f"{argv[0]}: command not found") from exc
    collected: dict[str, bytearray] = {"out": bytearray(), "err": bytearray()}

    async def pump(stream: asyncio.StreamReader | None, key: str, sink: OutputSink | None) -> None:
        assert stream is not None
        while chunk := await stream.read(_READ_CHUNK):
            if sink is not None:
                await sink(chunk)
            else:
                collected[key] += chunk

    async def feed() -> None:
        if stdin is None or proc.stdin is None:
            return
        try:
            if isinstance(stdin, bytes):
                proc.stdin.write(stdin)
                await proc.stdin.drain()
            else:
                async for chunk in stdin:
                    proc.stdin.write(chunk)
                    await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the command stopped reading; its exit code tells the rest
        finally:
            proc.stdin.close()

    feeder = asyncio.create_task(feed())
    try:
        async with asyncio.timeout(time_limit):
            await asyncio.gather(pump(proc.stdout, "out", stdout_sink), pump(proc.stderr, "err", stderr_sink))
            code = await proc.wait()
    except TimeoutError:
        raise LxcBackendError(f"command timed out after {time_limit:g} s: {' '.join(argv[:2])}") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        feeder.cancel()
    return ExecResult(code, bytes(collected["out"]), bytes(collected["err"]))
