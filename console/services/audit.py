"""The audit log: append (inside an action's transaction), query, and chain verification.

Each event stores the hash of the one before it; the ``audit_head`` row holds the
newest hash, so an edited, removed, reordered or truncated log is detected."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, select

from console.models import AuditEvent, AuditHead
from console.services import pagination
from console.services.context import Actor, ServiceContext
from console.services.permissions import Action, require
from console.services.views import AuditView, Page

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def canonical_details(details: dict[str, Any] | None) -> str:
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def event_hash(prev_hash: str, ev: AuditEvent) -> str:
    body = json.dumps(
        [
            ev.seq,
            ev.at.isoformat(),
            ev.operator,
            ev.action,
            ev.target,
            ev.outcome,
            ev.error_code,
            ev.reason,
            ev.identity_check,
            ev.details,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(
    s: Session,
    *,
    at: datetime,
    operator: str,
    action: str,
    target: str | None,
    outcome: str,
    error_code: str | None = None,
    reason: str | None = None,
    identity_check: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the chain, in the caller's transaction."""
    head = s.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        s.add(head)
    ev = AuditEvent(
        seq=head.seq + 1,
        # Stored as UTC and read back as UTC: hash the UTC form, or verify fails.
        at=at.astimezone(timezone.utc),
        operator=operator[:64],
        action=action,
        target=None if target is None else target[:64],
        outcome=outcome,
        error_code=error_code,
        reason=reason[:500] if reason else reason,
        identity_check=identity_check[:200] if identity_check else identity_check,
        details=canonical_details(details),
        prev_hash=head.hash,
        hash="",
    )
    ev.hash = event_hash(head.hash, ev)
    head.seq, head.hash = ev.seq, ev.hash
    s.add(ev)
    s.add(head)
    return ev


def query(
    ctx: ServiceContext,
    actor: Actor,
    *,
    user: str | None = None,
    operator: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditView]:
    """Events newest first, filtered; keyset-paginated on ``seq``."""
    limit = pagination.check_limit(limit)
    require(actor, Action.VIEW, None)
    stmt = select(AuditEvent)
    if user:
        stmt = stmt.where(AuditEvent.target == user)
    if operator:
        stmt = stmt.where(AuditEvent.operator == operator)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    if cursor:
        (last_seq,) = pagination.decode(cursor, 1)
        stmt = stmt.where(AuditEvent.seq < last_seq)
    stmt = stmt.order_by(AuditEvent.seq.desc()).limit(limit + 1)
    with ctx.read_session() as s:
        rows = s.exec(stmt).all()
    items = [AuditView.of(r) for r in rows[:limit]]
    nxt = pagination.encode(rows[limit - 1].seq) if len(rows) > limit else None
    return Page(items=items, next_cursor=nxt)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    #: Sequence number of the first event where the chain breaks, if any.
    broken_at: int | None = None
    problem: str | None = None


def verify_chain(ctx: ServiceContext, actor: Actor, *, batch: int = 5000) -> ChainReport:
    """Recompute every event's hash in order and compare with the stored chain."""
    require(actor, Action.VIEW, None)
    prev = GENESIS
    expected_seq = 1
    count = 0
    with ctx.read_session() as s:
        last_id = 0
        while True:
            rows = s.exec(
                select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
            ).all()
            if not rows:
                break
            for ev in rows:
                count += 1
                if ev.seq != expected_seq:
                    # A later seq first means #expected was removed, unless it is
                    # still in the log further on (then the rows were reordered).
                    missing = s.exec(select(AuditEvent.id).where(AuditEvent.seq == expected_seq)).first() is None
                    what = "removed" if ev.seq > expected_seq and missing else "reordered or duplicated"
                    return ChainReport(
                        False, count, ev.seq, f"event #{expected_seq} expected, found #{ev.seq}: events {what}"
                    )
                if ev.prev_hash != prev:
                    return ChainReport(False, count, ev.seq, f"event #{ev.seq} does not follow the event before it")
                if event_hash(prev, ev) != ev.hash:
                    return ChainReport(False, count, ev.seq, f"event #{ev.seq} was edited after it was written")
                prev = ev.hash
                expected_seq += 1
            last_id = rows[-1].id
        head = s.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return ChainReport(
            False, count, expected_seq, f"the log ends at event #{expected_seq - 1} but #{head.seq} was written: events removed from the end"
        )
    return ChainReport(True, count)
