"""The audit log: query it, and verify its hash chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from console.models import AuditEvent, AuditHead
from console.services import pagination, validation
from console.services.auditlog import GENESIS, event_hash
from console.services.base import find_user, reading
from console.services.context import Actor, ServiceContext
from console.services.errors import InvalidInput
from console.services.views import AuditView, Page


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
    for field, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(field, "timezone", "give a time zone (UTC is assumed by the CLI)")
    stmt = select(AuditEvent)
    if operator:
        stmt = stmt.where(AuditEvent.operator == operator)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    if cursor:
        (last_seq,) = pagination.decode(cursor, (int,))
        stmt = stmt.where(AuditEvent.seq < last_seq)
    stmt = stmt.order_by(AuditEvent.seq.desc()).limit(limit + 1)
    with reading(ctx, actor) as s:
        if user:
            # Events name the account as it is spelled; accept any case.
            row = find_user(s, user) if validation.USERNAME_RE.fullmatch(user) else None
            stmt = stmt.where(AuditEvent.target == (row.username if row else user))
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
    prev = GENESIS
    expected_seq = 1
    count = 0
    with reading(ctx, actor) as s:
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
