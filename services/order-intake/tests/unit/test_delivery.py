"""When an order counts as delivered (``domain/delivery.py``): every parcel delivered,
or replaced by a delivered reship of the same lines."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from order_intake.domain.delivery import every_parcel_arrived

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
FIRST, SECOND = uuid.uuid4(), uuid.uuid4()
LINE_A, LINE_B = str(uuid.uuid4()), str(uuid.uuid4())


@dataclass
class P:
    status: str | None
    line_ids: list[str] = field(default_factory=lambda: [LINE_A])
    supplier_order_id: uuid.UUID = FIRST
    created_at: dt.datetime = T0


def test_every_parcel_delivered_is_delivered_and_none_is_not() -> None:
    assert every_parcel_arrived([P("delivered"), P("delivered", [LINE_B])])
    assert not every_parcel_arrived([P("delivered"), P("in_transit", [LINE_B])])
    assert not every_parcel_arrived([])


def test_a_lost_parcel_replaced_by_a_delivered_reship_of_its_lines_is_delivered() -> None:
    lost = P("in_transit", [LINE_A, LINE_B])  # presumed lost: its status never changes
    reship = P("delivered", [LINE_A, LINE_B], SECOND, T0 + dt.timedelta(days=41))
    assert every_parcel_arrived([lost, reship])


def test_a_reship_not_yet_delivered_or_of_fewer_lines_does_not_replace() -> None:
    lost = P("in_transit", [LINE_A, LINE_B])
    later = T0 + dt.timedelta(days=41)
    assert not every_parcel_arrived([lost, P("in_transit", [LINE_A, LINE_B], SECOND, later)])
    assert not every_parcel_arrived([lost, P("delivered", [LINE_A], SECOND, later)])


def test_a_later_parcel_of_the_same_supplier_order_is_not_a_replacement() -> None:
    """One supplier order's units in two parcels: both must arrive."""
    first = P("in_transit")
    second = P("delivered", created_at=T0 + dt.timedelta(days=2))
    assert not every_parcel_arrived([first, second])


def test_an_earlier_parcel_does_not_replace_a_later_one() -> None:
    earlier = P("delivered", supplier_order_id=SECOND)
    later = P("returned_to_sender", created_at=T0 + dt.timedelta(days=3))
    assert not every_parcel_arrived([earlier, later])
