"""Reading deployment events: the JSON history and the live SSE stream.

The stream (reliability cases 15-18):

- ids are the durable per-deployment ``seq``; only persisted events carry an ``id:``; keep-alives are comments;
- it replays from ``Last-Event-ID`` out of the DB, then tails the broker, de-duplicating by ``seq``; when the
  broker skips ahead (a lost publish, a dropped slow subscriber, Redis down) the missing events come from the
  DB, so a client sees no gap and no duplicate;
- it ends after the terminal event; a reconnect to a finished deployment gets 204 (the SSE stop signal);
- no DB connection is held while streaming: every read is a short unit of work;
- every ``events_recheck_s`` it re-checks that the caller may still see the deployment (user active, session or
  token live, node still granted) and closes the stream otherwise; the same read doubles as a safety-net poll;
- ``OPEN_STREAMS`` counts open streams (cleanup runs synchronously, also on cancellation).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import ServerSentEvent

from lxc_manager.auth.principal import Principal, Scope, scopes_for_role
from lxc_manager.auth.sessions import session_is_live
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.errors import BadRequest, NotFound
from lxc_manager.core.logging import get_logger
from lxc_manager.core.models import utcnow
from lxc_manager.core.state import AppState
from lxc_manager.deployments.service import get_visible_deployment
from lxc_manager.events.broker import EventSubscription, SubscriptionLost, as_broker
from lxc_manager.events.publisher import event_payload
from lxc_manager.events.repository import EventRepository, Progress
from lxc_manager.events.schemas import DeploymentEventOut, DeploymentEventPage
from lxc_manager.models import TERMINAL_STATUSES
from lxc_manager.tokens.service import effective_scopes

log = get_logger(__name__)

BACKFILL_BATCH = 500
MAX_EVENTS_PER_WRITE = 100
RESUBSCRIBE_AFTER_S = 5.0
MAX_SEQ = 2**31 - 1
SSE_SEPARATOR = "\r\n"  # sse-starlette's default; frames are pre-encoded with it
_T = TypeVar("_T")


class StreamGauge:
    """Open SSE streams in this process (tests and the benchmark assert it returns to 0)."""

    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> None:
        self.value += 1

    def dec(self) -> None:
        self.value -= 1


OPEN_STREAMS = StreamGauge()


def _finished(progress: Progress | None, last_seq: int) -> bool:
    if progress is None:  # the deployment is gone: nothing more will come
        return True
    return progress.status in TERMINAL_STATUSES and last_seq >= progress.last_event_seq


# ------------------------------------------------------------------------------------------------ history


async def list_events(
    db: AsyncSession, principal: Principal, deployment_id: str, after_seq: int, limit: int
) -> DeploymentEventPage:
    deployment = await get_visible_deployment(db, principal, deployment_id)
    rows = await EventRepository(db).list_after(deployment.id, after_seq, limit)
    items = [DeploymentEventOut.model_validate(event_payload(row)) for row in rows]
    next_after = items[-1].seq if items else after_seq
    last_seq = max(deployment.last_event_seq, next_after)
    finished = _finished(Progress(deployment.status, deployment.last_event_seq), next_after)
    return DeploymentEventPage(items=items, last_seq=last_seq, next_after_seq=next_after, finished=finished)


# ------------------------------------------------------------------------------------------------ stream


def parse_last_event_id(header: str | None, query: int | None) -> int:
    """The seq the client has already seen: the ``Last-Event-ID`` header (browsers resend it on reconnect,
    so it wins over the URL), else ``?last_event_id=``, else 0 (from the start)."""
    if header is not None and header.strip():
        value = header.strip()
        if not value.isdigit() or len(value) > 10 or int(value) > MAX_SEQ:
            raise BadRequest("Last-Event-ID must be the seq of an event (a non-negative integer)")
        return int(value)
    return query or 0


async def check_stream_start(state: AppState, principal: Principal, deployment_id: str, after_seq: int) -> bool:
    """404 unless the caller sees the deployment; False when nothing more will ever come (answer 204)."""
    async with unit_of_work(state.sessionmaker) as db:
        deployment = await get_visible_deployment(db, principal, deployment_id)
        progress = Progress(deployment.status, deployment.last_event_seq)
    if _finished(progress, after_seq):
        return False
    if after_seq > progress.last_event_seq:
        raise BadRequest(f"Last-Event-ID {after_seq} is beyond the deployment's last event ({progress.last_event_seq})")
    return True


async def caller_may_watch(db: AsyncSession, settings: Settings, principal: Principal, deployment_id: str) -> bool:
    """Whether the caller of an open stream may still see the deployment: the user is active with a role that
    reads, the session or API token is still live, and the deployment is still visible to them."""
    repo = EventRepository(db)
    user = await repo.get_user(principal.user.id)
    if user is None or not user.is_active:
        return False
    scopes: frozenset[Scope] | None
    if principal.via == "session":
        row = await repo.get_user_session(principal.session_id) if principal.session_id else None
        if row is None or row.user_id != user.id or not session_is_live(row, settings, utcnow()):
            return False
        scopes = scopes_for_role(user.role)
    else:
        token = await repo.get_api_token(principal.token_id) if principal.token_id else None
        now = utcnow()
        if token is None or token.user_id != user.id or token.revoked_at is not None:
            return False
        if token.expires_at is not None and token.expires_at <= now:
            return False
        scopes = effective_scopes(user.role, token.scopes) if scopes_for_role(user.role) is not None else None
    if scopes is None or Scope.read not in scopes:
        return False
    current = Principal(
        user=user, via=principal.via, scopes=scopes, session_id=principal.session_id, token_id=principal.token_id
    )
    try:
        await get_visible_deployment(db, current, deployment_id)
    except NotFound:
        return False
    return True


@dataclass(frozen=True)
class _Read:
    events: tuple[dict[str, Any], ...]
    finished: bool


async def _read_after(state: AppState, deployment_id: str, after_seq: int) -> _Read:
    """One short unit of work: the next events after ``after_seq`` and whether that is all there will be."""
    async with unit_of_work(state.sessionmaker) as db:
        repo = EventRepository(db)
        rows = await repo.list_after(deployment_id, after_seq, BACKFILL_BATCH)
        progress = await repo.progress(deployment_id)
        events = tuple(event_payload(row) for row in rows)
    last = events[-1]["seq"] if events else after_seq
    return _Read(events=events, finished=_finished(progress, last) and len(events) < BACKFILL_BATCH)


async def _progress(state: AppState, deployment_id: str) -> Progress | None:
    async with unit_of_work(state.sessionmaker) as db:
        return await EventRepository(db).progress(deployment_id)


async def _may_watch(state: AppState, principal: Principal, deployment_id: str) -> bool:
    async with unit_of_work(state.sessionmaker) as db:
        return await caller_may_watch(db, state.settings, principal, deployment_id)


class _SharedReads:
    """DB reads shared by the streams of one process: many clients watching one deployment ask the same
    questions at the same moments (after each event, at each re-check), so concurrent identical reads run once
    and a result may be reused for ``ttl`` seconds.

    Each read runs in its own task and callers wait on it through ``asyncio.shield``: a client disconnect
    cannot cut a read mid-transaction (a cancelled aiosqlite connection is torn down in the background while
    SQLite may still hold its ``BEGIN IMMEDIATE`` write lock, stalling every writer for the busy timeout).
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[float, asyncio.Task[Any]]] = {}

    async def get(
        self,
        key: tuple[Any, ...],
        ttl: float,
        func: Callable[..., Coroutine[Any, Any, _T]],
        *args: Any,
        not_before: float = 0.0,
    ) -> _T:
        """``func(*args)``, shared with an identical call in flight or finished less than ``ttl`` ago, but never
        with one started before ``not_before`` (monotonic; e.g. when we learned that there is something new)."""
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        full_key = (id(loop), *key)
        entry = self._entries.get(full_key)
        if entry is not None:
            started, task = entry
            fresh = not task.done() or (now - started <= ttl and not task.cancelled() and task.exception() is None)
            if fresh and started >= not_before and task.get_loop() is loop:
                result: _T = await asyncio.shield(task)
                return result
        if len(self._entries) >= self.MAX_ENTRIES:
            self._prune(now)
        task = loop.create_task(func(*args))
        task.add_done_callback(_consume_result)
        self._entries[full_key] = (now, task)
        return await asyncio.shield(task)

    def _prune(self, now: float) -> None:
        for key, (started, task) in list(self._entries.items()):
            if task.done() and now - started > 60:
                del self._entries[key]
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()


