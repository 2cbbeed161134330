"""A fake 17TRACK Tracking API v2.2, as its documentation describes it.

The documented rules it enforces (API docs https://api.17track.net/en/doc?version=v2.2;
error codes https://help.17track.net/hc/en-us/articles/37570440168473-Error-Codes-and-Troubleshooting):

* ``POST /track/v2.2/{register, changecarrier, stoptrack, retrack, gettrackinfo,
  getquota}``, the key in the ``17token`` header: a missing or wrong key is HTTP 401
  ("Unauthorized request—possible reasons include an incorrect security key") with
  code -18010002 "Invalid security key".
* The body is a JSON array of objects with a ``number`` (``getquota``: no numbers);
  anything else is -18010013 "Invalid submitted data". More than 40 numbers in one
  call is -18010014 "Tracking numbers exceed the 40 limit" (nothing done).
* The answer is ``{"code": 0, "data": {"accepted": [...], "rejected": [{"number",
  "error": {"code", "message"}}]}}``.
* The request rate per key: more than ``rate_per_second`` calls within one second
  is HTTP 429 ("Request frequency exceeds the allowed limit"). 17TRACK's plans allow
  3 requests a second (the default here; the figure is not in the help-centre pages).
* ``register``: each accepted number costs one quota unit; a number registered
  before is rejected with -18019901 "Tracking number {0} is already registered" and
  costs nothing; with no quota left, -18019908 "Your quotas have ran out" (the
  wording of the published table). A carrier key that is not in the carrier list
  (``carriers``) is -18019910 "Carrier Code {0} is incorrect"; without a carrier the
  number is detected as ``default_carrier``.
* ``gettrackinfo`` / ``stoptrack`` / ``changecarrier`` / ``retrack`` of a number not
  registered: -18019902 "Tracking number {0} is not registered yet. Register first.".
  ``stoptrack`` of a stopped number: -18019906; ``retrack`` of a number still
  tracked: -18019904, a second ``retrack``: -18019905; ``changecarrier`` to the same
  carrier: -18019803.
* ``gettrackinfo`` answers ``track_info`` with ``latest_status {status, sub_status}``,
  ``latest_event``, ``time_metrics.estimated_delivery_date {from, to}`` and
  ``tracking.providers[].events[]`` (``time_iso``, ``time_utc``, ``description``,
  ``location``, ``sub_status``, ``address.country``), newest event first.
* ``getquota``: ``{quota_total, quota_used, quota_remain, today_used}``.
* Webhook v2.2: ``{"event": "TRACKING_UPDATED" | "TRACKING_STOPPED", "data": {...}}``,
  the ``sign`` header the hex SHA-256 of ``<raw body>/<key>``
  (:meth:`FakeSeventeenTrack.push_body`). Undocumented, chosen here: a
  ``TRACKING_STOPPED`` message carries ``number, carrier, param, tag`` only.

Faults for tests: ``no_info`` (numbers ``gettrackinfo`` rejects with -18019909 "No
tracking info at the moment", a documented code whose use there is our guess),
``fail_next(n, status=500)`` (the next n calls answer that HTTP
status, nothing done), ``down = True`` (every call HTTP 500). Counters:
``count(endpoint)``, ``registrations(number)``. ``scan(...)`` moves a parcel on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

API = "/track/v2.2"
MAX_NUMBERS = 40
ENDPOINTS = ("register", "changecarrier", "stoptrack", "retrack", "gettrackinfo", "getquota")
MESSAGES = {
    -18010002: "Invalid security key.",
    -18010013: "Invalid submitted data.",
    -18010014: "Tracking numbers exceed the 40 limit.",
    -18019803: "The Carrier Code to be changed can not be the same of the current one.",
    -18019901: "Tracking number {0} is already registered.",
    -18019902: "Tracking number {0} is not registered yet. Register first.",
    -18019904: "Only stopped numbers can be re-tracked.",
    -18019905: "Each tracking number can only be re-tracked once.",
    -18019906: "Only numbers being tracked can be stopped.",
    -18019908: "Your quotas have ran out.",
    -18019909: "No tracking info at the moment.",
    -18019910: "Carrier Code {0} is incorrect.",
}
# a few keys of 17TRACK's carrier list (apicarrier.all.json)
CARRIERS = {
    3011: "China Post",
    3013: "China EMS",
    190008: "YunExpress",
    190012: "YANWEN",
    190094: "4PX",
    190271: "Cainiao",
    100001: "DHL Express",
    100002: "UPS",
    100003: "FedEx",
    21051: "USPS",
    11031: "Royal Mail",
    6051: "La Poste (Colissimo)",
}


def sign(body: bytes, key: str) -> str:
    """17TRACK's push signature: hex SHA-256 of ``<raw body>/<key>``."""
    return hashlib.sha256(body + b"/" + key.encode()).hexdigest()


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="seconds")


