import datetime as dt

from logistics.domain.carriers import CarrierClass
from logistics.domain.rules import (
    DEFAULT_TRANSIT,
    Due,
    FollowUpPolicy,
    ParcelFacts,
    delivery_window,
    next_poll_in,
    review,
)
from logistics.domain.status import ParcelStatus as S

SHIPPED = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)
POLICY = FollowUpPolicy()


def facts(cls: CarrierClass = CarrierClass.POSTAL, **kw: object) -> ParcelFacts:
    _, closes = delivery_window(SHIPPED, DEFAULT_TRANSIT[cls])
    base: dict[str, object] = {
        "status": S.IN_TRANSIT,
        "carrier_class": cls,
        "shipped_at": SHIPPED,
        "last_scan_at": SHIPPED + dt.timedelta(days=1),
        "window_closes_on": closes,
    }
    base.update(kw)
    return ParcelFacts(**base)  # type: ignore[arg-type]


def days(n: float) -> dt.datetime:
    return SHIPPED + dt.timedelta(days=n)


def test_express_is_followed_up_after_7_days_postal_after_30() -> None:
    assert Due.FOLLOW_UP not in review(facts(CarrierClass.EXPRESS), POLICY, days(6.9)).due
    assert Due.FOLLOW_UP in review(facts(CarrierClass.EXPRESS), POLICY, days(7)).due
    assert Due.FOLLOW_UP not in review(facts(), POLICY, days(29)).due
    assert Due.FOLLOW_UP in review(facts(), POLICY, days(30)).due
    # once done, not again
    assert Due.FOLLOW_UP not in review(facts(followed_up=True), POLICY, days(31)).due


def test_per_shop_numbers() -> None:
    shop = FollowUpPolicy(postal_follow_up_days=20)
    assert Due.FOLLOW_UP in review(facts(), shop, days(20)).due


def test_stalled_when_no_scan_for_the_follow_up_period() -> None:
    scanned = facts(CarrierClass.EXPRESS, last_scan_at=days(5))
    assert Due.STALLED not in review(scanned, POLICY, days(11)).due
    assert Due.STALLED in review(scanned, POLICY, days(12)).due
    assert (
        Due.STALLED
        not in review(
            facts(CarrierClass.EXPRESS, last_scan_at=days(5), stalled=True), POLICY, days(12)
        ).due
    )


def test_presumed_lost_after_40_days_without_tracking() -> None:
    quiet = facts(last_scan_at=days(2))
    assert Due.PRESUMED_LOST not in review(quiet, POLICY, days(41)).due
    assert Due.PRESUMED_LOST in review(quiet, POLICY, days(42)).due
    never = facts(last_scan_at=None)
    assert Due.PRESUMED_LOST in review(never, POLICY, days(40)).due


def test_a_route_that_goes_silent_is_not_lost_for_silence_alone() -> None:
    quiet = facts(last_scan_at=days(2), silent_route=True)
    at_42 = review(quiet, POLICY, days(42))
    assert Due.PRESUMED_LOST not in at_42.due
    assert Due.SILENT_ROUTE in at_42.due  # the buyer is told to ask the post office
    assert Due.EXTEND_WINDOW in at_42.due and at_42.window_closes_on is not None
    told = facts(
        last_scan_at=days(2),
        silent_route=True,
        silent_route_told=True,
        window_closes_on=days(120).date(),
    )
    assert review(told, POLICY, days(100)).due == [Due.FOLLOW_UP, Due.STALLED]
    assert Due.PRESUMED_LOST in review(told, POLICY, days(120)).due


def test_the_window_is_extended_before_it_closes_never_past_120_days() -> None:
    parcel = facts(last_scan_at=days(35), followed_up=True, stalled=True)
    closes = parcel.window_closes_on  # shipped + 40 days
    assert closes == days(40).date()
    early = review(parcel, POLICY, days(36))
    assert Due.EXTEND_WINDOW not in early.due
    assert early.next_review_at == dt.datetime.combine(
        closes - dt.timedelta(days=3), dt.time(), tzinfo=dt.UTC
    )
    before = review(parcel, POLICY, days(37))
    assert Due.EXTEND_WINDOW in before.due
    assert before.window_closes_on == closes + dt.timedelta(days=15)
    near_cap = facts(
        last_scan_at=days(110), followed_up=True, stalled=True, window_closes_on=days(115).date()
    )
    capped = review(near_cap, POLICY, days(113))
    assert capped.window_closes_on == days(120).date()
    at_cap = facts(
        last_scan_at=days(110), window_closes_on=days(120).date(), followed_up=True, stalled=True
    )
    assert Due.EXTEND_WINDOW not in review(at_cap, POLICY, days(119)).due


def test_a_late_estimate_extends_the_window_at_once() -> None:
    parcel = facts(last_scan_at=days(9), estimated_delivery=days(50).date())
    decided = review(parcel, POLICY, days(10))
    assert Due.EXTEND_WINDOW in decided.due
    assert decided.window_closes_on == days(55).date()  # +15 days, past the estimate


def test_nothing_after_a_final_status() -> None:
    assert review(facts(status=S.DELIVERED, last_scan_at=None), POLICY, days(90)).due == []
    assert review(facts(status=S.DELIVERED), POLICY, days(90)).next_review_at is None


def test_polling_adapts() -> None:
    def poll(status: S, now: dt.datetime, **kw: object) -> dt.timedelta | None:
        args: dict[str, object] = {
            "shipped_at": SHIPPED,
            "last_scan_at": days(1),
            "last_push_at": None,
            "estimated_delivery": None,
        }
        args.update(kw)
        return next_poll_in(status, now=now, **args)  # type: ignore[arg-type]

    assert poll(S.INFO_RECEIVED, days(1)) == dt.timedelta(hours=4)  # just shipped
    assert poll(S.IN_TRANSIT, days(20), last_scan_at=days(5)) == dt.timedelta(hours=24)
    assert poll(S.OUT_FOR_DELIVERY, days(20)) == dt.timedelta(hours=2)  # near the door
    assert poll(S.IN_TRANSIT, days(20), last_push_at=days(19)) == dt.timedelta(days=3)
    assert poll(S.DELIVERED, days(20)) is None


def test_a_buyers_return_is_watched_for_the_operators_but_nothing_is_for_the_buyer() -> None:
    """No follow-up and no window extension (news for the buyer, who sent it back);
    still stalled and presumed lost, for the operators' worklist."""
    back = facts(return_parcel=True, last_scan_at=None)
    due = review(back, POLICY, days(37))  # postal follow-up (30) and window closing (40)
    assert due.due == [Due.STALLED] and due.window_closes_on is None
    assert review(facts(last_scan_at=None), POLICY, days(37)).due == [
        Due.FOLLOW_UP,
        Due.STALLED,
        Due.EXTEND_WINDOW,
    ]  # the same parcel to the buyer
    assert review(back, POLICY, days(40)).due == [Due.STALLED, Due.PRESUMED_LOST]
