"""PVE task ids (UPIDs): ``UPID:node:pid:pstart:starttime:type:id:user[!tokenid]:`` (pve-common ``PVE/UPID.pm``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["UPID", "UPID_RE", "parse_upid"]

# The official decode regex from pve-common UPID.pm (the trailing ':' is part of a UPID).
UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
    r"([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)


@dataclass(frozen=True)
class UPID:
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str  # ``user@realm`` or ``user@realm!tokenid`` as encoded

    @property
    def userid(self) -> str:
        return self.user.split("!", 1)[0]

    @property
    def tokenid(self) -> str | None:
        return self.user.split("!", 1)[1] if "!" in self.user else None

    def format(self) -> str:
        """Encode like PVE: pid and starttime ``%08X``, pstart ``%08X`` (9 digits once it outgrows 8)."""
        return (
            f"UPID:{self.node}:{self.pid:08X}:{self.pstart:08X}:{self.starttime:08X}:{self.type}:{self.id}:{self.user}:"
        )

    def __str__(self) -> str:
        return self.format()


def parse_upid(text: str) -> UPID:
    match = UPID_RE.match(text)
    if match is None:
        raise ValueError(f"not a UPID: {text!r}")
    return UPID(
        node=match.group(1),
        pid=int(match.group(3), 16),
        pstart=int(match.group(4), 16),
        starttime=int(match.group(5), 16),
        type=match.group(6),
        id=match.group(7),
        user=match.group(8),
    )
