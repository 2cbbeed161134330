"""AfterShip Tracking API, version 2026-07 (https://www.aftership.com/docs/tracking/2026-07).

* Base ``{base_url}/tracking/2026-07``, the key in the ``as-api-key`` header
  (https://www.aftership.com/docs/tracking/2026-07/quickstart/api-quick-start);
  answers are ``{"meta": {code, type, message}, "data": ...}``.
* ``POST /trackings`` creates one tracking (``tracking_number``, optional ``slug``,
  ``destination_postal_code``); ``GET /trackings?tracking_numbers=a,b`` lists up to 50
  numbers a call (``limit`` up to 200, ``cursor`` pages); ``PUT /trackings/:id``
  changes the ``slug``; ``DELETE /trackings/:id`` stops and removes a tracking.
* Request errors (https://www.aftership.com/docs/tracking/quickstart/request-errors):
  ``meta.code`` 4003 "Tracking already exists." (a success for us), 4004 "Tracking does
  not exist.", 401 "Invalid API key." (:class:`AuthRejected`), 429 too many requests
  (:class:`RateLimited`), 5xx (:class:`ProviderUnavailable`).
* Rate limits per endpoint since version 2024-07
  (https://www.aftership.com/docs/tracking/2025-01/quickstart/rate-limit): see
  :data:`RATE_LIMITS`; a 429 carries ``X-RateLimit-Reset`` (Unix time of the reset).
* Webhook (https://www.aftership.com/docs/tracking/2025-01/webhook/webhook-specifications):
  ``{"event": "tracking_update", "event_id", "is_tracking_first_tag", "msg": <tracking>,
  "ts"}``; the ``aftership-hmac-sha256`` header is the base64 HMAC-SHA256 of the raw
  body keyed with the account's webhook secret
  (https://www.aftership.com/docs/tracking/webhook/webhook-signature).
* AfterShip documents no registration quota in the API: :meth:`quota_left` is None.

Not sent: the destination country, which AfterShip wants as ISO alpha-3
(``destination_country_region``); our registrations carry alpha-2.
"""

from __future__ import annotations

import base64
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
    describe_aftership,
    from_aftership_slug,
    map_aftership,
    to_aftership_slug,
)
from logistics.domain.status import ParcelStatus
from logistics.providers.base import (
    Account,
    AuthRejected,
    Checkpoint,
    FetchOutcome,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RegisterOutcome,
    Registration,
    Snapshot,
    TrackingProvider,
)

API_VERSION = "2026-07"
SIGNATURE_HEADER = "aftership-hmac-sha256"
MAX_TRACKING_NUMBERS = 50  # GET /trackings ?tracking_numbers=
PAGE_LIMIT = 200  # GET /trackings ?limit= (max)
# requests a second per endpoint (the published table, versions 2024-07 onwards)
RATE_LIMITS: dict[str, float] = {
    "POST /trackings": 20,
    "GET /trackings": 6,
    "GET /trackings/:id": 5,
    "PUT /trackings/:id": 5,
    "DELETE /trackings/:id": 5,
    "POST /trackings/:id/retrack": 5,
    "POST /trackings/:id/mark-as-completed": 5,
}

