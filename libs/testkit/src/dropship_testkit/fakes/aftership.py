"""A fake AfterShip Tracking API 2026-07, as its documentation describes it.

The documented rules it enforces (https://www.aftership.com/docs/tracking/2026-07):

* Endpoints under ``/tracking/2026-07``: ``POST /trackings``, ``GET /trackings``,
  ``GET | PUT | DELETE /trackings/:id``, ``POST /trackings/:id/retrack``,
  ``POST /trackings/:id/mark-as-completed``; the key in the ``as-api-key`` header
  (quickstart). A missing or wrong key is HTTP 401, ``meta.code`` 401 "Invalid API
  key." (https://www.aftership.com/docs/tracking/quickstart/request-errors).
* Answers are ``{"meta": {"code", "type", "message"}, "data": ...}``. Request errors
  (same page): 4001 "Invalid JSON data.", 4003 "Tracking already exists." (a second
  create of the same ``tracking_number`` and ``slug``, nothing created), 4004
  "Tracking does not exist." (HTTP 404), 4007 "tracking_number is required.", 4008
  "The value of [field_name] is invalid.", 4010 "The value of slug is invalid.", 4012
  (the carrier cannot be detected), 4016 (retrack only once).
* ``GET /trackings``: ``tracking_numbers`` comma separated, "Supports up to 50
  tracking numbers"; ``limit`` default 100, max 200; ``cursor`` pages; ``slug``
  comma separated; answers ``{"pagination": {"total", "next_cursor",
  "has_next_page"}, "trackings": [...]}``.
* Rate limits per endpoint (https://www.aftership.com/docs/tracking/2025-01/quickstart/rate-limit,
  the per-endpoint table in force since 2024-07): ``rate_limits`` (requests a second
  per endpoint and key, the published figures by default); over it is HTTP 429,
  ``meta.code`` 429 "TooManyRequests", with ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix time).
* Webhook (https://www.aftership.com/docs/tracking/2025-01/webhook/webhook-specifications):
  ``{"event": "tracking_update", "event_id", "is_tracking_first_tag", "msg", "ts"}``,
  signed in the ``aftership-hmac-sha256`` header: the base64 HMAC-SHA256 of the raw
  body keyed with the webhook secret
  (https://www.aftership.com/docs/tracking/webhook/webhook-signature).

Undocumented, chosen here: a created tracking answers HTTP 201, ``meta.code`` 201; a
4003 answers ``data: {}``; without a slug the number is "detected" as
``default_slug`` (None: 4012).

Faults for tests: ``fail_next(n, status=500)``, ``down = True``. Counters:
``count("POST /trackings")`` (method and the route as the rate table names it),
``registrations(number)``. ``scan(...)`` adds a checkpoint.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

API = "/tracking/2026-07"
MAX_TRACKING_NUMBERS = 50
MAX_LIMIT = 200
RATE_LIMITS: dict[str, int] = {
    "POST /trackings": 20,
    "GET /trackings": 6,
    "GET /trackings/:id": 5,
    "PUT /trackings/:id": 5,
    "DELETE /trackings/:id": 5,
    "POST /trackings/:id/retrack": 5,
    "POST /trackings/:id/mark-as-completed": 5,
}
SLUGS = frozenset(
    {
        "china-post",
        "china-ems",
        "yanwen",
        "yunexpress",
        "4px",
        "cainiao",
        "sf-express",
        "ups",
        "usps",
        "fedex",
        "dhl",
        "royal-mail",
    }
)
MESSAGES = {
    401: ("Unauthorized", "Invalid API key."),
    404: ("NotFound", "The URI requested is invalid or the resource requested does not exist."),
    429: ("TooManyRequests", "You have exceeded the API call rate limit."),
    4001: ("BadRequest", "Invalid JSON data."),
    4003: ("BadRequest", "Tracking already exists."),
    4004: ("BadRequest", "Tracking does not exist."),
    4007: ("BadRequest", "tracking_number is required."),
    4008: ("BadRequest", "The value of {0} is invalid."),
    4010: ("BadRequest", "The value of slug is invalid."),
    4012: (
        "BadRequest",
        "Unable to import shipment as we don't recognize the carrier from this tracking number.",
    ),
    4013: ("BadRequest", "Retrack is not allowed. You can only retrack an inactive tracking."),
    4016: ("BadRequest", "Retrack is not allowed. You can only retrack each shipment once."),
}


def signature(body: bytes, secret: str) -> str:
    """AfterShip's webhook signature: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="seconds")


