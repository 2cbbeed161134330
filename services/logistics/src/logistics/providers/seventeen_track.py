"""17TRACK Tracking API v2.2 (https://api.17track.net/en/doc?version=v2.2).

* Every call is ``POST {base_url}/track/v2.2/<endpoint>`` with the account key in the
  ``17token`` header and a JSON array body of at most 40 numbers (error -18010014
  "Tracking numbers exceed the 40 limit"); the answer is ``{code, data: {accepted,
  rejected: [{number, error: {code, message}}]}}`` (``code`` 0: the call itself worked).
* Error codes, https://help.17track.net/hc/en-us/articles/37570440168473-Error-Codes-and-Troubleshooting:
  -18019901 already registered (success for us, nothing charged), -18019902 not
  registered (``unknown``), -18019907 daily limit and -18019908 quota used up
  (:class:`QuotaExhausted`), -18010001/-18010002/-18010004/-18010005 IP not allowed,
  bad key, account disabled, unauthorised (:class:`AuthRejected`), -18010003 internal
  error (:class:`ProviderUnavailable`); HTTP 401 (key refused), 429 (too frequent,
  :class:`RateLimited`), 500 / 503 (:class:`ProviderUnavailable`).
* Push (webhook v2.2): ``{"event": "TRACKING_UPDATED" | "TRACKING_STOPPED", "data":
  {number, carrier, param, tag, track_info}}``; the ``sign`` header is the hex SHA-256
  of ``<raw body>/<17token key>`` (17TRACK signs with the API key; there is no
  separate webhook secret). The v2.2 doc page itself could not be read when this was
  written: the scheme is the one independent integrations agree on.
* Rate: 3 requests a second per key (17TRACK's published figure as quoted by third
  parties; not on the help-centre pages).

A repeated registration costs nothing and answers -18019901, so every call is sent
as idempotent: the HTTP client may retry it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from dropship_common.http import CircuitOpen, OutboundError, OutcomeUnknown
from dropship_common.http.retries import parse_retry_after
from logistics.domain.provider_statuses import (
    describe_17track,
    from_17track_carrier,
    map_17track,
    seventeen_track_main,
    to_17track_carrier,
)
from logistics.domain.status import ParcelStatus
from logistics.providers.base import (
    Account,
    AuthRejected,
    Checkpoint,
    FetchOutcome,
    ProviderError,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    RegisterOutcome,
    Registration,
    Snapshot,
    TrackingProvider,
)

API_PATH = "/track/v2.2"
MAX_BATCH = 40

ALREADY_REGISTERED = -18019901
NOT_REGISTERED = -18019902
QUOTA_CODES = frozenset({-18019907, -18019908})  # daily limit, quota used up
AUTH_CODES = frozenset({-18010001, -18010002, -18010004, -18010005})
INTERNAL_ERROR = -18010003
NO_INFO_YET = -18019909  # "No tracking info at the moment."
STOP_NOT_TRACKING = -18019906  # "Only numbers being tracked can be stopped": done already


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _time(event: Mapping[str, Any]) -> dt.datetime | None:
    """An event's moment, aware UTC (``time_utc``, else ``time_iso``)."""
    for key in ("time_utc", "time_iso"):
        raw = event.get(key)
        if isinstance(raw, str) and raw:
            try:
                at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                continue
            if at.tzinfo is not None:
                return at.astimezone(dt.UTC)
    return None


def _date(raw: Any) -> dt.date | None:
    if not isinstance(raw, str) or len(raw) < 10:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        return None


def _checkpoints(track_info: Mapping[str, Any]) -> list[Checkpoint]:
    """Every provider's events (first and last mile), oldest first, duplicates once."""
    seen: set[tuple[dt.datetime, str]] = set()
    points: list[Checkpoint] = []
    providers = (track_info.get("tracking") or {}).get("providers") or []
    for provider in providers:
        for event in (provider or {}).get("events") or []:
            at = _time(event)
            description = str(event.get("description") or "")
            if at is None or (at, description) in seen:
                continue
            seen.add((at, description))
            sub = event.get("sub_status") or None
            main = seventeen_track_main(sub) if sub else "InTransit"
            country = ((event.get("address") or {}).get("country")) or None
            points.append(
                Checkpoint(
                    occurred_at=at,
                    status=map_17track(main, sub),
                    provider_status=describe_17track(main, sub),
                    description=description,
                    location=event.get("location") or None,
                    country=country if isinstance(country, str) and len(country) == 2 else None,
                )
            )
    points.sort(key=lambda c: c.occurred_at)
    return points


