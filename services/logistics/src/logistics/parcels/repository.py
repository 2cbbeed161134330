"""SQL of parcels, their timelines, destinations and the routing tables."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import insert_ignore
from dropship_common.repository import Repository
from logistics.domain.carriers import CarrierClass
from logistics.domain.rules import DEFAULT_TRANSIT, FollowUpPolicy, TransitDays
from logistics.models import (
    Destination,
    Parcel,
    ParcelEvent,
    ShopFollowUp,
    SilentRoute,
    TransitTime,
)


class DestinationRepository(Repository[Destination]):
    model = Destination

    async def remember(self, row: Destination) -> None:
        stmt = insert_ignore(Destination.__table__, self.dialect).values(
            order_id=row.order_id,
            shop_id=row.shop_id,
            country=row.country,
            postal_code=row.postal_code,
            city=row.city,
            language=row.language,
        )
        await self.session.execute(stmt)

    async def scrub(self, order_id: uuid.UUID, at: dt.datetime) -> None:
        await self.session.execute(
            sa.update(Destination)
            .where(Destination.order_id == order_id)
            .values(country=None, postal_code=None, city=None, redacted_at=at)
        )

    async def cancelled(self, order_id: uuid.UUID, at: dt.datetime) -> None:
        await self.session.execute(
            sa.update(Destination).where(Destination.order_id == order_id).values(cancelled_at=at)
        )


class RoutingRepository:
    """The editable tables the rules read: silent routes, transit times, shop numbers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def is_silent(self, country: str | None, carrier_class: CarrierClass) -> bool:
        if not country:
            return False
        found = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(SilentRoute)
            .where(SilentRoute.country == country, SilentRoute.carrier_class == carrier_class)
        )
        return bool(found)

    async def transit(
        self, shop_id: uuid.UUID | None, carrier_class: CarrierClass, country: str | None
    ) -> TransitDays:
        """The most specific entry: the shop's for the country, the shop's for every
        country, everyone's for the country, everyone's; else the default."""
        shops = [str(shop_id), "*"] if shop_id else ["*"]
        countries = [country, "*"] if country else ["*"]
        rows = (
            (
                await self.session.execute(
                    sa.select(TransitTime).where(
                        TransitTime.shop_key.in_(shops),
                        TransitTime.carrier_class == carrier_class,
                        TransitTime.country.in_(countries),
                    )
                )
            )
            .scalars()
            .all()
        )
        best = sorted(rows, key=lambda r: (shops.index(r.shop_key), countries.index(r.country)))
        if best:
            return TransitDays(best[0].min_days, best[0].max_days)
        return DEFAULT_TRANSIT[carrier_class]

    async def policy(self, shop_id: uuid.UUID | None) -> FollowUpPolicy:
        row = await self.session.get(ShopFollowUp, shop_id) if shop_id else None
        if row is None:
            return FollowUpPolicy()
        return FollowUpPolicy(
            express_follow_up_days=row.express_follow_up_days,
            postal_follow_up_days=row.postal_follow_up_days,
            lost_after_days=row.lost_after_days,
            max_window_days=row.max_window_days,
        )

    async def silent_routes(self) -> Sequence[SilentRoute]:
        return (
            (await self.session.execute(sa.select(SilentRoute).order_by(SilentRoute.country)))
            .scalars()
            .all()
        )

    async def put_silent_route(self, country: str, carrier_class: str, note: str | None) -> None:
        await self.session.merge(
            SilentRoute(country=country, carrier_class=carrier_class, note=note)
        )

    async def delete_silent_route(self, country: str, carrier_class: str) -> bool:
        result = await self.session.execute(
            sa.delete(SilentRoute)
            .where(SilentRoute.country == country, SilentRoute.carrier_class == carrier_class)
            .returning(SilentRoute.country)
        )
        return result.first() is not None

    async def put_transit(self, row: TransitTime) -> None:
        await self.session.merge(row)

    async def put_policy(self, row: ShopFollowUp) -> None:
        await self.session.merge(row)


