"""Fault injection for the simulator, driven through ``/_sim/faults`` (not part of the PVE API).

Kinds: ``latency`` (seconds, optional endpoint), ``error`` (endpoint, rate, status, message), ``lock`` (vmid, lock),
``task_failure`` (task_type, message, count), ``task_warnings`` (task_type, warnings, count), ``node_offline``
(node, status 595/596, message), ``token_revoked`` (token). Every random draw comes from a per-fault
``random.Random`` seeded from the fault's ``seed`` (or the simulator seed + fault number), so a scenario replays
identically.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

KINDS = ("latency", "error", "lock", "task_failure", "task_warnings", "node_offline", "token_revoked")
NODE_OFFLINE_MESSAGES = {595: "Connection refused", 596: "Connection reset by peer"}


class FaultSpecError(ValueError):
    """A fault definition that cannot be applied (400 from the control endpoint)."""


@dataclass
class Fault:
    id: int
    kind: str
    spec: dict[str, Any]
    rng: random.Random = field(repr=False)
    remaining: int | None = None
    hits: int = 0

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, **self.spec, "remaining": self.remaining, "hits": self.hits}

    def endpoint_matches(self, method: str, template: str) -> bool:
        wanted = self.spec.get("endpoint")
        if not wanted or wanted == "*":
            return True
        if " " in wanted:
            want_method, want_path = wanted.split(" ", 1)
            return bool(want_method.upper() == method and want_path == template)
        return bool(wanted == template)


class FaultRegistry:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.faults: dict[int, Fault] = {}
        self._next_id = 1

    def reset(self) -> None:
        self.faults.clear()
        self._next_id = 1

    def add(self, spec: dict[str, Any]) -> Fault:
        spec = dict(spec)
        kind = spec.pop("kind", None)
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
        required = {
            "latency": ["seconds"], "error": ["endpoint"], "lock": ["vmid"], "task_failure": ["task_type"],
            "task_warnings": ["task_type"], "node_offline": ["node"], "token_revoked": ["token"],
        }[kind]  # fmt: skip
        missing = [name for name in required if name not in spec]
        if missing:
            raise FaultSpecError(f"fault '{kind}' needs {', '.join(missing)}")
        self._defaults(kind, spec)
        seed = spec.get("seed")
        fault_id = self._next_id
        self._next_id += 1
        rng = random.Random(  # noqa: S311 - deterministic simulation, not crypto
            int(seed) if seed is not None else self.seed * 1000 + fault_id
        )
        count = spec.pop("count", None)
        fault = Fault(fault_id, kind, spec, rng, int(count) if count is not None else None)
        self.faults[fault_id] = fault
        return fault

    @staticmethod
    def _defaults(kind: str, spec: dict[str, Any]) -> None:
        try:
            if kind == "latency":
                spec["seconds"] = float(spec["seconds"])
            elif kind == "error":
                spec["rate"] = float(spec.get("rate", 1.0))
                spec["status"] = int(spec.get("status", 500))
                spec.setdefault("message", "got timeout")
                if not 0.0 <= spec["rate"] <= 1.0:
                    raise FaultSpecError("rate must be between 0 and 1")
            elif kind == "lock":
                spec["vmid"] = int(spec["vmid"])
                spec.setdefault("lock", "backup")
            elif kind == "task_failure":
                spec.setdefault("message", "simulated task failure")
                spec.setdefault("count", 1)
            elif kind == "task_warnings":
                spec["warnings"] = int(spec.get("warnings", 1))
                spec.setdefault("count", 1)
            elif kind == "node_offline":
                spec["status"] = int(spec.get("status", 595))
                if spec["status"] not in NODE_OFFLINE_MESSAGES:
                    raise FaultSpecError("status must be 595 or 596")
                spec.setdefault("message", NODE_OFFLINE_MESSAGES[spec["status"]])
        except (TypeError, ValueError) as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"bad value in fault '{kind}': {exc}") from None

    def remove(self, fault_id: int) -> bool:
        return self.faults.pop(fault_id, None) is not None

    def _of(self, kind: str) -> list[Fault]:
        return [f for f in self.faults.values() if f.kind == kind]

    def _consume(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.pop(fault.id, None)

    def latency(self, method: str, template: str) -> float:
        return sum(float(f.spec["seconds"]) for f in self._of("latency") if f.endpoint_matches(method, template))

    def error_for(self, method: str, template: str) -> tuple[int, str] | None:
        for fault in self._of("error"):
            if fault.endpoint_matches(method, template) and fault.rng.random() < fault.spec["rate"]:
                self._consume(fault)
                return int(fault.spec["status"]), str(fault.spec["message"])
        return None

    def node_offline(self, node: str) -> tuple[int, str] | None:
        for fault in self._of("node_offline"):
            if fault.spec["node"] == node:
                return int(fault.spec["status"]), str(fault.spec["message"])
        return None

    def lock_for(self, vmid: int) -> str | None:
        for fault in self._of("lock"):
            if fault.spec["vmid"] == vmid:
                return str(fault.spec["lock"])
        return None

    def token_revoked(self, token_id: str) -> bool:
        return any(f.spec["token"] == token_id for f in self._of("token_revoked"))

    def task_outcome(self, task_type: str) -> tuple[str | None, int]:
        """(error message or None, warnings to add) for the next task of this type."""
        for fault in self._of("task_failure"):
            if fault.spec["task_type"] in {task_type, "*"}:
                self._consume(fault)
                return str(fault.spec["message"]), 0
        for fault in self._of("task_warnings"):
            if fault.spec["task_type"] in {task_type, "*"}:
                self._consume(fault)
                return None, int(fault.spec["warnings"])
        return None, 0
