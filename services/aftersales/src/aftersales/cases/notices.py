"""What the buyer and the supplier hear of a case. aftersales holds neither address:
it publishes the notice, and the service that holds it (order-intake for the buyer,
supplier-gateway for the supplier) sends it, once per case and kind."""

from __future__ import annotations

from decimal import Decimal

from aftersales.domain.cases import CaseStatus
from aftersales.domain.policy import Party
from aftersales.models import Case
from dropship_common.contracts.aftersales import (
    AftersalesBuyerNotice,
    AftersalesSupplierNotice,
    BuyerNoticeKind,
)
from dropship_common.messaging.envelope import Envelope
from dropship_common.tracking_links import signed_id

# the buyer hears of these moves; the others are the agents' business
NOTICE_OF_STATUS: dict[CaseStatus, BuyerNoticeKind] = {
    CaseStatus.AWAITING_BUYER: "evidence_needed",
    CaseStatus.APPROVED: "approved",
    CaseStatus.REJECTED: "rejected",
}


def case_page(case: Case) -> str:
    """The buyer's page of the case on aftersales (a path)."""
    return f"/cases/{signed_id('case', case.id)}"


def buyer_notice(case: Case, kind: BuyerNoticeKind, **details: object) -> Envelope:
    return AftersalesBuyerNotice(
        case_id=case.id,
        order_id=case.order_id,
        shop_id=case.shop_id,
        kind=kind,
        case_type=case.type,
        case_page=case_page(case),
        details={k: str(v) for k, v in details.items() if v is not None},
    ).envelope(correlation_id=str(case.order_id))


def supplier_notice(
    case: Case, *, resolution: str, cost: Decimal, borne_by: Party, goods_back: bool
) -> Envelope | None:
    """None when the case concerns no known supplier order."""
    if case.supplier_order_id is None:
        return None
    lines = ", ".join(f"{line.get('quantity')} x {line.get('sku')}" for line in case.lines)
    return AftersalesSupplierNotice(
        case_id=case.id,
        order_id=case.order_id,
        supplier_order_id=case.supplier_order_id,
        case_type=case.type,
        resolution=resolution,
        cost=cost,
        currency=case.currency,
        borne_by=borne_by,
        goods_back=goods_back,
        note=f"{case.type.replace('_', ' ')} ({lines}): {resolution.replace('_', ' ')},"
        f" {cost} {case.currency} borne by the {borne_by}",
    ).envelope(correlation_id=str(case.order_id))
