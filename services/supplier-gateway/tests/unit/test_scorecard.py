import datetime as dt

from supplier_gateway.domain.scorecard import OrderFacts, scorecard

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 2, 2, tzinfo=UTC)  # Monday 10:00 in Shanghai


def shipped(hours: float, ship_by: dt.date) -> OrderFacts:
    return OrderFacts("shipped", T0, T0 + dt.timedelta(hours=hours), ship_by, None)


def test_rates_median_and_rejections() -> None:
    facts = [
        shipped(20, dt.date(2026, 11, 4)),  # on time
        shipped(30, dt.date(2026, 11, 4)),  # on time (Tue 16:00 Shanghai)
        shipped(80, dt.date(2026, 11, 4)),  # Thu: late
        OrderFacts("rejected", T0, None, dt.date(2026, 11, 4), "out_of_stock"),
        OrderFacts("rejected", T0, None, dt.date(2026, 11, 4), "out_of_stock"),
        OrderFacts("placed", T0, None, dt.date(2026, 11, 4), None),  # not decided yet
        OrderFacts("pending", None, None, None, None),  # never placed: not counted
    ]
    card = scorecard(facts, "CN")
    assert card.orders == 6
    assert card.acceptance_rate == 0.6  # 3 of the 5 decided
    assert card.on_time_ship_rate == 0.6667
    assert card.median_handling_hours == 30.0
    assert card.rejections_by_reason == {"out_of_stock": 2}


def test_a_new_supplier_has_no_rates_yet() -> None:
    card = scorecard([], "CN")
    assert (card.orders, card.acceptance_rate, card.on_time_ship_rate) == (0, None, None)