def snapshot(item: Mapping[str, Any], *, stopped: bool = False) -> Snapshot:
    """A gettrackinfo ``accepted`` item, or a push's ``data``, as a :class:`Snapshot`."""
    number = item.get("number")
    if not isinstance(number, str) or not number:
        raise ValueError("17TRACK item without a number")
    carrier_key = item.get("carrier")
    carrier = from_17track_carrier(carrier_key) if isinstance(carrier_key, int) else None
    track_info = item.get("track_info")
    if not isinstance(track_info, Mapping):
        # a stop notice may carry no tracking at all: the provider went silent
        return Snapshot(number, carrier, ParcelStatus.EXPIRED, "Stopped", [], stopped=stopped)
    latest = track_info.get("latest_status") or {}
    main = str(latest.get("status") or "NotFound")
    sub = latest.get("sub_status") or None
    status = map_17track(main, sub)
    edd = (track_info.get("time_metrics") or {}).get("estimated_delivery_date") or {}
    return Snapshot(
        number=number,
        carrier=carrier,
        status=status,
        provider_status=describe_17track(main, sub),
        checkpoints=_checkpoints(track_info),
        estimated_delivery=_date(edd.get("to")) or _date(edd.get("from")),
        stopped=stopped or status == ParcelStatus.EXPIRED,
    )


