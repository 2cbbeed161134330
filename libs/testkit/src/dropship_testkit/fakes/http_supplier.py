"""A fake supplier on our http protocol (docs/supplier-http-protocol.yaml): verifies our
Standard-Webhooks signature on every call (401 otherwise), keeps one order per id
(a repeat of the same ``webhook-id`` gets the first answer again), answers lookups.

Faults for tests: ``create_faults`` lists what the next ``POST /orders`` calls do
instead: ``"500"`` (nothing stored), ``"503:<seconds>"`` and ``"429:<seconds>"``
(Retry-After, nothing stored), ``"hang"`` (stored, then no answer until
:meth:`release`), ``"hang-503:<seconds>"`` (no answer until :meth:`release`, then the
503; nothing stored). ``lookup_faults``: the same for the next ``GET /orders/{id}``
calls, with any status (``"500"``, ``"400"``, …) or ``"429:<seconds>"``;
``notice_faults`` for the next ``POST /notices``. ``create_faults`` also takes
``"422"`` (the order refused as sent, nothing stored).

``POST /notices`` (how an aftersales case about one of its orders was settled) keeps
one notice per ``webhook-id``, as the protocol asks of a supplier (a repeat is answered
200 and not stored again; ``count("POST", "/notices")`` counts every call).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from dropship_common.security import verify_standard_webhook


@dataclass
class FakeHttpSupplier:
    secret: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    create_faults: list[str] = field(default_factory=list)
    lookup_faults: list[str] = field(default_factory=list)
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id -> body
    notice_faults: list[str] = field(default_factory=list)
    calls: list[tuple[float, str, str, bool]] = field(default_factory=list)  # ..., signed ok
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self._release.set()

    def count(self, method: str, prefix: str = "/orders") -> int:
        return sum(1 for _, m, p, _ok in self.calls if m == method and p.startswith(prefix))

    def app(self) -> FastAPI:
        app = FastAPI()

        async def verified(request: Request) -> bytes | None:
            body = await request.body()
            ok = verify_standard_webhook(self.secret, dict(request.headers), body, int(time.time()))
            self.calls.append((time.monotonic(), request.method, request.url.path, ok))
            return body if ok else None

        def unsigned() -> JSONResponse:
            return JSONResponse({"error": "invalid signature"}, status_code=401)

        @app.post("/orders")
        async def create(request: Request) -> Response:
            body = await verified(request)
            if body is None:
                return unsigned()
            fault = self.create_faults.pop(0) if self.create_faults else None
            if fault == "500":
                return Response("oops", status_code=500)
            if fault == "422":
                return JSONResponse(
                    {"error": {"code": "unknown_product", "message": "no such product"}},
                    status_code=422,
                )
            if fault and fault[:4] in ("503:", "429:"):
                return Response(status_code=int(fault[:3]), headers={"Retry-After": fault[4:]})
            if fault and fault.startswith("hang-503:"):  # no answer until release, then
                await self._release.wait()  # a 503: nothing stored
                return Response(status_code=503, headers={"Retry-After": fault[9:]})
            data = json.loads(body)
            order_id = str(data["id"])
            if request.headers["webhook-id"] != order_id:
                return JSONResponse({"error": "webhook-id must be the order id"}, status_code=422)
            known = self.orders.get(order_id)
            if known is None:
                known = self.orders[order_id] = {
                    "id": order_id,
                    "supplier_ref": f"SUP-{len(self.orders) + 1}",
                    "status": "received",
                    "notice": data["notice"],
                }
            if fault == "hang":
                await self._release.wait()
            return JSONResponse({"supplier_ref": known["supplier_ref"]}, status_code=201)

        @app.post("/notices")
        async def notice(request: Request) -> Response:
            body = await verified(request)
            if body is None:
                return unsigned()
            fault = self.notice_faults.pop(0) if self.notice_faults else None
            if fault is not None:
                status, _, retry_after = fault.partition(":")
                headers = {"Retry-After": retry_after} if retry_after else None
                return JSONResponse({"error": "fault"}, status_code=int(status), headers=headers)
            data = json.loads(body)
            missing = [k for k in ("case_id", "supplier_order_id", "resolution") if k not in data]
            if missing:
                return JSONResponse({"error": {"message": f"missing {missing}"}}, status_code=422)
            self.notices.setdefault(request.headers["webhook-id"], data)
            return JSONResponse({"received": True})

        @app.get("/orders/{order_id}")
        async def lookup(order_id: str, request: Request) -> Response:
            if await verified(request) is None:
                return unsigned()
            fault = self.lookup_faults.pop(0) if self.lookup_faults else None
            if fault is not None:
                status, _, retry_after = fault.partition(":")
                headers = {"Retry-After": retry_after} if retry_after else None
                return JSONResponse({"error": "fault"}, status_code=int(status), headers=headers)
            known = self.orders.get(order_id)
            if known is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            return JSONResponse(
                {k: known[k] for k in ("id", "supplier_ref", "status")}
                | {"carrier": None, "tracking_numbers": []}
            )

        @app.post("/orders/{order_id}/cancel")
        async def cancel(order_id: str, request: Request) -> Response:
            if await verified(request) is None:
                return unsigned()
            known = self.orders.get(order_id)
            if known is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            known["status"] = "cancelled"
            return JSONResponse({"id": order_id, "status": "cancelled"})

        return app
