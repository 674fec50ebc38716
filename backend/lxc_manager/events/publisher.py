"""Recording deployment events: a persisted row with the next per-deployment ``seq``, fanned out after commit.

Only the deployment's lease holder writes its events, so ``seq`` is gap-free and in commit order; the unique
constraint ``(deployment_id, seq)`` refuses a second writer. Events are sent to the broker only once the unit of
work has committed (``core.db.after_commit``): a rollback publishes nothing.

The broker is found through the session: ``bind_broker(sessionmaker, broker)`` (done by the app and the worker)
puts it into every session's ``info``. Without a bound broker events are only persisted; streams then poll the DB.

Never put secrets in events. As a second line of defence, values registered with :func:`redacting` are masked
in messages and data, and ``data`` values under secret-looking keys are masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.core.db import after_commit
from lxc_manager.core.models import utcnow
from lxc_manager.events.broker import EventBroker
from lxc_manager.events.repository import EventRepository
from lxc_manager.events.schemas import DeploymentEventOut
from lxc_manager.models import Deployment, DeploymentEvent, Phase

MAX_MESSAGE_BYTES = 8 * 1024
MAX_DATA_BYTES = 16 * 1024
MASK = "********"
# Secrets shorter than this are not masked in free text: masking "ab" everywhere would garble every line.
MIN_REDACTED_LENGTH = 4
_SECRET_KEY_RE = re.compile(r"pass(word|wd|phrase)?$|secret|token|private[_-]?key|api[_-]?key", re.IGNORECASE)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_BROKER_INFO_KEY = "lxcm.events.broker"

_redacted: ContextVar[tuple[str, ...]] = ContextVar("lxcm_redacted_values", default=())


class EventType(StrEnum):
    phase = "phase"
    log = "log"
    status = "status"
    result = "result"


@dataclass(frozen=True)
class EventSpec:
    """One event for :func:`emit_many` (the arguments of :func:`emit`)."""

    type: str
    phase: str | None = None
    status: str | None = None
    message: str = ""
    data: dict[str, Any] | None = None


def bind_broker(sessionmaker: async_sessionmaker[AsyncSession], broker: EventBroker | None) -> None:
    """Make ``broker`` reachable from every session ``sessionmaker`` creates from now on."""
    info = dict(sessionmaker.kw.get("info") or {})
    if broker is None:
        info.pop(_BROKER_INFO_KEY, None)
    else:
        info[_BROKER_INFO_KEY] = broker
    sessionmaker.configure(info=info)


def broker_for(session: AsyncSession) -> EventBroker | None:
    broker: EventBroker | None = session.info.get(_BROKER_INFO_KEY)
    return broker


@contextmanager
def redacting(values: Iterable[str | None]) -> Iterator[None]:
    """Mask these secret values in every event emitted inside the block (e.g. around a deployment run)."""
    extra = {v for v in values if v and len(v) >= MIN_REDACTED_LENGTH}
    merged = tuple(sorted(set(_redacted.get()) | extra, key=len, reverse=True))  # longest first
    token = _redacted.set(merged)
    try:
        yield
    finally:
        _redacted.reset(token)


def event_payload(row: DeploymentEvent) -> dict[str, Any]:
    """The JSON-ready shape sent on the broker, the SSE stream and in the history."""
    out = DeploymentEventOut(
        seq=row.seq,
        type=row.type,
        phase=row.phase,
        status=row.status,
        message=row.message,
        ts=row.at,
        data=row.data or {},
    )
    return out.model_dump(mode="json")


async def emit(
    session: AsyncSession,
    deployment: Deployment,
    type: str,
    *,
    phase: str | None = None,
    status: str | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> DeploymentEvent:
    """Record one event of ``deployment`` (which must belong to ``session``); published after commit."""
    (row,) = await emit_many(
        session, deployment, [EventSpec(type=type, phase=phase, status=status, message=message, data=data)]
    )
    return row


async def emit_many(session: AsyncSession, deployment: Deployment, specs: Sequence[EventSpec]) -> list[DeploymentEvent]:
    """Record several events with one flush and one publish (e.g. a burst of output lines)."""
    if not specs:
        return []
    if deployment not in session:
        # A detached deployment's last_event_seq would not be saved and the next seq would repeat.
        raise RuntimeError("emit(): the deployment must be loaded in (or added to) this session")
    secrets = _redacted.get()
    now = utcnow()
    rows: list[DeploymentEvent] = []
    for spec in specs:
        _check(spec)
        deployment.last_event_seq = (deployment.last_event_seq or 0) + 1
        message, truncated = _clean_message(spec.message, secrets)
        data = _clean_data(spec.data, secrets)
        if truncated:
            data["message_truncated"] = True
        rows.append(
            DeploymentEvent(
                deployment_id=deployment.id,
                seq=deployment.last_event_seq,
                at=now,
                type=spec.type,
                phase=spec.phase,
                status=spec.status,
                message=message,
                data=data,
            )
        )
    repo = EventRepository(session)
    repo.add_all(rows)
    await repo.flush()  # the unique (deployment_id, seq) constraint refuses a concurrent writer here
    broker = broker_for(session)
    if broker is not None:
        deployment_id = deployment.id
        payloads = [event_payload(row) for row in rows]

        async def _publish() -> None:
            await broker.publish_many(deployment_id, payloads)

        after_commit(_publish)
    return rows


def _check(spec: EventSpec) -> None:
    if spec.type not in EventType.__members__:
        raise ValueError(f"unknown event type {spec.type!r}")
    if spec.phase is not None and spec.phase not in Phase.__members__:
        raise ValueError(f"unknown phase {spec.phase!r}")
    if spec.status is not None and len(spec.status) > 16:
        raise ValueError(f"event status too long: {spec.status!r}")


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    # NUL cannot be stored in PostgreSQL text; lone surrogates (undecodable bytes) cannot be encoded as UTF-8.
    text = text.replace("\x00", "")
    text = _SURROGATE_RE.sub("\ufffd", text)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _clean_message(message: str, secrets: tuple[str, ...]) -> tuple[str, bool]:
    text = _scrub(str(message), secrets)
    encoded = text.encode("utf-8")
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return text, False
    kept = encoded[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore")
    return f"{kept}… [truncated {len(encoded) - len(kept.encode('utf-8'))} bytes]", True


def _clean_value(value: Any, secrets: tuple[str, ...], key: str | None = None) -> Any:
    if key is not None and _SECRET_KEY_RE.search(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, str):
        return _scrub(value, secrets)
    if isinstance(value, dict):
        return {_scrub(str(k), secrets): _clean_value(v, secrets, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_value(v, secrets) for v in value]
    return value


def _clean_data(data: dict[str, Any] | None, secrets: tuple[str, ...]) -> dict[str, Any]:
    if not data:
        return {}
    # Round-trip through JSON: what is stored is exactly what clients will read (datetimes, enums → strings).
    plain = json.loads(json.dumps(data, default=str))
    cleaned: dict[str, Any] = _clean_value(plain, secrets)
    if len(json.dumps(cleaned, ensure_ascii=False).encode("utf-8")) > MAX_DATA_BYTES:
        return {"data_truncated": True}
    return cleaned
