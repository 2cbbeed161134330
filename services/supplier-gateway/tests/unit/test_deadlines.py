import datetime as dt

from supplier_gateway.domain.deadlines import Deadline, deadline, due_date

UTC = dt.UTC


def test_ship_by_counts_business_days_of_the_suppliers_country() -> None:
    # Friday 2026-11-20 in China, 2 business days: Monday 23, Tuesday 24
    assert due_date(dt.datetime(2026, 11, 20, 3, tzinfo=UTC), 2, "CN") == dt.date(2026, 11, 24)
    # placed during China's National Day holiday: the clock starts after it
    assert due_date(dt.datetime(2026, 10, 2, 3, tzinfo=UTC), 1, "CN") > dt.date(2026, 10, 7)


def test_at_risk_on_the_day_overdue_after_in_the_suppliers_time_zone() -> None:
    due = dt.date(2026, 11, 25)
    assert deadline(due, dt.datetime(2026, 11, 24, 10, tzinfo=UTC), "CN") == Deadline.ON_TIME
    # 2026-11-24 17:00 UTC is already the 25th in Shanghai
    assert deadline(due, dt.datetime(2026, 11, 24, 17, tzinfo=UTC), "CN") == Deadline.AT_RISK
    assert deadline(due, dt.datetime(2026, 11, 25, 17, tzinfo=UTC), "CN") == Deadline.OVERDUE