@dataclass
class FakeEvent:
    at: dt.datetime
    status: str
    sub_status: str
    description: str
    location: str | None = None
    country: str | None = None

    def json(self) -> dict[str, Any]:
        utc = self.at.astimezone(dt.UTC)
        return {
            "time_iso": _iso(self.at),
            "time_utc": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "time_raw": {
                "date": self.at.strftime("%Y-%m-%d"),
                "time": self.at.strftime("%H:%M:%S"),
                "timezone": None,
            },
            "description": self.description,
            "description_translation": None,
            "location": self.location,
            "stage": None,
            "sub_status": self.sub_status,
            "address": {
                "country": self.country,
                "state": None,
                "city": None,
                "street": None,
                "postal_code": None,
                "coordinates": None,
            },
        }


@dataclass
class FakeParcel:
    number: str
    carrier: int
    tracking: bool = True
    retracked: bool = False
    events: list[FakeEvent] = field(default_factory=list)  # oldest first
    estimated_delivery: tuple[str, str] | None = None

    def latest(self) -> tuple[str, str]:
        if not self.events:
            return "NotFound", "NotFound_Other"
        return self.events[-1].status, self.events[-1].sub_status

    def track_info(self) -> dict[str, Any]:
        status, sub_status = self.latest()
        newest_first = [e.json() for e in reversed(self.events)]
        edd = self.estimated_delivery
        return {
            "shipping_info": {"shipper_address": {}, "recipient_address": {}},
            "latest_status": {"status": status, "sub_status": sub_status, "sub_status_descr": None},
            "latest_event": newest_first[0] if newest_first else None,
            "time_metrics": {
                "days_after_order": 0,
                "days_of_transit": 0,
                "days_of_transit_done": 0,
                "days_after_last_update": 0,
                "estimated_delivery_date": {
                    "source": "17TRACK" if edd else None,
                    "from": edd[0] if edd else None,
                    "to": edd[1] if edd else None,
                },
            },
            "milestone": [],
            "misc_info": {},
            "tracking": {
                "providers_hash": 0,
                "providers": [
                    {
                        "provider": {
                            "key": self.carrier,
                            "name": CARRIERS.get(self.carrier),
                            "alias": None,
                            "tel": None,
                            "homepage": None,
                            "country": None,
                        },
                        "service_type": None,
                        "latest_sync_status": "Success",
                        "latest_sync_time": None,
                        "events_hash": 0,
                        "events": newest_first,
                    }
                ],
            },
        }

    def item(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "carrier": self.carrier,
            "param": None,
            "tag": None,
            "track_info": self.track_info(),
        }