class ParcelRepository(Repository[Parcel]):
    model = Parcel

    async def insert_new(self, parcels: Sequence[Parcel]) -> list[uuid.UUID]:
        """Insert those not there yet (one per supplier order and number); the ids of
        those inserted."""
        inserted: list[uuid.UUID] = []
        for parcel in parcels:
            values = {
                c.key: getattr(parcel, c.key)
                for c in Parcel.__table__.columns
                if getattr(parcel, c.key, None) is not None
            }
            stmt = insert_ignore(Parcel.__table__, self.dialect).values(**values)
            result = await self.session.execute(stmt.returning(Parcel.__table__.c.id))
            row = result.first()
            if row is not None:
                inserted.append(row[0])
        return inserted

    async def of_order(self, order_id: uuid.UUID, *, for_update: bool = False) -> list[Parcel]:
        return await self.all(
            self.select().where(Parcel.order_id == order_id).order_by(Parcel.id),
            for_update=for_update,
        )

    async def return_of_case(
        self, case_id: uuid.UUID, *, for_update: bool = False
    ) -> Parcel | None:
        query = self.select().where(Parcel.case_id == case_id, Parcel.return_parcel)
        return await self.one(query, for_update=for_update)

    async def remove(self, parcel: Parcel) -> None:
        """A parcel and its timeline (a return's mistyped number)."""
        await self.session.execute(sa.delete(ParcelEvent).where(ParcelEvent.parcel_id == parcel.id))
        await self.session.delete(parcel)
        await self.session.flush()

    async def by_number(
        self, number: str, account_id: uuid.UUID | None = None, *, for_update: bool = False
    ) -> list[Parcel]:
        query = self.select().where(Parcel.tracking_number == number)
        if account_id is not None:
            query = query.where(Parcel.account_id == account_id)
        return await self.all(query.order_by(Parcel.id), for_update=for_update)

    async def by_numbers(
        self, pairs: Sequence[tuple[uuid.UUID, str]], *, for_update: bool = False
    ) -> list[Parcel]:
        """Parcels by (account, number), in one query (locked in id order)."""
        if not pairs:
            return []
        wanted = sa.tuple_(Parcel.account_id, Parcel.tracking_number).in_(list(pairs))
        return await self.all(
            self.select().where(wanted).order_by(Parcel.id), for_update=for_update
        )

    async def by_token(self, token: str) -> Parcel | None:
        return await self.one(self.select().where(Parcel.token == token))

    async def claim_review(self, now: dt.datetime, limit: int) -> list[Parcel]:
        return await self.claim(
            self.select()
            .where(Parcel.review_at.is_not(None), Parcel.review_at <= now)
            .order_by(Parcel.review_at),
            limit,
        )

    async def search(
        self,
        *,
        status: str | None = None,
        order_id: uuid.UUID | None = None,
        shop_ids: Iterable[uuid.UUID] | None = None,
        carrier: str | None = None,
        stalled: bool | None = None,
        overdue_on: dt.date | None = None,
        after: tuple[dt.datetime, uuid.UUID] | None = None,
        limit: int = 50,
    ) -> list[Parcel]:
        query = self.select()
        if status:
            query = query.where(Parcel.status == status)
        if order_id:
            query = query.where(Parcel.order_id == order_id)
        if shop_ids is not None:
            query = query.where(Parcel.shop_id.in_(list(shop_ids)))
        if carrier:
            query = query.where(Parcel.carrier == carrier)
        if stalled is not None:
            query = query.where(
                Parcel.stalled_at.is_not(None) if stalled else Parcel.stalled_at.is_(None)
            )
        if overdue_on is not None:
            query = query.where(
                Parcel.window_to < overdue_on,
                Parcel.status.not_in(["delivered", "returned_to_sender", "lost"]),
            )
        if after is not None:
            query = query.where(sa.tuple_(Parcel.created_at, Parcel.id) < sa.tuple_(*after))
        return await self.all(
            query.order_by(Parcel.created_at.desc(), Parcel.id.desc()).limit(limit)
        )


class TimelineRepository(Repository[ParcelEvent]):
    model = ParcelEvent

    async def keys(self, parcel_id: uuid.UUID) -> set[str]:
        return (await self.keys_of([parcel_id])).get(parcel_id, set())

    async def last_scan(self, parcel_id: uuid.UUID) -> str | None:
        """The description of the parcel's newest scan."""
        return await self.session.scalar(
            sa.select(ParcelEvent.description)
            .where(ParcelEvent.parcel_id == parcel_id, ParcelEvent.kind == "scan")
            .order_by(ParcelEvent.occurred_at.desc(), ParcelEvent.id.desc())
            .limit(1)
        )

    async def keys_of(self, parcel_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        """The dedupe keys of several parcels' timelines, in one query."""
        found: dict[uuid.UUID, set[str]] = {}
        if not parcel_ids:
            return found
        rows = await self.session.execute(
            sa.select(ParcelEvent.parcel_id, ParcelEvent.dedupe_key).where(
                ParcelEvent.parcel_id.in_(list(parcel_ids))
            )
        )
        for parcel_id, key in rows:
            found.setdefault(parcel_id, set()).add(key)
        return found

    async def add_many(self, events: Sequence[dict[str, Any]]) -> None:
        if events:
            await self.session.execute(
                insert_ignore(ParcelEvent.__table__, self.dialect), list(events)
            )

    async def of_parcel(self, parcel_id: uuid.UUID) -> list[ParcelEvent]:
        return await self.all(
            self.select()
            .where(ParcelEvent.parcel_id == parcel_id)
            .order_by(ParcelEvent.occurred_at, ParcelEvent.id)
        )
