"""Business days per country: weekends, public holidays and official make-up working
days (the ``holidays`` package), for ship-by dates and supplier deadlines."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import holidays

# Where the supplier works decides what "today" is when the order is confirmed.
_COUNTRY_TZ = {
    "CN": "Asia/Shanghai",
    "HK": "Asia/Hong_Kong",
    "TW": "Asia/Taipei",
    "US": "America/New_York",
    "GB": "Europe/London",
    "DE": "Europe/Berlin",
    "TR": "Europe/Istanbul",
    "IN": "Asia/Kolkata",
    "VN": "Asia/Ho_Chi_Minh",
}


@functools.lru_cache(maxsize=64)
def _calendar(country: str) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:
        return None


def _is_working_day(day: dt.date, country: str) -> bool:
    calendar = _calendar(country)
    if calendar is None:
        return day.weekday() < 5
    # Knows the country's weekend, its public holidays and its weekend working days
    # (China's 调休: e.g. Sat 12 Oct 2024 was a working day).
    return bool(calendar.is_working_day(day))


def local_date(moment: dt.datetime, country: str, tz: str | None) -> dt.date:
    name = tz or _COUNTRY_TZ.get(country)
    if name is None:
        return moment.date()
    return moment.astimezone(zoneinfo.ZoneInfo(name)).date()


def ship_by(
    confirmed_at: dt.datetime,
    handling_days: int,
    country: str = "CN",
    *,
    tz: str | None = None,
) -> dt.date:
    """Last day the supplier may ship: ``handling_days`` working days after the confirmation
    day, in the supplier's ``country`` (weekends, public holidays and official make-up
    working days from the ``holidays`` package; Mon-Fri if it has no calendar for the
    country). An aware ``confirmed_at`` is read in the country's time zone (``tz`` or a
    default for a few countries, else as given). ``handling_days=0``: the confirmation
    day itself if it is a working day, else the next one."""
    if handling_days < 0:
        raise ValueError("handling_days must be >= 0")
    country = country.upper()
    day = (
        local_date(confirmed_at, country, tz)
        if confirmed_at.tzinfo is not None
        else confirmed_at.date()
    )
    if handling_days == 0:
        while not _is_working_day(day, country):
            day += dt.timedelta(days=1)
        return day
    counted = 0
    while counted < handling_days:
        day += dt.timedelta(days=1)
        if _is_working_day(day, country):
            counted += 1
    return day