@dataclass
class FakeTracking:
    id: str
    tracking_number: str
    slug: str
    created_at: dt.datetime
    updated_at: dt.datetime
    destination_postal_code: str | None = None
    active: bool = True
    retracked: bool = False
    tag: str = "Pending"
    subtag: str = "Pending_001"
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    expected_delivery: str | None = None  # ISO date

    def json(self) -> dict[str, Any]:
        edd = self.expected_delivery
        return {
            "id": self.id,
            "tracking_number": self.tracking_number,
            "slug": self.slug,
            "active": self.active,
            "tag": self.tag,
            "subtag": self.subtag,
            "subtag_message": self.subtag,
            "title": self.tracking_number,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "destination_postal_code": self.destination_postal_code,
            "checkpoints": list(self.checkpoints),
            "latest_estimated_delivery": (
                {
                    "type": "specific",
                    "source": "Carrier EDD",
                    "datetime": edd,
                    "datetime_min": None,
                    "datetime_max": None,
                    "revise_reason": None,
                }
                if edd
                else None
            ),
            "courier_estimated_delivery_date": None,
        }


@dataclass
class FakeAfterShip:
    api_key: str = "asat_test_key"
    webhook_secret: str = "whsec-test"
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(RATE_LIMITS))
    slugs: frozenset[str] = SLUGS
    default_slug: str | None = "china-post"
    down: bool = False
    mono: Callable[[], float] = time.monotonic
    wall: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    trackings: dict[str, FakeTracking] = field(default_factory=dict)  # by id
    calls: list[tuple[float, str]] = field(default_factory=list)
    _created: dict[str, int] = field(default_factory=dict)
    _faults: list[int] = field(default_factory=list)
    _recent: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    # -- helpers for tests -------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        self._faults.extend([status] * n)

    def count(self, endpoint: str) -> int:
        return sum(1 for _, e in self.calls if e == endpoint)

    def registrations(self, number: str) -> int:
        """How many trackings of ``number`` were created."""
        return self._created.get(number, 0)

    def find(self, number: str, slug: str | None = None) -> FakeTracking:
        return next(
            t
            for t in self.trackings.values()
            if t.tracking_number == number and (slug is None or t.slug == slug)
        )

    def scan(
        self,
        number: str,
        tag: str,
        subtag: str | None = None,
        message: str = "",
        *,
        at: dt.datetime | None = None,
        location: str | None = None,
    ) -> FakeTracking:
        """The carrier scans a tracked parcel: a new checkpoint, the tag follows."""
        tracking = self.find(number)
        when = at or self.wall()
        sub = subtag or f"{tag}_001"
        tracking.checkpoints.append(
            {
                "slug": tracking.slug,
                "checkpoint_time": _iso(when),
                "created_at": _iso(self.wall()),
                "location": location,
                "city": None,
                "state": None,
                "zip": None,
                "country_region": None,
                "country_region_name": None,
                "message": message or tag,
                "tag": tag,
                "subtag": sub,
                "subtag_message": sub,
                "raw_tag": None,
                "source": "carrier",
            }
        )
        tracking.checkpoints.sort(key=lambda c: str(c["checkpoint_time"]))
        tracking.tag, tracking.subtag = tag, sub
        tracking.active = tag not in ("Delivered", "Expired")
        tracking.updated_at = self.wall()
        return tracking

    def push_body(
        self, number: str, event: str = "tracking_update", *, first_tag: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook message as AfterShip sends it, and its headers (signature)."""
        body = json.dumps(
            {
                "event": event,
                "event_id": str(uuid.uuid4()),
                "is_tracking_first_tag": first_tag,
                "msg": self.find(number).json(),
                "ts": int(self.wall().timestamp()),
            }
        ).encode()
        return body, {
            "content-type": "application/json",
            "aftership-hmac-sha256": signature(body, self.webhook_secret),
        }

    # -- the protocol ------------------------------------------------------------------

    @staticmethod
    def _answer(code: int, data: Any = None, status: int = 200, arg: str = "") -> JSONResponse:
        kind, message = MESSAGES.get(code, ("OK", "Request response is successful."))
        return JSONResponse(
            {
                "meta": {"code": code, "type": kind, "message": message.format(arg)},
                "data": {} if data is None else data,
            },
            status_code=status,
        )

    def _error(self, code: int, arg: str = "") -> JSONResponse:
        return self._answer(code, status=404 if code in (404, 4004) else 400, arg=arg)

    def _limited(self, key: str, endpoint: str) -> Response | None:
        limit = self.rate_limits.get(endpoint)
        if limit is None:
            return None
        now = self.mono()
        recent = self._recent.setdefault((key, endpoint), deque())
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= limit:
            reset = int(time.time()) + 1
            response = self._answer(429, status=429)
            response.headers.update(
                {
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                }
            )
            return response
        recent.append(now)
        return None

    async def _json(self, request: Request) -> tuple[Any, bool]:
        try:
            return json.loads(await request.body() or b"{}"), True
        except ValueError:
            return None, False

    def _create(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return self._error(4001)
        number = body.get("tracking_number")
        if not isinstance(number, str) or not number.strip():
            return self._error(4007)
        slug = body.get("slug") or self.default_slug
        if slug is None:
            return self._error(4012)
        if slug not in self.slugs:
            return self._error(4010)
        if any(t.tracking_number == number and t.slug == slug for t in self.trackings.values()):
            return self._error(4003)
        now = self.wall()
        tracking = FakeTracking(
            uuid.uuid4().hex, number, slug, now, now, body.get("destination_postal_code")
        )
        self.trackings[tracking.id] = tracking
        self._created[number] = self._created.get(number, 0) + 1
        return self._answer(201, tracking.json(), status=201)

    def _list(self, request: Request) -> Response:
        query = request.query_params
        numbers = [n for n in query.get("tracking_numbers", "").split(",") if n]
        if len(numbers) > MAX_TRACKING_NUMBERS:
            return self._error(4008, "tracking_numbers")
        try:
            limit = int(query.get("limit", "100"))
            start = int(query.get("cursor", "0"))
        except ValueError:
            return self._error(4008, "limit")
        if not 1 <= limit <= MAX_LIMIT or start < 0:
            return self._error(4008, "limit")
        slugs = [s for s in query.get("slug", "").split(",") if s]
        found = [
            t
            for t in self.trackings.values()
            if (not numbers or t.tracking_number in numbers) and (not slugs or t.slug in slugs)
        ]
        page = found[start : start + limit]
        more = start + limit < len(found)
        return self._answer(
            200,
            {
                "pagination": {
                    "total": len(found),
                    "next_cursor": str(start + limit) if more else None,
                    "has_next_page": more,
                },
                "trackings": [t.json() for t in page],
            },
        )

    def _update(self, tracking: FakeTracking, body: Any) -> Response:
        if not isinstance(body, dict):
            return self._error(4001)
        slug = body.get("slug")
        if slug is not None:
            if slug not in self.slugs:
                return self._error(4010)
            if any(
                t.tracking_number == tracking.tracking_number
                and t.slug == slug
                and t.id != tracking.id
                for t in self.trackings.values()
            ):
                return self._error(4003)
            tracking.slug = slug
        tracking.updated_at = self.wall()
        return self._answer(200, tracking.json())

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route(f"{API}/{{path:path}}", methods=["GET", "POST", "PUT", "DELETE"])
        async def route(path: str, request: Request) -> Response:
            parts = path.strip("/").split("/")
            if parts[0] != "trackings" or len(parts) > 3:
                return self._error(404)
            shape = "/trackings" + ("/:id" if len(parts) > 1 else "")
            shape += f"/{parts[2]}" if len(parts) == 3 else ""
            endpoint = f"{request.method} {shape}"
            if endpoint not in RATE_LIMITS:
                return self._error(404)
            self.calls.append((self.mono(), endpoint))
            if self.down:
                return Response("unavailable", status_code=500)
            if self._faults:
                return Response("fault", status_code=self._faults.pop(0))
            key = request.headers.get("as-api-key", "")
            if key != self.api_key:
                return self._answer(401, status=401)
            if (limited := self._limited(key, endpoint)) is not None:
                return limited
            body, ok = await self._json(request)
            if not ok:
                return self._error(4001)
            if endpoint == "POST /trackings":
                return self._create(body)
            if endpoint == "GET /trackings":
                return self._list(request)
            tracking = self.trackings.get(parts[1])
            if tracking is None:
                return self._error(4004)
            if endpoint == "GET /trackings/:id":
                return self._answer(200, tracking.json())
            if endpoint == "PUT /trackings/:id":
                return self._update(tracking, body)
            if endpoint == "DELETE /trackings/:id":
                del self.trackings[tracking.id]
                return self._answer(200, tracking.json())
            if endpoint == "POST /trackings/:id/retrack":
                if tracking.active:
                    return self._error(4013)
                if tracking.retracked:
                    return self._error(4016)
                tracking.active, tracking.retracked = True, True
                return self._answer(200, tracking.json())
            tracking.active = False  # mark-as-completed
            return self._answer(200, tracking.json())

        return app
