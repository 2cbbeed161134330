"""The buyer's two use cases: report a problem (a case opened with the photos), and add
photos to a case that waits for them. The photos' keys are recorded, the photos stored,
then the case is written (and the keys attached to it) in one transaction; whatever
fails after the photos were stored deletes them again, so a refused or failed report
leaves nothing behind, and a process that dies in between leaves keys the sweeper
deletes (:mod:`aftersales.evidence.ledger`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from aftersales.cases.repository import CaseRepository
from aftersales.cases.service import add_evidence, open_case
from aftersales.domain.cases import CaseStatus, CaseType
from aftersales.evidence.ledger import attach, remember
from aftersales.evidence.photos import CleanPhoto
from aftersales.evidence.storage import storage_of
from aftersales.evidence.uploads import discard, new_keys, store
from aftersales.models import Case, OrderCopy
from dropship_common.runtime import ServiceRuntime

BUYER = "buyer"


def problem_key(quantities: dict[str, int]) -> str:
    """The same lines reported twice for the same reason are one problem (one case)."""
    lines = ",".join(sorted(quantities))
    return f"buyer:{hashlib.sha256(lines.encode()).hexdigest()[:40]}"


async def existing_case(
    rt: ServiceRuntime, order_id: uuid.UUID, type_: CaseType, quantities: dict[str, int]
) -> uuid.UUID | None:
    async with rt.db.sessions() as session:
        case = await CaseRepository(session).of_problem(
            order_id, type_.value, problem_key(quantities)
        )
    return case.id if case else None


async def report_problem(
    rt: ServiceRuntime,
    order: OrderCopy,
    *,
    type_: CaseType,
    quantities: dict[str, int],
    words: str | None,
    photos: list[CleanPhoto],
    now: dt.datetime,
) -> tuple[uuid.UUID, bool]:
    """The case's id, and whether it is new (False: that problem had a case already)."""
    found = await existing_case(rt, order.order_id, type_, quantities)
    if found is not None:
        return found, False
    storage, keys = storage_of(rt), new_keys(photos)
    await remember(rt, keys)  # before the store: a crash after it leaves no unseen photo
    items = await store(storage, photos, now, keys)
    source_key = problem_key(quantities)
    other: Case | None = None
    try:
        async with rt.db.transaction() as session:
            case_id = await open_case(
                session,
                rt.outbox,
                order_id=order.order_id,
                type_=type_,
                source_key=source_key,
                actor=BUYER,
                cause="request:help",
                now=now,
                line_ids=list(quantities),
                quantities=quantities,
                buyer_words=words,
                evidence=items,
            )
            if case_id is None:  # the same report, sent twice at once: the other won
                other = await CaseRepository(session).of_problem(
                    order.order_id, type_.value, source_key
                )
            else:
                await attach(session, keys, case_id)
    except BaseException:
        await discard(storage, items)
        raise
    if case_id is None:
        await discard(storage, items)
        assert other is not None
        return other.id, False
    return case_id, True


async def add_photos(
    rt: ServiceRuntime, case_id: uuid.UUID, photos: list[CleanPhoto], now: dt.datetime
) -> bool:
    """False (nothing kept) when the case no longer waits for the buyer."""
    storage, keys = storage_of(rt), new_keys(photos)
    await remember(rt, keys)
    items = await store(storage, photos, now, keys)
    added = False
    try:
        async with rt.db.transaction() as session:
            case = await CaseRepository(session).get(case_id, for_update=True)
            if case is not None and case.status == CaseStatus.AWAITING_BUYER.value:
                await add_evidence(
                    session, rt.outbox, case, items, actor=BUYER, cause="request:evidence",
                    now=now,
                )  # fmt: skip
                await attach(session, keys, case_id)
                added = True
    except BaseException:
        await discard(storage, items)
        raise
    if not added:
        await discard(storage, items)
    return added
