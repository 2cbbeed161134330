"""An operator settles a supplier order left in ``needs_attention`` (lookups after an
unknown outcome settled nothing): the supplier does not have it (placed again, without
a lookup), or it does, as its order X (placed; X is how its webhooks and lookups find
it). Either way the timeline names the operator."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.errors import NotAwaitingResolution, PlacementInFlight, SupplierRefTaken
from supplier_gateway.models import Supplier, SupplierOrder, SupplierOrderEvent
from supplier_gateway.placement.repository import PlacementRepository
from supplier_gateway.supplier_orders.service import PLACE_FLAG, mark_placed
from supplier_gateway.supplier_orders.transitions import move


class NotPlaced(BaseModel):
    """The supplier does not have it: place it."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["not_placed"]
    note: str | None = Field(default=None, max_length=500)


class PlacedAs(BaseModel):
    """The supplier has it, as its order ``supplier_ref``."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["placed"]
    supplier_ref: str = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")
    note: str | None = Field(default=None, max_length=500)


Resolution = Annotated[NotPlaced | PlacedAs, Field(discriminator="outcome")]


async def resolve(
    session: AsyncSession,
    outbox: Outbox,
    row: SupplierOrder,
    supplier: Supplier,
    resolution: NotPlaced | PlacedAs,
    actor: str,
    *,
    sync_seconds: float,
) -> None:
    """Raises NotAwaitingResolution (not needs_attention), PlacementInFlight (a lookup
    is out: its answer may settle it), SupplierRefTaken (another order has that ref)."""
    now = utcnow()
    if row.status != Status.NEEDS_ATTENTION.value:
        raise NotAwaitingResolution(
            f"this supplier order is {row.status}: only one in needs_attention is resolved"
        )
    if row.leased_until is not None and row.leased_until > now:
        raise PlacementInFlight(
            "a lookup or placement call for this supplier order is out: try again once it"
            " has answered (see its timeline)"
        )
    details: dict[str, str | None] = {"outcome": resolution.outcome, "note": resolution.note}
    row.needs_lookup, row.unsettled_lookups, row.last_error = False, 0, None
    if isinstance(resolution, PlacedAs):
        ref = resolution.supplier_ref
        other = await PlacementRepository(session).by_supplier_ref(row.supplier_id, ref)
        if other is not None and other.id != row.id:
            raise SupplierRefTaken(
                f"supplier order {other.id} is already the supplier's order {ref}",
                {"supplier_order_id": str(other.id)},
            )
        details["supplier_ref"] = row.supplier_ref = ref
        session.add(_resolved(row, now, details, actor))
        # an open order: looked up now and then, for tracking a lost webhook would bring
        row.next_attempt_at = now + dt.timedelta(seconds=sync_seconds)
        await mark_placed(session, outbox, row, supplier, actor, via="operator")
        return
    session.add(_resolved(row, now, details, actor))
    move(session, row, Status.PENDING, actor, {"reason": "an operator: not placed, place it"})
    row.next_attempt_at = now
    session.info[PLACE_FLAG] = True


def _resolved(
    row: SupplierOrder, now: dt.datetime, details: dict[str, str | None], actor: str
) -> SupplierOrderEvent:
    return SupplierOrderEvent(
        supplier_order_id=row.id, at=now, kind="resolved", details=details, cause=actor
    )
