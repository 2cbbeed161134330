"""Carrying out an approved case, and what comes back.

An approved case publishes what resolves it (``aftersales.refund_requested``,
``discount_requested``, ``reship_requested``, or an RMA for the buyer) and is
``resolving``; every resolution goes in the ledger first as ``reserved`` with what it
costs and who bears it, and is ``done`` when its outcome event comes back. A case is
``resolved`` when nothing of it is reserved any more (and its return, if any, arrived).
A refund's reservation counts against what the order still has refundable, under a lock
of the order: two approvals at the same moment cannot both spend the same money.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales.cases.lifecycle import move
from aftersales.cases.notices import buyer_notice, supplier_notice
from aftersales.cases.repository import CaseRepository, LedgerRepository
from aftersales.domain.cases import CaseStatus, CaseType
from aftersales.domain.policy import Policy, Resolution, who_bears
from aftersales.models import Case, CaseEvent, LedgerEntry, OrderCopy
from dropship_common.contracts.aftersales import (
    AftersalesDiscountRequested,
    AftersalesPaymentRequested,
    AftersalesRefundRequested,
    AftersalesReshipRequested,
    CaseLineV1,
)
from dropship_common.errors import Conflict
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.outbox import Outbox

_R = Resolution
MONEY_BACK = frozenset({_R.REFUND, _R.RETURN_THEN_REFUND, _R.COMPENSATION})
GOODS_BACK = frozenset({_R.RETURN_THEN_REFUND})


class NotRefundable(Conflict):
    """More than the order still has refundable (storefront refunds and our own)."""

    code = "not_refundable"


class ExchangeUnknown(Conflict):
    """An exchange approved before an agent chose the variant to send."""

    code = "exchange_sku_missing"


def _ref(case: Case) -> str:
    return f"case:{case.id}"


async def refundable(session: AsyncSession, order: OrderCopy) -> Decimal:
    return order.total - await LedgerRepository(session).refunded(order.order_id)


def _lines(case: Case, skus: dict[str, str] | None = None) -> list[CaseLineV1]:
    return [
        CaseLineV1(
            line_id=uuid.UUID(str(line["line_id"])),
            quantity=int(line["quantity"]),
            sku=(skus or {}).get(str(line["line_id"])),
        )
        for line in case.lines
    ]


def _entry(case: Case, kind: str, amount: Decimal, policy: Policy) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "order_id": case.order_id,
        "case_id": case.id,
        "kind": kind,
        "state": "reserved",
        "amount": amount,
        "currency": case.currency,
        "borne_by": who_bears(policy, CaseType(case.type)),
        "source": "aftersales",
        "reference": _ref(case),
    }


def _refund(case: Case, amount: Decimal, kind: str, attempt: int) -> Envelope:
    return AftersalesRefundRequested(
        case_id=case.id, order_id=case.order_id, shop_id=case.shop_id, amount=amount,
        currency=case.currency, reason=f"{case.type.replace('_', ' ')} (case {case.id})",
        kind="compensation" if kind == "compensation" else "refund", lines=_lines(case),
        attempt=attempt,
    ).envelope(correlation_id=str(case.order_id))  # fmt: skip


def _reship(case: Case, attempt: int, skus: dict[str, str] | None = None) -> Envelope:
    return AftersalesReshipRequested(
        case_id=case.id, order_id=case.order_id, shop_id=case.shop_id,
        lines=_lines(case, skus), original_supplier_order_id=case.supplier_order_id,
        reason=f"{case.type.replace('_', ' ')} (case {case.id})", attempt=attempt,
    ).envelope(correlation_id=str(case.order_id))  # fmt: skip


async def carry_out(
    session: AsyncSession,
    outbox: Outbox,
    case: Case,
    policy: Policy,
    *,
    actor: str,
    now: dt.datetime,
) -> None:
    """An approved (locked) case: reserve, publish, and ``resolving``. NotRefundable
    (nothing written: the caller's transaction rolls back) when its money is no longer
    refundable."""
    proposal = case.proposal or {}
    resolution = Resolution(proposal.get("resolution", _R.EXPLAIN.value))
    amount = Decimal(str(proposal.get("amount", "0")))
    cost = Decimal(str(proposal.get("cost", "0")))
    ledger = LedgerRepository(session)
    attempt = await CaseRepository(session).approvals(case.id)
    events: list[Envelope] = []
    # money for goods not kept is a refund; money on top of goods kept or resent, a
    # compensation (a delay, a wrong item kept at a discount, a cheaper variant)
    money_kind = "refund" if resolution in (_R.REFUND, _R.RETURN_THEN_REFUND) else "compensation"
    if amount > 0:
        order = await ledger.lock_order(case.order_id)
        left = await refundable(session, order) if order is not None else Decimal(0)
        if amount > left:
            raise NotRefundable(
                f"{amount} {case.currency} is more than the order still has refundable"
                f" ({left} {case.currency}): propose again"
            )
        as_code = resolution == _R.COMPENSATION and policy.compensation_as == "discount_code"
        await ledger.reserve(_entry(case, "discount" if as_code else "refund", amount, policy))
        if as_code:
            events.append(
                AftersalesDiscountRequested(
                    case_id=case.id,
                    order_id=case.order_id,
                    shop_id=case.shop_id,
                    amount=amount,
                    currency=case.currency,
                    reason=f"{case.type.replace('_', ' ')} (case {case.id})",
                    attempt=attempt,
                ).envelope(correlation_id=str(case.order_id))
            )
        elif resolution != _R.RETURN_THEN_REFUND:  # refunded when the goods are back
            events.append(_refund(case, amount, money_kind, attempt))
    skus: dict[str, str] = proposal.get("exchange_skus") or {}
    if resolution == _R.EXCHANGE and not skus:
        raise ExchangeUnknown("an exchange needs the SKU to send: propose it with exchange_skus")
    needs_return = resolution == _R.RETURN_THEN_REFUND or (
        resolution == _R.EXCHANGE and policy.exchange_needs_return
    )
    later = resolution == _R.SEND_MISSING and policy.missing_units == "next_order"
    amount_due = Decimal(str(proposal.get("amount_due") or "0"))
    pays_first = resolution == _R.EXCHANGE and amount_due > 0
    if pays_first:  # the dearer variant's difference: paid before it is sent
        events.append(_ask_payment(case, amount_due, policy, now, attempt))
        await ledger.reserve({**_entry(case, "payment", amount_due, policy), "borne_by": None})
    if resolution in (_R.RESHIP, _R.SEND_MISSING, _R.EXCHANGE):
        await ledger.reserve(_entry(case, "reship", cost - amount, policy))
        if later:  # sent when the buyer orders again (consumers.order_confirmed)
            case.proposal = {**proposal, "with_next_order": True}
        elif not needs_return and not pays_first:
            events.append(_reship(case, attempt, skus))
    if needs_return:
        case.return_info = {
            "rma": f"RMA-{secrets.token_hex(4).upper()}",
            "address": policy.return_address,
            "tracking_number": None,
            "received_at": None,
        }
        events.append(
            buyer_notice(
                case,
                "return_instructions",
                rma=case.return_info["rma"],
                return_address=policy.return_address,
            )
        )
    notice = supplier_notice(
        case, resolution=resolution.value, cost=cost,
        borne_by=who_bears(policy, CaseType(case.type)),
        goods_back=needs_return,
    )  # fmt: skip
    if notice is not None and resolution not in (_R.EXPLAIN, _R.WAIT, _R.REJECT):
        events.append(notice)
    await outbox.add(session, events)
    await move(session, outbox, case, CaseStatus.RESOLVING, actor=actor, cause=_ref(case),
               now=now, reason=", ".join(e.type for e in events) or resolution.value)  # fmt: skip
    if later:  # overdue (for an agent to send them now) once the wait is over
        case.due_by = now + dt.timedelta(days=policy.next_order_wait_days)
    await settle(session, outbox, case, actor=actor, now=now)


def _ask_payment(
    case: Case, amount: Decimal, policy: Policy, now: dt.datetime, attempt: int
) -> Envelope:
    case.payment_info = {
        "amount_due": str(amount),
        "currency": case.currency,
        "requested_at": now.isoformat(),
        "link_sent_at": None,
        "storefront_ref": None,
        "paid_at": None,
    }
    return AftersalesPaymentRequested(
        case_id=case.id, order_id=case.order_id, shop_id=case.shop_id, amount=amount,
        currency=case.currency, valid_days=policy.payment_wait_days,
        reason=f"exchange price difference (case {case.id})", attempt=attempt,
    ).envelope(correlation_id=str(case.order_id))  # fmt: skip


def _awaits_payment(case: Case) -> bool:
    return bool(case.payment_info) and not (case.payment_info or {}).get("paid_at")


def _awaits_return(case: Case) -> bool:
    return bool(case.return_info) and not (case.return_info or {}).get("received_at")


def waits_for_next_order(case: Case) -> bool:
    return case.status == CaseStatus.RESOLVING.value and bool(
        (case.proposal or {}).get("with_next_order")
    )


async def send_missing(
    session: AsyncSession,
    outbox: Outbox,
    case: Case,
    *,
    actor: str,
    now: dt.datetime,
    with_order: OrderCopy | None = None,
) -> None:
    """The missing units of a (locked) case that waited for the buyer's next order:
    reshipped now, the supplier asked to pack them with ``with_order`` when there is
    one. Conflict when the case does not wait."""
    if not waits_for_next_order(case):
        raise Conflict("this case does not wait for the buyer's next order")
    proposal = dict(case.proposal or {})
    proposal["with_next_order"] = False
    reason = f"{case.type.replace('_', ' ')} (case {case.id})"
    if with_order is not None:
        proposal["sent_with_order"] = str(with_order.order_id)
        reason += f": pack with our order {with_order.order_id} ({with_order.number or ''})"
    case.proposal = proposal
    event = AftersalesReshipRequested(
        case_id=case.id, order_id=case.order_id, shop_id=case.shop_id, lines=_lines(case),
        original_supplier_order_id=case.supplier_order_id, reason=reason,
        attempt=await CaseRepository(session).approvals(case.id),
    ).envelope(correlation_id=str(case.order_id))  # fmt: skip
    await outbox.add(session, [event])
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind="missing_units_sent",
            reason=reason,
            actor=actor,
            cause=_ref(case),
        )
    )


async def settle(
    session: AsyncSession, outbox: Outbox, case: Case, *, actor: str, now: dt.datetime
) -> None:
    """``resolved`` once nothing of a resolving case waits: no reservation left, and
    its return (if any) arrived."""
    if case.status != CaseStatus.RESOLVING.value:
        return
    if _awaits_return(case) or _awaits_payment(case):
        return
    if any(e.state == "reserved" for e in await LedgerRepository(session).of_case(case.id)):
        return
    await move(session, outbox, case, CaseStatus.RESOLVED, actor=actor, cause=_ref(case),
               now=now, reason="carried out")  # fmt: skip


async def return_received(
    session: AsyncSession, outbox: Outbox, case: Case, *, actor: str, now: dt.datetime
) -> None:
    """The goods are back: the refund (or the exchange's reship) goes ahead."""
    info = dict(case.return_info or {})
    if case.status != CaseStatus.RESOLVING.value or not info or info.get("received_at"):
        raise Conflict("no return is awaited on this case")
    info["received_at"] = now.isoformat()
    case.return_info = info
    proposal = case.proposal or {}
    resolution = proposal.get("resolution")
    amount = Decimal(str(proposal.get("amount", "0")))
    events: list[Envelope] = []
    attempt = await CaseRepository(session).approvals(case.id)
    if resolution == _R.RETURN_THEN_REFUND.value and amount > 0:
        events.append(_refund(case, amount, "refund", attempt))
    if resolution == _R.EXCHANGE.value and not _awaits_payment(case):
        events.append(_reship(case, attempt, proposal.get("exchange_skus") or {}))
    await outbox.add(session, events)
    await settle(session, outbox, case, actor=actor, now=now)


async def payment_link_sent(
    session: AsyncSession, case_id: uuid.UUID, storefront_ref: str, *, cause: str, now: dt.datetime
) -> None:
    """The buyer has the payment link: on the case, for the agent."""
    case = await CaseRepository(session).get(case_id, for_update=True)
    if case is None or not case.payment_info:
        return
    case.payment_info = {
        **case.payment_info, "link_sent_at": now.isoformat(), "storefront_ref": storefront_ref,
    }  # fmt: skip
    session.add(CaseEvent(case_id=case.id, at=now, kind="payment_link_sent",
                          reason=f"payment link {storefront_ref}", actor="order-intake",
                          cause=cause))  # fmt: skip


async def payment_received(
    session: AsyncSession,
    outbox: Outbox,
    *,
    order_id: uuid.UUID,
    case_id: uuid.UUID,
    storefront_ref: str,
    amount: Decimal,
    cause: str,
    now: dt.datetime,
) -> None:
    """The buyer paid: the exchange's reship goes (now, or when the return arrives)."""
    case = await CaseRepository(session).get(case_id, for_update=True)
    if case is None or not _awaits_payment(case) or case.status != CaseStatus.RESOLVING.value:
        return  # paid once already, or the case moved on without it
    await _done(session, order_id, case_id, "payment", f"storefront:{storefront_ref}", amount)
    case.payment_info = {**(case.payment_info or {}), "paid_at": now.isoformat(),
                         "storefront_ref": storefront_ref}  # fmt: skip
    session.add(CaseEvent(case_id=case.id, at=now, kind="payment_received",
                          reason=f"{amount} {case.currency} paid ({storefront_ref})",
                          actor="order-intake", cause=cause))  # fmt: skip
    proposal = case.proposal or {}
    if not _awaits_return(case):
        attempt = await CaseRepository(session).approvals(case.id)
        await outbox.add(session, [_reship(case, attempt, proposal.get("exchange_skus") or {})])
    await settle(session, outbox, case, actor="order-intake", now=now)


# -- outcomes -----------------------------------------------------------------------------


async def _done(
    session: AsyncSession,
    order_id: uuid.UUID,
    case_id: uuid.UUID | None,
    kind: str,
    reference: str,
    amount: Decimal | None,
) -> LedgerEntry | None:
    """The case's reservation made ``done`` under the storefront's reference; None when
    that reference is recorded already (a second report of one refund)."""
    ledger = LedgerRepository(session)
    if await ledger.find(order_id, kind, reference) is not None:
        if case_id is not None:  # reported first without the case: the reservation ends
            held = await ledger.find(order_id, kind, f"case:{case_id}")
            if held is not None and held.state == "reserved":
                held.state = "released"
        return None
    held = await ledger.find(order_id, kind, f"case:{case_id}") if case_id else None
    if held is None:
        return None
    held.state, held.reference = "done", reference
    if amount is not None:
        held.amount = amount
    return held


async def outcome_done(
    session: AsyncSession,
    outbox: Outbox,
    *,
    order_id: uuid.UUID,
    case_id: uuid.UUID | None,
    kind: str,
    reference: str,
    amount: Decimal | None,
    currency: str | None,
    source: str,
    cause: str,
    now: dt.datetime,
) -> Case | None:
    """Record a done refund / discount / reship; the case it resolves (locked), if any.
    A refund the storefront's admin made is recorded as done straight away."""
    entry = await _done(session, order_id, case_id, kind, reference, amount)
    if entry is None and amount is not None and currency is not None:
        await LedgerRepository(session).add_new(
            {
                "id": uuid.uuid4(),
                "order_id": order_id,
                "case_id": case_id,
                "kind": kind,
                "state": "done",
                "amount": amount,
                "currency": currency,
                "borne_by": None,
                "source": source,
                "reference": reference,
                "at": now,
            }
        )
    if case_id is None:
        return None
    case = await CaseRepository(session).get(case_id, for_update=True)
    if case is not None:
        await settle(session, outbox, case, actor=source, now=now)
    return case


async def outcome_failed(
    session: AsyncSession,
    outbox: Outbox,
    *,
    order_id: uuid.UUID,
    case_id: uuid.UUID,
    kind: str,
    reason: str,
    cause: str,
    now: dt.datetime,
) -> None:
    """A resolution failed for good: its reservation released, the case back to an
    agent (``proposed``) with the reason."""
    # order.refund_failed also reports a discount code the storefront refused; an unpaid
    # difference leaves nothing to send
    kinds = {"refund": ("refund", "discount"), "payment": ("payment", "reship")}.get(kind, (kind,))
    for held in await LedgerRepository(session).of_case(case_id):
        if held.kind in kinds and held.state == "reserved":
            held.state = "released"
    case = await CaseRepository(session).get(case_id, for_update=True)
    if case is not None and kind == "payment":
        case.payment_info = None  # nothing is awaited any more: the agent decides again
    if case is not None and case.status == CaseStatus.RESOLVING.value:
        await move(session, outbox, case, CaseStatus.PROPOSED, actor="aftersales",
                   cause=cause, now=now, reason=f"{kind} failed: {reason}")  # fmt: skip
