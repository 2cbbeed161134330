"""When a placement is tried again, and which supplier credentials are refused (pure)."""

from __future__ import annotations

import pytest

from supplier_gateway.adapters.registry import credential_problems
from supplier_gateway.domain.placement import retry_delay


def test_backoff_grows_with_equal_jitter_and_is_capped() -> None:
    low = [retry_delay(n, base=5, cap=600, rand=0.0) for n in range(1, 10)]
    high = [retry_delay(n, base=5, cap=600, rand=1.0) for n in range(1, 10)]
    assert low[:4] == [2.5, 5.0, 10.0, 20.0]
    assert high[:4] == [5.0, 10.0, 20.0, 40.0]
    assert max(high) == 600 and max(low) == 300


def test_what_the_supplier_asked_for_wins() -> None:
    assert retry_delay(7, base=5, cap=600, retry_after=2.0) == 2.0
    assert retry_delay(1, base=5, cap=600, retry_after=-3.0) == 0.0


def test_cj_credentials() -> None:
    good = {"api_key": "CJ1@api@x", "logistic_name": "CJPacket Ordinary", "qps": 2}
    assert credential_problems("cjdropshipping", good) == []
    assert credential_problems("cjdropshipping", {**good, "open_id": 12312}) == []
    problems = credential_problems("cjdropshipping", {"qps": 0, "pay_type": 7, "open_id": "x"})
    assert len(problems) == 5


@pytest.mark.parametrize(
    ("creds", "count"),
    [
        ({"url": "https://s.example/api", "secret": "whsec_c2VjcmV0"}, 0),
        ({"url": "ftp://s.example", "secret": "whsec_c2VjcmV0"}, 1),
        ({"url": "https://s.example", "secret": "plain"}, 1),
        ({"url": "https://s.example", "secret": "whsec_c2VjcmV0", "rate_per_second": -1}, 1),
        ({}, 2),
    ],
)
def test_http_credentials(creds: dict[str, object], count: int) -> None:
    assert len(credential_problems("http", creds)) == count


def test_portal_suppliers_need_no_credentials() -> None:
    assert credential_problems("portal", {"anything": 1}) == []


def test_a_refused_cancellation_is_looked_up_until_it_can_no_longer_ship() -> None:
    import datetime as dt
    import types

    from supplier_gateway.adapters.base import NOT_FOUND, Lookup
    from supplier_gateway.placement.worker import _refused_lookup_over

    now = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    row = types.SimpleNamespace(created_at=now - dt.timedelta(days=10))
    at_supplier = Lookup(found=True, status="UNSHIPPED")
    assert _refused_lookup_over(row, at_supplier, now) is None  # type: ignore[arg-type]
    assert _refused_lookup_over(row, None, now) is None  # type: ignore[arg-type]  # lookup failed
    assert _refused_lookup_over(row, NOT_FOUND, now) == "the supplier no longer has the order"  # type: ignore[arg-type]
    row.created_at = now - dt.timedelta(days=121)
    assert _refused_lookup_over(row, at_supplier, now) == "no tracking within 120 days"  # type: ignore[arg-type]
