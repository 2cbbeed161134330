"""SQL of cases, their timeline, the order copies, the policies and the ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from aftersales.models import Case, CaseEvent, LedgerEntry, OrderCopy, Policy
from dropship_common.db import insert_ignore, utcnow
from dropship_common.repository import Repository


class CaseRepository(Repository[Case]):
    model = Case

    async def insert_new(self, values: dict[str, Any]) -> bool:
        """Open the case unless that problem has one already (order, type, source)."""
        result = await self.session.execute(
            insert_ignore(Case.__table__, self.dialect)
            .values(**values)
            .returning(Case.__table__.c.id)
        )
        return result.first() is not None

    async def approvals(self, case_id: uuid.UUID) -> int:
        """How many times the case was approved (this approval included): the attempt
        its resolution's events carry."""
        await self.session.flush()
        count = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.to_status == "approved")
        )
        return max(1, int(count or 0))

    async def search(
        self,
        *,
        status: str | None,
        type_: str | None,
        shop_ids: Iterable[uuid.UUID] | None,
        assignee: str | None,
        overdue_at: dt.datetime | None = None,
        limit: int,
    ) -> list[Case]:
        """Newest first; ``overdue_at``: only cases whose step was due before then."""
        query = self.select()
        if overdue_at is not None:
            query = query.where(Case.due_by < overdue_at)
        if status:
            query = query.where(Case.status == status)
        if type_:
            query = query.where(Case.type == type_)
        if shop_ids is not None:
            query = query.where(Case.shop_id.in_(list(shop_ids)))
        if assignee:
            query = query.where(Case.assignee == assignee)
        return await self.all(query.order_by(Case.created_at.desc(), Case.id).limit(limit))

    async def of_problem(self, order_id: uuid.UUID, type_: str, source_key: str) -> Case | None:
        """The case of that problem (order, type, source), if it has one."""
        return await self.one(
            self.select().where(
                Case.order_id == order_id, Case.type == type_, Case.source_key == source_key
            )
        )

    async def waiting_for_next_order(
        self, shop_id: uuid.UUID, email_digest: str, order_id: uuid.UUID
    ) -> list[Case]:
        """The buyer's cases (same shop, same e-mail) whose missing units wait for their
        next order, locked; not the order's own."""
        query = (
            self.select()
            .join(OrderCopy, OrderCopy.order_id == Case.order_id)
            .where(
                Case.shop_id == shop_id,
                Case.status == "resolving",
                Case.type == "quantity_short",
                OrderCopy.email_digest == email_digest,
                Case.order_id != order_id,
            )
        )
        return await self.all(query, for_update=True)

    async def timeline(self, case_id: uuid.UUID) -> list[CaseEvent]:
        rows = await self.session.scalars(
            sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
        return list(rows)


class OrderCopyRepository(Repository[OrderCopy]):
    model = OrderCopy

    async def remember(self, values: dict[str, Any]) -> None:
        await self.session.execute(
            insert_ignore(OrderCopy.__table__, self.dialect).values(**values)
        )

    async def get_order(self, order_id: uuid.UUID, *, for_update: bool = False) -> OrderCopy | None:
        return await self.session.get(OrderCopy, order_id, with_for_update=for_update)

    async def by_number_and_email(self, number: str, digest: str) -> OrderCopy | None:
        """The order with that number (per shop: the e-mail tells which) whose buyer's
        e-mail has that digest; a redacted order is found by nobody."""
        rows = await self.all(
            self.select()
            .where(
                OrderCopy.number == number,
                OrderCopy.email_digest == digest,
                OrderCopy.redacted_at.is_(None),
            )
            .limit(1)
        )
        return rows[0] if rows else None


class PolicyRepository(Repository[Policy]):
    model = Policy

    async def current(self, shop_id: uuid.UUID | None) -> Policy | None:
        """The shop's newest policy, else the deployment's."""
        keys = [str(shop_id), "*"] if shop_id else ["*"]
        rows = await self.all(
            self.select().where(Policy.shop_key.in_(keys)).order_by(Policy.version.desc())
        )
        rows.sort(key=lambda p: keys.index(p.shop_key))
        return rows[0] if rows else None


class LedgerRepository(Repository[LedgerEntry]):
    model = LedgerEntry

    async def lock_order(self, order_id: uuid.UUID) -> OrderCopy | None:
        """The order's copy, locked: approvals of refunds on one order take turns, so
        two agents approving two cases at once cannot both spend the same money."""
        query = sa.select(OrderCopy).where(OrderCopy.order_id == order_id)
        return (await self.session.scalars(query.with_for_update())).first()

    async def refunded(self, order_id: uuid.UUID) -> Decimal:
        """Refunds made or on their way (reserved) on the order."""
        total = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.order_id == order_id,
                LedgerEntry.kind == "refund",
                LedgerEntry.state.in_(("reserved", "done")),
            )
        )
        return Decimal(str(total or 0))

    async def add_new(self, values: dict[str, Any]) -> bool:
        """False when the (order, kind, reference) is recorded already."""
        result = await self.session.execute(
            insert_ignore(LedgerEntry.__table__, self.dialect)
            .values(**values)
            .returning(LedgerEntry.__table__.c.id)
        )
        return result.first() is not None

    async def reserve(self, values: dict[str, Any]) -> bool:
        """Reserve a case's entry; one released by a failed outcome is reserved again
        (the agent approved the case once more). False when it is reserved or done."""
        if await self.add_new(values):
            return True
        held = await self.find(values["order_id"], values["kind"], values["reference"])
        if held is None or held.state != "released":
            return False
        held.state, held.amount, held.borne_by = "reserved", values["amount"], values["borne_by"]
        held.at = utcnow()
        return True

    async def find(self, order_id: uuid.UUID, kind: str, reference: str) -> LedgerEntry | None:
        return await self.one(
            self.select().where(
                LedgerEntry.order_id == order_id,
                LedgerEntry.kind == kind,
                LedgerEntry.reference == reference,
            ),
            for_update=True,
        )

    async def of_case(self, case_id: uuid.UUID) -> list[LedgerEntry]:
        return await self.all(
            self.select().where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.at)
        )
