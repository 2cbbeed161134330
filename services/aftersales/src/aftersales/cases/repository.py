"""SQL of cases, their timeline, the order copies and the policies."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from aftersales.models import Case, CaseEvent, OrderCopy, Policy
from dropship_common.db import insert_ignore
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

    async def search(
        self,
        *,
        status: str | None,
        type_: str | None,
        shop_ids: Iterable[uuid.UUID] | None,
        assignee: str | None,
        limit: int,
    ) -> list[Case]:
        query = self.select()
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

    async def get_order(self, order_id: uuid.UUID) -> OrderCopy | None:
        return await self.session.get(OrderCopy, order_id)

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