def _consume_result(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("events_read_failed", error=str(task.exception()))


_SHARED = _SharedReads()
_FRAMES: OrderedDict[tuple[str, int], bytes] = OrderedDict()
_FRAME_CACHE_SIZE = 4096


def _frame(deployment_id: str, event: dict[str, Any]) -> bytes:
    """The encoded SSE frame of a durable event, built once per process however many clients receive it
    (an event's content never changes once committed)."""
    key = (deployment_id, int(event["seq"]))
    frame = _FRAMES.get(key)
    if frame is None:
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        frame = ServerSentEvent(id=str(key[1]), data=data, sep=SSE_SEPARATOR).encode()
        _FRAMES[key] = frame
        if len(_FRAMES) > _FRAME_CACHE_SIZE:
            _FRAMES.popitem(last=False)
    return frame


def _principal_key(principal: Principal) -> tuple[str, str, str | None, str | None]:
    return (principal.user.id, principal.via, principal.session_id, principal.token_id)


async def stream_events(
    state: AppState, principal: Principal, deployment_id: str, after_seq: int
) -> AsyncIterator[bytes | dict[str, str]]:
    """SSE frames for events after ``after_seq`` until the terminal event (or until access is lost)."""
    settings = state.settings
    broker = as_broker(state.events)
    recheck_s, poll_s = settings.events_recheck_s, settings.events_poll_s
    subscription: EventSubscription | None = None
    last = after_seq
    resubscribe_at = 0.0
    recheck_at = time.monotonic() + recheck_s
    # Read the DB before waiting on the broker. ``read_from``: when the read was asked for; a shared read that
    # started before that moment may miss what prompted it, so it is not reused.
    must_read, read_from = True, time.monotonic()

    def behind(progress: Progress | None) -> bool:
        return progress is None or progress.last_event_seq > last or progress.status in TERMINAL_STATUSES

    OPEN_STREAMS.inc()
    try:
        while True:
            now = time.monotonic()
            if subscription is None and broker is not None and now >= resubscribe_at:
                # Subscribe before reading the DB: an event committed after that read reaches us via the broker.
                subscription = broker.subscribe(deployment_id, last)
                must_read, read_from = True, now
            if now >= recheck_at:
                recheck_at = now + recheck_s
                access_key = ("access", *_principal_key(principal), deployment_id)
                if not await _SHARED.get(access_key, recheck_s / 2, _may_watch, state, principal, deployment_id):
                    yield {"event": "closed", "data": json.dumps({"reason": "access_revoked"})}
                    return
                # Safety net for a publish the broker lost (e.g. the last event while Redis blinked).
                progress = await _SHARED.get(("progress", deployment_id), poll_s, _progress, state, deployment_id)
                if behind(progress):
                    must_read, read_from = True, now
            if must_read:
                read = await _SHARED.get(
                    ("after", deployment_id, last), 0, _read_after, state, deployment_id, last, not_before=read_from
                )
                if read.events:
                    yield b"".join(_frame(deployment_id, replayed) for replayed in read.events)
                    last = read.events[-1]["seq"]
                if read.finished:
                    return
                must_read = len(read.events) >= BACKFILL_BATCH  # more to read: the key (last) has changed
                continue
            wait = max(recheck_at - now, 0.0)
            if subscription is None:  # no broker, or it failed: poll the DB
                await asyncio.sleep(min(wait, poll_s))
                progress = await _SHARED.get(("progress", deployment_id), poll_s, _progress, state, deployment_id)
                if behind(progress):
                    must_read, read_from = True, time.monotonic()
                continue
            try:
                event = await subscription.next_event(wait)
            except SubscriptionLost as lost:
                log.info("events_subscription_lost", deployment_id=deployment_id, reason=lost.reason)
                subscription.close()
                subscription = None
                # A lagging subscriber catches up from the DB and rejoins at once; a failing broker gets a pause.
                resubscribe_at = time.monotonic() + (0.0 if lost.reason == "lagged" else RESUBSCRIBE_AFTER_S)
                must_read, read_from = True, time.monotonic()
                continue
            if event is None:
                continue
            # Events already waiting go out in one write: a loaded server sends fewer, larger chunks.
            frames: list[bytes] = []
            result_seq = 0
            for item in [event, *subscription.take_ready(MAX_EVENTS_PER_WRITE - 1)]:
                seq = item.get("seq")
                if not isinstance(seq, int) or seq <= last:
                    continue  # already sent (replayed from the DB or delivered twice)
                if seq > last + 1:
                    # The broker skipped ahead: the DB has the missing ones (and the rest, committed before sent).
                    must_read, read_from = True, time.monotonic()
                    break
                frames.append(_frame(deployment_id, item))
                last = seq
                if item.get("type") == "result":
                    result_seq = seq
            if frames:
                yield b"".join(frames)
            if result_seq and result_seq == last:
                progress = await _SHARED.get(("final", deployment_id, last), 5.0, _progress, state, deployment_id)
                if _finished(progress, last):
                    return
    finally:
        # Synchronous on purpose: this also runs while the response task is being cancelled.
        if subscription is not None:
            subscription.close()
        OPEN_STREAMS.dec()