class SeventeenTrack(TrackingProvider):
    name: ClassVar[str] = "17track"
    max_batch: ClassVar[int] = MAX_BATCH
    requests_per_second: ClassVar[float] = 3.0

    # -- transport ---------------------------------------------------------------------

    async def _call(self, endpoint: str, body: Any) -> dict[str, Any]:
        """POST one endpoint; the decoded answer, or the typed error."""
        try:
            response = await self.client.post(
                f"{self.base_url}{API_PATH}/{endpoint}",
                json=body,
                headers={"17token": self.account.api_key},
                extensions={"idempotent": True},
            )
        except (CircuitOpen, OutcomeUnknown, httpx.HTTPError) as exc:
            raise ProviderUnavailable(f"17TRACK {endpoint}: {exc}") from exc
        except OutboundError as exc:  # refused by our own rules: nothing was sent
            raise ProviderError(f"17TRACK {endpoint}: {exc}") from exc
        if response.status_code == 401:
            raise AuthRejected("17TRACK refused the 17token key")
        if response.status_code == 429:
            retry = parse_retry_after(response.headers.get("retry-after"), time.time())
            raise RateLimited(retry)
        if response.status_code >= 500:
            raise ProviderUnavailable(f"17TRACK {endpoint}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise ProviderError(f"17TRACK {endpoint}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"17TRACK {endpoint}: not JSON") from exc
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"17TRACK {endpoint}: unexpected answer")
        code = answer.get("code")
        if code != 0:
            self._raise_for(endpoint, code, answer)
        return answer

    @staticmethod
    def _raise_for(endpoint: str, code: Any, answer: Mapping[str, Any]) -> None:
        errors = (answer.get("data") or {}).get("errors") or []
        message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        text = f"17TRACK {endpoint}: code {code} {message}".strip()
        if code in AUTH_CODES:
            raise AuthRejected(text)
        if code in QUOTA_CODES:
            raise QuotaExhausted(text)
        if code == INTERNAL_ERROR:
            raise ProviderUnavailable(text)
        raise ProviderError(text)

    @staticmethod
    def _parts(answer: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        data = answer.get("data") or {}
        accepted = [a for a in data.get("accepted") or [] if isinstance(a, dict)]
        rejected = [r for r in data.get("rejected") or [] if isinstance(r, dict)]
        return accepted, rejected

    @staticmethod
    def _error(rejected: Mapping[str, Any]) -> tuple[Any, str]:
        error = rejected.get("error") or {}
        return error.get("code"), str(error.get("message") or "")

    @staticmethod
    def _item(number: str, carrier: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"number": number}
        key = to_17track_carrier(carrier) if carrier else None
        if key is not None:
            item["carrier"] = key
        return item

    # -- the interface -----------------------------------------------------------------

    async def register(self, items: Sequence[Registration]) -> RegisterOutcome:
        outcome = RegisterOutcome()
        for chunk in _chunks(items, self.max_batch):
            body = []
            for reg in chunk:
                item = self._item(reg.number, reg.carrier)
                if "carrier" not in item:
                    item["auto_detection"] = True
                body.append(item)
            accepted, rejected = self._parts(await self._call("register", body))
            outcome.accepted.extend(str(a.get("number")) for a in accepted)
            for reject in rejected:
                number = str(reject.get("number"))
                code, message = self._error(reject)
                if code == ALREADY_REGISTERED:
                    outcome.already.append(number)
                elif code in QUOTA_CODES:
                    # what was accepted stays registered; registering it again later
                    # answers "already registered" and costs nothing
                    raise QuotaExhausted(f"17TRACK register {number}: {code} {message}")
                elif code in AUTH_CODES:
                    raise AuthRejected(f"17TRACK register {number}: {code} {message}")
                else:
                    outcome.rejected[number] = f"{code} {message}".strip()
        return outcome

    async def fetch(self, numbers: Sequence[tuple[str, str | None]]) -> FetchOutcome:
        outcome = FetchOutcome()
        for chunk in _chunks(numbers, self.max_batch):
            body = [self._item(number, carrier) for number, carrier in chunk]
            accepted, rejected = self._parts(await self._call("gettrackinfo", body))
            outcome.snapshots.extend(snapshot(item) for item in accepted)
            asked = dict(chunk)
            for reject in rejected:
                code, message = self._error(reject)
                number = str(reject.get("number"))
                if code == NOT_REGISTERED:
                    outcome.unknown.append(number)
                elif code == NO_INFO_YET:  # registered, nothing from the carrier yet
                    outcome.snapshots.append(
                        Snapshot(number, asked.get(number), ParcelStatus.PENDING, "NotFound", [])
                    )
                elif code in AUTH_CODES:
                    raise AuthRejected(f"17TRACK gettrackinfo: {code} {message}")
                else:
                    raise ProviderError(f"17TRACK gettrackinfo: {code} {message}")
        return outcome

    async def change_carrier(self, number: str, old: str | None, new: str) -> None:
        new_key = to_17track_carrier(new)
        if new_key is None:
            raise ProviderError(f"17TRACK has no carrier key for {new!r}")
        item: dict[str, Any] = {"number": number, "carrier_new": new_key}
        old_key = to_17track_carrier(old) if old else None
        if old_key is not None:
            item["carrier_old"] = old_key
        _, rejected = self._parts(await self._call("changecarrier", [item]))
        for reject in rejected:
            code, message = self._error(reject)
            raise ProviderError(f"17TRACK changecarrier {number}: {code} {message}")

    async def stop(self, numbers: Sequence[tuple[str, str | None]]) -> None:
        for chunk in _chunks(numbers, self.max_batch):
            body = [self._item(number, carrier) for number, carrier in chunk]
            _, rejected = self._parts(await self._call("stoptrack", body))
            for reject in rejected:
                code, message = self._error(reject)
                if code not in (STOP_NOT_TRACKING, NOT_REGISTERED):
                    raise ProviderError(f"17TRACK stoptrack: {code} {message}")

    async def quota_left(self) -> int | None:
        data = (await self._call("getquota", {})).get("data") or {}
        remain = data.get("quota_remain")
        if not isinstance(remain, int):
            raise ProviderUnavailable("17TRACK getquota: no quota_remain")
        return remain

    @classmethod
    def verify_push(cls, account: Account, headers: Mapping[str, str], body: bytes) -> bool:
        sign = next((v for k, v in headers.items() if k.lower() == "sign"), None)
        if not sign:
            return False
        expected = hashlib.sha256(body + b"/" + account.api_key.encode()).hexdigest()
        return hmac.compare_digest(expected, sign.strip().lower())

    @classmethod
    def parse_push(cls, body: bytes) -> list[Snapshot]:
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise ValueError("17TRACK push is not JSON") from exc
        if not isinstance(message, dict):
            raise ValueError("17TRACK push is not an object")
        event = message.get("event")
        data = message.get("data")
        if event not in ("TRACKING_UPDATED", "TRACKING_STOPPED") or not isinstance(data, dict):
            raise ValueError(f"17TRACK push: unexpected event {event!r}")
        return [snapshot(data, stopped=event == "TRACKING_STOPPED")]