@dataclass
class FakeSeventeenTrack:
    api_key: str = "17TRACK-TEST-KEY"
    quota: int = 100
    rate_per_second: int = 3
    default_carrier: int = 3011
    carriers: dict[int, str] = field(default_factory=lambda: dict(CARRIERS))
    down: bool = False
    no_info: set[str] = field(default_factory=set)  # gettrackinfo answers -18019909
    mono: Callable[[], float] = time.monotonic
    parcels: dict[str, FakeParcel] = field(default_factory=dict)
    calls: list[tuple[float, str]] = field(default_factory=list)  # (time, endpoint)
    quota_used: int = 0
    _charged: dict[str, int] = field(default_factory=dict)
    _faults: list[int] = field(default_factory=list)
    _recent: dict[str, deque[float]] = field(default_factory=dict)

    # -- helpers for tests -------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        self._faults.extend([status] * n)

    def count(self, endpoint: str) -> int:
        return sum(1 for _, e in self.calls if e == endpoint)

    def registrations(self, number: str) -> int:
        """How many times registering ``number`` was charged."""
        return self._charged.get(number, 0)

    def scan(
        self,
        number: str,
        status: str,
        sub_status: str | None = None,
        description: str = "",
        *,
        at: dt.datetime | None = None,
        location: str | None = None,
        country: str | None = None,
    ) -> FakeParcel:
        """The carrier scans a registered parcel: a new newest event."""
        parcel = self.parcels[number]
        when = at or dt.datetime.now(dt.UTC)
        parcel.events.append(
            FakeEvent(
                when,
                status,
                sub_status or f"{status}_Other",
                description or status,
                location,
                country,
            )
        )
        parcel.events.sort(key=lambda e: e.at)
        return parcel

    def push_body(
        self, number: str, event: str = "TRACKING_UPDATED"
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook message as 17TRACK pushes it, and its headers (``sign``)."""
        parcel = self.parcels[number]
        if event == "TRACKING_STOPPED":
            data: dict[str, Any] = {
                "number": parcel.number,
                "carrier": parcel.carrier,
                "param": None,
                "tag": None,
            }
        else:
            data = parcel.item()
        body = json.dumps({"event": event, "data": data}).encode()
        return body, {"content-type": "application/json", "sign": sign(body, self.api_key)}

    # -- the protocol ------------------------------------------------------------------

    @staticmethod
    def _answer(accepted: list[Any], rejected: list[Any], code: int = 0) -> JSONResponse:
        return JSONResponse({"code": code, "data": {"accepted": accepted, "rejected": rejected}})

    @staticmethod
    def _failed(code: int, status: int = 200, arg: str = "") -> JSONResponse:
        message = MESSAGES.get(code, "error").format(arg)
        return JSONResponse(
            {"code": code, "data": {"errors": [{"code": code, "message": message}]}},
            status_code=status,
        )

    @staticmethod
    def _reject(number: str, code: int, arg: str | None = None) -> dict[str, Any]:
        message = MESSAGES.get(code, "error").format(arg if arg is not None else number)
        return {"number": number, "error": {"code": code, "message": message}}

    def _over_rate(self, key: str) -> bool:
        now = self.mono()
        recent = self._recent.setdefault(key, deque())
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= self.rate_per_second:
            return True
        recent.append(now)
        return False

    def _register(self, items: list[dict[str, Any]]) -> Response:
        accepted, rejected = [], []
        for item in items:
            number = item["number"]
            carrier = item.get("carrier")
            if carrier is not None and carrier not in self.carriers:
                rejected.append(self._reject(number, -18019910, str(carrier)))
            elif number in self.parcels:
                rejected.append(self._reject(number, -18019901))
            elif self.quota_used >= self.quota:
                rejected.append(self._reject(number, -18019908))
            else:
                key = carrier if carrier is not None else self.default_carrier
                self.parcels[number] = FakeParcel(number, key)
                self.quota_used += 1
                self._charged[number] = self._charged.get(number, 0) + 1
                accepted.append({"origin": 1, "number": number, "carrier": key})
        return self._answer(accepted, rejected)

    def _per_number(self, endpoint: str, items: list[dict[str, Any]]) -> Response:
        accepted, rejected = [], []
        for item in items:
            number = item["number"]
            parcel = self.parcels.get(number)
            if parcel is None:
                rejected.append(self._reject(number, -18019902))
            elif endpoint == "gettrackinfo" and number in self.no_info:
                rejected.append(self._reject(number, -18019909))
            elif endpoint == "gettrackinfo":
                accepted.append(parcel.item())
            elif endpoint == "stoptrack":
                if not parcel.tracking:
                    rejected.append(self._reject(number, -18019906))
                else:
                    parcel.tracking = False
                    accepted.append({"number": number, "carrier": parcel.carrier})
            elif endpoint == "retrack":
                if parcel.tracking:
                    rejected.append(self._reject(number, -18019904))
                elif parcel.retracked:
                    rejected.append(self._reject(number, -18019905))
                else:
                    parcel.tracking, parcel.retracked = True, True
                    accepted.append({"number": number, "carrier": parcel.carrier})
            else:  # changecarrier
                new = item.get("carrier_new")
                if new not in self.carriers:
                    rejected.append(self._reject(number, -18019910, str(new)))
                elif new == parcel.carrier:
                    rejected.append(self._reject(number, -18019803))
                else:
                    parcel.carrier = new
                    accepted.append({"number": number, "carrier": new})
        return self._answer(accepted, rejected)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post(f"{API}/{{endpoint}}")
        async def call(endpoint: str, request: Request) -> Response:
            if endpoint not in ENDPOINTS:
                return Response(status_code=404)
            self.calls.append((self.mono(), endpoint))
            if self.down:
                return Response("unavailable", status_code=500)
            if self._faults:
                return Response("fault", status_code=self._faults.pop(0))
            key = request.headers.get("17token", "")
            if key != self.api_key:
                return self._failed(-18010002, status=401)
            if self._over_rate(key):
                return JSONResponse(
                    {
                        "code": 429,
                        "data": {
                            "errors": [
                                {
                                    "code": 429,
                                    "message": "Request frequency exceeds the allowed limit.",
                                }
                            ]
                        },
                    },
                    status_code=429,
                )
            try:
                body = json.loads(await request.body())
            except ValueError:
                return self._failed(-18010013)
            if endpoint == "getquota":
                return JSONResponse(
                    {
                        "code": 0,
                        "data": {
                            "quota_total": self.quota,
                            "quota_used": self.quota_used,
                            "quota_remain": max(0, self.quota - self.quota_used),
                            "today_used": self.quota_used,
                        },
                    }
                )
            if not isinstance(body, list) or not all(
                isinstance(i, dict) and isinstance(i.get("number"), str) and i["number"]
                for i in body
            ):
                return self._failed(-18010013)
            if len(body) > MAX_NUMBERS:
                return self._failed(-18010014)
            if endpoint == "register":
                return self._register(body)
            return self._per_number(endpoint, body)

        return app
