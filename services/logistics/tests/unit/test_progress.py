import datetime as dt
import random

from logistics.domain.carriers import CarrierSource
from logistics.domain.progress import ParcelState, Progress, Report, Scan, progress, scan_key
from logistics.domain.status import ParcelStatus as S

T0 = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


ROAD = [
    Scan(at(0), S.INFO_RECEIVED, "InfoReceived", "Electronic information received", "Shenzhen"),
    Scan(at(10), S.IN_TRANSIT, "InTransit/PickedUp", "Picked up", "Shenzhen"),
    Scan(at(100), S.IN_CUSTOMS, "InTransit/CustomsProcessing", "Customs", "Frankfurt"),
    Scan(at(150), S.OUT_FOR_DELIVERY, "OutForDelivery", "Out for delivery", "Berlin"),
    Scan(at(160), S.DELIVERED, "Delivered", "Delivered", "Berlin"),
]


def start() -> ParcelState:
    return ParcelState(S.PENDING, None, None, "chinapost", CarrierSource.GIVEN)


def apply(
    state: ParcelState, scans: list[Scan], known: set[str], now: dt.datetime
) -> tuple[ParcelState, Progress]:
    newest = max(scans, key=lambda s: s.occurred_at)
    done = progress(state, Report(newest.status, newest.provider_status, scans), known, now)
    known |= {k for k, _ in done.new_scans}
    if done.status is not None:
        assert done.status_scan is not None
        notices = state.notices | ({done.buyer_notice} if done.buyer_notice else set())
        state = ParcelState(
            done.status,
            done.status_scan.occurred_at,
            done.last_scan_at or state.last_scan_at,
            state.carrier,
            state.carrier_source,
            frozenset(notices),
        )
    return state, done


def test_each_report_in_order_moves_the_parcel_and_tells_the_buyer_once_per_kind() -> None:
    state, known, notices = start(), set[str](), []
    for i, _ in enumerate(ROAD):
        state, done = apply(state, ROAD[: i + 1], known, ROAD[i].occurred_at)
        notices.append(done.buyer_notice)
        assert len(done.new_scans) == 1
    assert state.status == S.DELIVERED
    assert notices == [None, None, "customs", "out_for_delivery", "delivered"]


def test_duplicates_and_shuffled_reports_change_nothing_twice() -> None:
    state, known = start(), set[str]()
    changes = []
    reports = [ROAD[: i + 1] for i in range(len(ROAD))]
    shuffled = reports + reports[::-1]
    random.Random(7).shuffle(shuffled)
    for scans in shuffled:
        state, done = apply(state, scans, known, at(170))
        if done.status:
            changes.append(done.status)
    assert state.status == S.DELIVERED
    assert changes[-1] == S.DELIVERED
    assert len(known) == 5  # each scan kept once
    # never backwards: the statuses changed to are in road order
    order = [s.status for s in ROAD]
    assert [order.index(c) for c in changes] == sorted(order.index(c) for c in changes)


def test_a_catch_up_burst_is_one_change_and_one_message() -> None:
    state, _ = apply(start(), ROAD[:2], set(), at(10))
    _, done = apply(state, ROAD, {scan_key(s) for s in ROAD[:2]}, at(161))
    assert done.status == S.DELIVERED and done.previous_status == S.IN_TRANSIT
    assert done.buyer_notice == "delivered"
    assert len(done.new_scans) == 3  # the history is kept whole


def test_stale_news_is_recorded_but_not_told_except_delivery() -> None:
    state, _ = apply(start(), ROAD[:2], set(), at(10))
    _, late = apply(state, ROAD[:4], set(), at(150 + 72))  # out for delivery, 3 days late
    assert late.status == S.OUT_FOR_DELIVERY and late.buyer_notice is None


def test_an_old_in_transit_after_delivery_is_history() -> None:
    state, _ = apply(start(), ROAD, set(), at(160))
    _, done = apply(state, [ROAD[1]], set(), at(200))
    assert done.status is None and done.buyer_notice is None


def test_exception_then_transit_is_a_real_change() -> None:
    state, _ = apply(start(), ROAD[:2], set(), at(10))
    trouble = Scan(at(50), S.EXCEPTION, "Exception/Delayed", "Held", "Hub")
    state, done = apply(state, [*ROAD[:2], trouble], set(), at(50))
    assert done.status == S.EXCEPTION
    moving = Scan(at(60), S.IN_TRANSIT, "InTransit/Departure", "Departed", "Hub")
    _, done = apply(state, [*ROAD[:2], trouble, moving], set(), at(60))
    assert done.status == S.IN_TRANSIT


def test_customs_is_told_once_even_when_the_parcel_goes_back_there() -> None:
    state = ParcelState(
        S.EXCEPTION, at(120), at(120), None, CarrierSource.GIVEN, frozenset({"customs"})
    )
    _, done = apply(
        state,
        [Scan(at(130), S.IN_CUSTOMS, "InTransit/CustomsProcessing", "Customs")],
        set(),
        at(130),
    )
    assert done.status == S.IN_CUSTOMS and done.buyer_notice is None


def test_the_provider_corrects_the_carrier_unless_an_operator_set_it() -> None:
    report = Report(S.IN_TRANSIT, "InTransit", ROAD[:2], carrier="yanwen")
    assert progress(start(), report, [], at(10)).carrier == "yanwen"
    by_hand = ParcelState(S.PENDING, None, None, "chinapost", CarrierSource.OPERATOR)
    assert progress(by_hand, report, [], at(10)).carrier is None


def test_a_return_under_a_reused_number_takes_nothing_from_the_outbound_journey() -> None:
    """The buyer's return under the number the parcel came with (its last scan at hour
    160): the outbound "delivered" is history, not the return's arrival."""
    back = ParcelState(
        S.PENDING, None, None, "chinapost", CarrierSource.GIVEN, history_until=at(160)
    )
    old = progress(back, Report(S.DELIVERED, "Delivered", ROAD), set(), at(301))
    assert old.status is None and old.last_scan_at is None and old.buyer_notice is None
    assert len(old.new_scans) == len(ROAD)  # kept on the timeline
    summary = progress(back, Report(S.DELIVERED, "Delivered", []), set(), at(301))
    assert summary.status is None  # the provider's summary alone may be the old journey
    posted = Scan(at(200), S.IN_TRANSIT, "InTransit/PickedUp", "Posted", "Berlin")
    done = progress(back, Report(S.IN_TRANSIT, "InTransit", [*ROAD, posted]), set(), at(311))
    assert (done.status, done.last_scan_at) == (S.IN_TRANSIT, at(200))
    # the same reports for the order's own parcel: delivered
    assert progress(start(), Report(S.DELIVERED, "Delivered", ROAD), set(), at(301)).status == (
        S.DELIVERED
    )