TRACKING_EXISTS = 4003
TRACKING_NOT_FOUND = 4004


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _moment(raw: Any) -> dt.datetime | None:
    """A checkpoint time, aware UTC. Carriers' local times without an offset (the docs
    allow ``YYYY-MM-DD`` and ``YYYY-MM-DDTHH:mm:ss``) are read as UTC."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _date(raw: Any) -> dt.date | None:
    if not isinstance(raw, str) or len(raw) < 10:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        return None


def _estimated_delivery(tracking: Mapping[str, Any]) -> dt.date | None:
    latest = tracking.get("latest_estimated_delivery") or {}
    courier = tracking.get("courier_estimated_delivery_date") or {}
    for raw in (
        latest.get("datetime_max"),
        latest.get("datetime"),
        courier.get("estimated_delivery_date_max"),
        courier.get("estimated_delivery_date"),
    ):
        if (day := _date(raw)) is not None:
            return day
    return None


def _location(checkpoint: Mapping[str, Any]) -> str | None:
    if checkpoint.get("location"):
        return str(checkpoint["location"])
    parts = [str(checkpoint[k]) for k in ("city", "state") if checkpoint.get(k)]
    return ", ".join(parts) or None


def snapshot(tracking: Mapping[str, Any]) -> Snapshot:
    """An AfterShip tracking object (API answer or webhook ``msg``) as a snapshot."""
    number = tracking.get("tracking_number")
    if not isinstance(number, str) or not number:
        raise ValueError("AfterShip tracking without a tracking_number")
    slug = tracking.get("slug")
    tag = str(tracking.get("tag") or "Pending")
    subtag = tracking.get("subtag") or None
    status = map_aftership(tag, subtag)
    points: list[Checkpoint] = []
    for cp in tracking.get("checkpoints") or []:
        if not isinstance(cp, Mapping):
            continue
        at = _moment(cp.get("checkpoint_time")) or _moment(cp.get("created_at"))
        if at is None:
            continue
        cp_tag = str(cp.get("tag") or tag)
        cp_subtag = cp.get("subtag") or None
        points.append(
            Checkpoint(
                occurred_at=at,
                status=map_aftership(cp_tag, cp_subtag),
                provider_status=describe_aftership(cp_tag, cp_subtag),
                description=str(cp.get("message") or cp.get("subtag_message") or ""),
                location=_location(cp),
            )
        )
    points.sort(key=lambda c: c.occurred_at)
    return Snapshot(
        number=number,
        carrier=from_aftership_slug(slug) if isinstance(slug, str) else None,
        status=status,
        provider_status=describe_aftership(tag, subtag),
        checkpoints=points,
        estimated_delivery=_estimated_delivery(tracking),
        stopped=tracking.get("active") is False or status == ParcelStatus.EXPIRED,
    )


class AfterShip(TrackingProvider):
    name: ClassVar[str] = "aftership"
    max_batch: ClassVar[int] = MAX_TRACKING_NUMBERS
    # one client (one bucket) serves every endpoint: the slowest one used
    requests_per_second: ClassVar[float] = min(RATE_LIMITS.values())

    # -- transport ---------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One request; ``(meta.code, data)``, or the typed error. 4xx answers other
        than 401 and 429 come back for the caller to judge."""
        url = f"{self.base_url}/tracking/{API_VERSION}{path}"
        try:
            response = await self.client.request(
                method,
                url,
                json=body,
                params=params,
                headers={"as-api-key": self.account.api_key},
                extensions={"idempotent": True},  # a repeated create is 4003: harmless
            )
        except (CircuitOpen, OutcomeUnknown, httpx.HTTPError) as exc:
            raise ProviderUnavailable(f"AfterShip {method} {path}: {exc}") from exc
        except OutboundError as exc:
            raise ProviderError(f"AfterShip {method} {path}: {exc}") from exc
        if response.status_code == 401:
            raise AuthRejected("AfterShip refused the as-api-key")
        if response.status_code == 429:
            raise RateLimited(self._retry_after(response.headers))
        if response.status_code >= 500:
            raise ProviderUnavailable(f"AfterShip {method} {path}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"AfterShip {method} {path}: not JSON") from exc
        meta = answer.get("meta") if isinstance(answer, dict) else None
        if not isinstance(meta, dict):
            raise ProviderUnavailable(f"AfterShip {method} {path}: no meta")
        code = meta.get("code")
        data = answer.get("data")
        if not isinstance(code, int):
            raise ProviderUnavailable(f"AfterShip {method} {path}: no meta.code")
        if code == 401:
            raise AuthRejected(str(meta.get("message") or "invalid API key"))
        return code, data if isinstance(data, dict) else {}

    @staticmethod
    def _retry_after(headers: httpx.Headers) -> float | None:
        now = time.time()
        retry = parse_retry_after(headers.get("retry-after"), now)
        if retry is not None:
            return float(retry)
        try:
            return max(0.0, float(headers.get("x-ratelimit-reset", "")) - now)
        except ValueError:
            return None

    @staticmethod
    def _failure(code: int, what: str) -> ProviderError:
        return ProviderError(f"AfterShip {what}: meta.code {code}")

    async def _list(self, numbers: Sequence[str], slug: str | None = None) -> list[dict[str, Any]]:
        """Every tracking of these numbers (one page after another)."""
        params: dict[str, str] = {"tracking_numbers": ",".join(numbers), "limit": str(PAGE_LIMIT)}
        if slug:
            params["slug"] = slug
        found: list[dict[str, Any]] = []
        while True:
            code, data = await self._call("GET", "/trackings", params=params)
            if code != 200:
                raise self._failure(code, "GET /trackings")
            found.extend(t for t in data.get("trackings") or [] if isinstance(t, dict))
            page = data.get("pagination") or {}
            cursor = page.get("next_cursor")
            if not page.get("has_next_page") or not cursor:
                return found
            params["cursor"] = str(cursor)

    async def _ids(self, number: str, carrier: str | None) -> list[str]:
        slug = to_aftership_slug(carrier) if carrier else None
        return [str(t["id"]) for t in await self._list([number], slug) if t.get("id")]

    # -- the interface -----------------------------------------------------------------

    async def register(self, items: Sequence[Registration]) -> RegisterOutcome:
        outcome = RegisterOutcome()
        for reg in items:  # AfterShip creates one tracking per call
            body: dict[str, Any] = {"tracking_number": reg.number}
            slug = to_aftership_slug(reg.carrier) if reg.carrier else None
            if slug:
                body["slug"] = slug
            if reg.destination_postal_code:
                body["destination_postal_code"] = reg.destination_postal_code
            code, _ = await self._call("POST", "/trackings", body=body)
            if code in (200, 201):
                outcome.accepted.append(reg.number)
            elif code == TRACKING_EXISTS:
                outcome.already.append(reg.number)
            else:
                outcome.rejected[reg.number] = f"meta.code {code}"
        return outcome

    async def fetch(self, numbers: Sequence[tuple[str, str | None]]) -> FetchOutcome:
        outcome = FetchOutcome()
        for chunk in _chunks(numbers, self.max_batch):
            by_number: dict[str, list[dict[str, Any]]] = {}
            for tracking in await self._list([n for n, _ in chunk]):
                by_number.setdefault(str(tracking.get("tracking_number")), []).append(tracking)
            for number, carrier in chunk:
                candidates = by_number.get(number)
                if not candidates:
                    outcome.unknown.append(number)
                    continue
                slug = to_aftership_slug(carrier) if carrier else None
                chosen = next((t for t in candidates if slug and t.get("slug") == slug), None)
                if chosen is None:  # the most recently updated one
                    chosen = max(candidates, key=lambda t: str(t.get("updated_at") or ""))
                outcome.snapshots.append(snapshot(chosen))
        return outcome

    async def change_carrier(self, number: str, old: str | None, new: str) -> None:
        slug = to_aftership_slug(new)
        if slug is None:
            raise ProviderError(f"AfterShip has no slug for {new!r}")
        ids = await self._ids(number, old) or await self._ids(number, None)
        if not ids:
            raise ProviderError(f"AfterShip has no tracking of {number}")
        code, _ = await self._call("PUT", f"/trackings/{ids[0]}", body={"slug": slug})
        if code not in (200, 201):
            raise self._failure(code, f"PUT /trackings/{ids[0]}")

    async def stop(self, numbers: Sequence[tuple[str, str | None]]) -> None:
        for number, carrier in numbers:
            for tracking_id in await self._ids(number, carrier):
                code, _ = await self._call("DELETE", f"/trackings/{tracking_id}")
                if code not in (200, TRACKING_NOT_FOUND):
                    raise self._failure(code, f"DELETE /trackings/{tracking_id}")

    async def quota_left(self) -> int | None:
        return None

    @classmethod
    def verify_push(cls, account: Account, headers: Mapping[str, str], body: bytes) -> bool:
        secret = account.webhook_secret
        given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        if not secret or not given:
            return False
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode("ascii")
        return hmac.compare_digest(expected.encode(), given.strip().encode())

    @classmethod
    def parse_push(cls, body: bytes) -> list[Snapshot]:
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise ValueError("AfterShip push is not JSON") from exc
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            raise ValueError("AfterShip push without an event")
        msg = message.get("msg")
        if not isinstance(msg, dict):
            raise ValueError("AfterShip push without a msg")
        if "tracking_number" not in msg:
            return []  # an event about something other than one tracking
        return [snapshot(msg)]
