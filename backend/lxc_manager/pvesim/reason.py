"""PVE's reason phrases on the HTTP status line (``HTTP/1.1 500 Configuration file '…' does not exist``).

pveproxy puts the first line of the error message in the status line, and clients such as proxmoxer read it
(``resp.reason``). uvicorn has no API for a custom reason phrase: its h11 protocol looks each phrase up in the
module-level ``STATUS_PHRASES`` dict at send time. ``install()`` swaps that dict for one that consults a context
variable, which the app sets for the response it is about to send (the ASGI app and ``send`` run in the same task).
If uvicorn changes, ``install()`` reports False and the standard phrases are used; the message stays in the body.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

reason_var: ContextVar[bytes | None] = ContextVar("pvesim_reason", default=None)


class _Phrases(dict[int, bytes]):
    def __getitem__(self, status: int) -> bytes:
        custom = reason_var.get()
        if custom is not None:
            return custom
        return super().__getitem__(status)


def set_reason(message: str | None) -> None:
    """Reason phrase for the response of the current request: first line, Latin-1, no control characters."""
    if message is None:
        reason_var.set(None)
        return
    first = message.split("\n", 1)[0].strip()
    safe = "".join(ch if 32 <= ord(ch) < 127 or 160 <= ord(ch) < 256 else "?" for ch in first)
    reason_var.set(safe.encode("latin-1"))


def install() -> bool:
    """Route uvicorn's h11 reason phrases through ``reason_var``; the server must run with ``http="h11"``."""
    try:
        from uvicorn.protocols.http import h11_impl
    except ImportError:
        return False
    current: Any = getattr(h11_impl, "STATUS_PHRASES", None)
    if isinstance(current, _Phrases):
        return True
    if not isinstance(current, dict):
        return False
    h11_impl.STATUS_PHRASES = _Phrases(current)
    return True
