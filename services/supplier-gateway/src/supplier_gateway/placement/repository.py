"""SQL of placement: claiming due supplier orders, reading them back for the outcome."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from supplier_gateway.domain.supplier_order import OPEN, PLACING, Status
from supplier_gateway.models import Supplier, SupplierOrder
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository


@dataclass(frozen=True)
class Claimed:
    """What the worker needs to call the supplier, copied out of the transaction."""

    supplier_order_id: uuid.UUID
    supplier_id: uuid.UUID
    adapter: str
    credentials: dict[str, Any] | None
    ship_from_country: str
    notice: dict[str, Any]
    needs_lookup: bool
    supplier_ref: str | None = None
    leased_until: dt.datetime | None = None  # the claim's token (see ``release``)


def _not_out(now: dt.datetime) -> sa.ColumnElement[bool]:
    """No worker has the order out (never claimed, recorded, or its lease ran out)."""
    return sa.or_(SupplierOrder.leased_until.is_(None), SupplierOrder.leased_until <= now)


class PlacementRepository(SupplierOrderRepository):
    """The placement worker's SQL, on the shared supplier-order reads."""

    async def _due(
        self,
        statuses: Sequence[str],
        now: dt.datetime,
        kinds: Sequence[str],
        limit: int,
        lease: dt.timedelta,
        *,
        placing: bool = False,
        also: sa.ColumnElement[bool] | None = None,
        only: sa.ColumnElement[bool] | None = None,
    ) -> list[Claimed]:
        """Orders in ``statuses`` due now, of suppliers with an adapter of ``kinds``,
        locked (others skip them) and leased, copied out as they were. ``placing``: a
        call that may create the order is about to go out (``needs_lookup`` set);
        ``also``: other rows that count as in ``statuses``; ``only``: a further filter."""
        wanted: sa.ColumnElement[bool] = SupplierOrder.status.in_(list(statuses))
        if also is not None:
            wanted = sa.or_(wanted, also)
        if only is not None:
            wanted = sa.and_(wanted, only)
        rows = (
            await self.session.execute(
                sa.select(SupplierOrder, Supplier)
                .join(Supplier, Supplier.id == SupplierOrder.supplier_id)
                .where(
                    wanted,
                    SupplierOrder.next_attempt_at <= now,
                    # not while another pass has it out (a cancellation made due while
                    # its placement call is on the way waits for that call's outcome)
                    _not_out(now),
                    Supplier.adapter.in_(list(kinds)),
                )
                .order_by(SupplierOrder.next_attempt_at)
                .limit(limit)
                .with_for_update(of=SupplierOrder, skip_locked=True)
            )
        ).all()
        claimed = []
        for row, supplier in rows:
            claimed_lookup = row.needs_lookup  # as it was: the worker looks up first if set
            row.next_attempt_at = row.leased_until = now + lease
            if placing:
                row.needs_lookup = True
            claimed.append(
                Claimed(
                    row.id,
                    supplier.id,
                    supplier.adapter,
                    supplier.credentials,
                    supplier.ship_from_country,
                    row.notice,
                    claimed_lookup,
                    row.supplier_ref,
                    row.leased_until,
                )
            )
        return claimed

    async def claim_due(
        self, now: dt.datetime, kinds: Sequence[str], limit: int, lease: dt.timedelta
    ) -> list[Claimed]:
        """Pending orders due now: a worker that dies mid-call leaves them to come due
        again after the lease, and to be looked up first."""
        statuses = [st.value for st in PLACING]  # needs_attention: still looked up
        return await self._due(statuses, now, kinds, limit, lease, placing=True)

    async def claim_cancellations_due(
        self, now: dt.datetime, kinds: Sequence[str], limit: int, lease: dt.timedelta
    ) -> list[Claimed]:
        """Cancelled here, not yet at the supplier (``next_attempt_at`` set)."""
        return await self._due(
            [Status.CANCELLED.value], now, kinds, limit, lease, only=~SupplierOrder.cancel_refused
        )

    async def claim_syncs_due(
        self, now: dt.datetime, kinds: Sequence[str], limit: int, lease: dt.timedelta
    ) -> list[Claimed]:
        """Open orders (placed, accepted) due to be looked up at the supplier, in case a
        webhook or callback never came; and those the supplier would not stop."""
        refused = sa.and_(
            SupplierOrder.status == Status.CANCELLED.value, SupplierOrder.cancel_refused
        )
        return await self._due([s.value for s in OPEN], now, kinds, limit, lease, also=refused)

    async def lock(self, supplier_order_id: uuid.UUID) -> tuple[SupplierOrder, Supplier]:
        row, supplier = (
            await self.session.execute(
                sa.select(SupplierOrder, Supplier)
                .join(Supplier, Supplier.id == SupplierOrder.supplier_id)
                .where(SupplierOrder.id == supplier_order_id)
                .with_for_update(of=SupplierOrder)
            )
        ).one()
        return row, supplier

    async def release(self, claimed: Claimed) -> tuple[SupplierOrder, Supplier]:
        """Lock an order a worker claimed, to record what its call did: its claim ends,
        unless the lease ran out and another worker holds a newer one (left standing,
        so that nothing else starts while that worker's call is out)."""
        row, supplier = await self.lock(claimed.supplier_order_id)
        if row.leased_until == claimed.leased_until:
            row.leased_until = None
        return row, supplier

    async def make_due(self, supplier_order_id: uuid.UUID, now: dt.datetime) -> bool:
        """A pending order due now, unless a worker has it out: its call may be on the
        way, and a second one before it answers could place the order twice."""
        result = await self.session.execute(
            sa.update(SupplierOrder)
            .where(
                SupplierOrder.id == supplier_order_id,
                SupplierOrder.status == Status.PENDING.value,
                _not_out(now),
            )
            .values(next_attempt_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def make_parked_due(self, supplier_id: uuid.UUID, now: dt.datetime) -> int:
        """The supplier's parked orders (refused, or not configured) go again."""
        result = await self.session.execute(
            sa.update(SupplierOrder)
            .where(
                SupplierOrder.supplier_id == supplier_id,
                SupplierOrder.status.in_([st.value for st in PLACING]),
                SupplierOrder.next_attempt_at.is_(None),
            )
            .values(next_attempt_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
