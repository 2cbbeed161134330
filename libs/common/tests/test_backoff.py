import datetime as dt

import pytest

from dropship_common.backoff import backoff_delay, backoff_interval


def test_grows_by_the_factor_up_to_the_cap() -> None:
    delays = [backoff_delay(n, base=0.5, cap=10.0) for n in range(1, 8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert [backoff_delay(n, base=1.0, cap=3 * 3600, factor=4.0) for n in (1, 2, 3)] == [1, 4, 16]
    assert backoff_delay(0, base=5.0, cap=60.0) == 5.0  # before a first failure: the base


def test_a_huge_attempt_number_is_the_cap() -> None:
    assert backoff_delay(10_000, base=1.0, cap=3600.0) == 3600.0


def test_jitter_takes_away_at_most_its_share() -> None:
    low = backoff_delay(3, base=1.0, cap=60.0, jitter=0.5, rand=lambda: 1.0)
    high = backoff_delay(3, base=1.0, cap=60.0, jitter=0.5, rand=lambda: 0.0)
    assert (low, high) == (2.0, 4.0)
    for _ in range(200):
        assert 2.0 <= backoff_delay(3, base=1.0, cap=60.0, jitter=0.5) <= 4.0


def test_jitter_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        backoff_delay(1, base=1.0, cap=2.0, jitter=1.5)


def test_as_an_interval() -> None:
    assert backoff_interval(2, base=30.0, cap=1800.0) == dt.timedelta(seconds=60)
