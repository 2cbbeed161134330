"""The order pipeline across processes, shared by the system tests
(tests/system/test_pipeline.py) and the pipeline benchmark (bench/pipeline.py):

* fakes of the outside world on real local ports (uvicorn in the caller's event loop),
  each behind a :class:`Recorder` that keeps every request it answered (when, what,
  which status): Shopify's Admin GraphQL API (:class:`FakeShopify`), CJdropshipping API
  2.0 (:class:`FakeCJSupplier`), a supplier on our http protocol that can ship each
  order the moment it took it (:class:`FakeHttpSupplierServer`);
* :class:`Pipeline`: what a merchant, a storefront and a supplier do over HTTP against
  ``dropship serve order-intake`` and ``dropship serve supplier-gateway``: shops,
  suppliers, mappings, signed Shopify webhooks, the portal's forms, and the reads that
  show the outcome (orders, supplier orders, the buyer's mail folder).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import json
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from dropship_testkit.fakes import FakeShopifyAdmin
from dropship_testkit.fakes.cj import FakeCJ
from dropship_testkit.fakes.http_supplier import FakeHttpSupplier
from dropship_testkit.fakes.network import DROP_RESPONSE_HEADER
from dropship_testkit.server import serving
from dropship_testkit.storefront import shopify_headers, shopify_order
from dropship_testkit.tap import eventually

# the Shopify fixture's line items (dropship_testkit/payloads/shopify/order.json): id -> sku
SHOPIFY_LINES = {466157049: "IPOD2008GREEN", 518995019: "IPOD2008RED", 703073504: "IPOD2008BLACK"}
SHOPIFY_TOKEN = "shpat_pipeline_0123456789"
FORM = {"content-type": "application/x-www-form-urlencoded"}

ASGIApp = Callable[..., Awaitable[None]]
# POST ``path`` (on the gateway) with ``body`` and ``headers``: (status, body)
Post = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, bytes]]]


def s10(serial: int, prefix: str = "RR", country: str = "CN") -> str:
    """A UPU S10 tracking number (``RR123456785CN``) with its check digit."""
    digits = f"{serial % 10**8:08d}"
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    check = 0 if check == 10 else 5 if check == 11 else check
    return f"{prefix}{digits}{check}{country}"


def whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


# -- recording what the fakes were asked -----------------------------------------------


@dataclass
class Seen:
    """One request a fake answered."""

    at: float  # time.monotonic() when it arrived
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    answered_at: float | None = None
    complete: bool = True  # False: the caller went away before the body was sent

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Recorder:
    """An ASGI wrapper keeping every request (body included) and its answer;
    ``on_answer`` runs after each answer was sent (e.g. a supplier acting on it)."""

    def __init__(self, app: ASGIApp, on_answer: Callable[[Seen], None] | None = None) -> None:
        self.app = app
        self.on_answer = on_answer
        self.seen: list[Seen] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        at = time.monotonic()
        chunks = []
        complete = False
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                complete = True
                break
        seen = Seen(
            at=at,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=b"".join(chunks),
            complete=complete,
        )
        self.seen.append(seen)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": seen.body, "more_body": False}
            result: dict[str, Any] = await receive()
            return result

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", [])]
                if any(k.decode().lower() == DROP_RESPONSE_HEADER.lower() for k, _ in headers):
                    # the fake did the work; the answer is lost on the way: the head goes
                    # out and the connection breaks before the body
                    await send({**message, "headers": [
                        (k, v) for k, v in headers
                        if k.decode().lower() != DROP_RESPONSE_HEADER.lower()
                    ]})  # fmt: skip
                    raise ConnectionAbortedError("the answer was lost on the way")
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                seen.answered_at = time.monotonic()
                if self.on_answer is not None:
                    self.on_answer(seen)

        await self.app(scope, replay, watch)

    def requests(self, method: str | None = None, path_end: str = "") -> list[Seen]:
        return [
            s
            for s in self.seen
            if (method is None or s.method == method) and s.path.endswith(path_end)
        ]


def httpx_post(client: httpx.AsyncClient, base_url: str) -> Post:
    async def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        r = await client.post(f"{base_url}{path}", content=body, headers=headers)
        return r.status_code, r.content

    return post


# -- the fakes -------------------------------------------------------------------------


class FakeShopify:
    """Shopify's Admin GraphQL API for every shop routed to it
    (``DROPSHIP_STOREFRONT_ROUTES``); ``unthrottled`` lifts the query-cost bucket (a
    standard shop restores 100 points/s; a fulfilment is charged about 25 points, but
    its first read needs 278 available)."""

    def __init__(self, token: str = SHOPIFY_TOKEN, *, unthrottled: bool = False) -> None:
        limits = {"maximum_available": 1e12, "restore_rate": 1e12} if unthrottled else {}
        self.fake = FakeShopifyAdmin(token, **limits)
        self.recorder = Recorder(self.fake.app)
        self.url = ""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeShopify]:
        async with serving(self.recorder) as url:
            self.url = url
            yield self

    def add_order(self, order_id: int) -> None:
        # the fixture order's total, paid once: what refunds can give back
        self.fake.add_order(order_id, dict.fromkeys(SHOPIFY_LINES, 1), paid="409.94")

    def fulfillments(self, order_id: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.fake.fulfillments(order_id)
        return found

    def fulfilled_at(self) -> dict[int, list[float]]:
        """Shopify order id -> when each successful ``fulfillmentCreate`` was answered."""
        owner = {
            fo.id: int(order.id.rsplit("/", 1)[1])
            for order in self.fake.orders.values()
            for fo in order.fulfillment_orders
        }
        found: dict[int, list[float]] = {}
        for seen in self.recorder.requests("POST", "/graphql.json"):
            body = seen.json() or {}
            if "fulfillmentCreate" not in str(body.get("query")) or seen.status != 200:
                continue
            pairs = (body.get("variables") or {}).get("fulfillment", {}).get(
                "lineItemsByFulfillmentOrder"
            ) or [{}]
            order_id = owner.get(str(pairs[0].get("fulfillmentOrderId")))
            if order_id is not None and seen.answered_at is not None:
                found.setdefault(order_id, []).append(seen.answered_at)
        return found


class FakeCJSupplier:
    """CJdropshipping API 2.0 (its account's QPS raised for tests, tokens issued on
    every request so several CJ suppliers can share the account); the LOGISTIC
    message is sent to the gateway as CJ sends it (signed with the ``openId``)."""

    def __init__(self, **kw: Any) -> None:
        self.fake = FakeCJ(**{"qps": 50, "token_interval": 0.0, **kw})
        self.recorder = Recorder(self.fake.app())
        self.url = ""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeCJSupplier]:
        async with serving(self.recorder) as url:
            self.url = url
            try:
                yield self
            finally:
                self.fake.release()

    def credentials(self) -> dict[str, Any]:
        return {
            "api_key": self.fake.api_key,
            "open_id": str(self.fake.open_id),
            "logistic_name": "CJPacket Ordinary",
            "qps": 20,
        }

    def creates(self, order_number: str | None = None) -> list[Seen]:
        """``createOrderV2`` calls (for one ``orderNumber``)."""
        return [
            s
            for s in self.recorder.requests("POST", "/createOrderV2")
            if order_number is None or (s.json() or {}).get("orderNumber") == order_number
        ]

    async def send_logistics(
        self,
        client: httpx.AsyncClient,
        gateway: str,
        supplier_id: str,
        order_number: str,
        number: str,
        carrier: str = "CJPacket Ordinary",
    ) -> httpx.Response:
        order = self.fake.ship(order_number, carrier, number)
        body, headers = self.fake.callback("LOGISTIC", order)
        return await client.post(
            f"{gateway}/v1/callbacks/cjdropshipping/{supplier_id}", content=body, headers=headers
        )


@dataclass
class Shipped:
    """A ship callback the fake http supplier made."""

    supplier_order_id: str
    order_number: str  # the shop's order number in the notice
    tracking_number: str
    sent_at: float
    answered_at: float | None = None
    status: int | None = None
    attempts: int = 0


class FakeHttpSupplierServer:
    """A supplier on our http protocol (it checks our Standard-Webhooks signature).
    With :meth:`ship_at_once`, it ships every order it newly took, right after
    answering: ``POST {gateway}/v1/supplier/orders/{id}/ship`` with its key, carrier
    China Post and a fresh S10 number, retried (1 s apart, 2 minutes at most) while the
    gateway does not answer 200, as a supplier's system would."""

    def __init__(self, secret: str | None = None) -> None:
        self.fake = FakeHttpSupplier(secret=secret or whsec())
        self.recorder = Recorder(self.fake.app(), on_answer=self._answered)
        self.url = ""
        self.shipped: dict[str, Shipped] = {}
        self.ship_errors: list[str] = []
        self._auto: tuple[Post, str] | None = None
        self._serial = int.from_bytes(os.urandom(3), "big") * 100
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeHttpSupplierServer]:
        async with serving(self.recorder) as url:
            self.url = url
            try:
                yield self
            finally:
                self.fake.release()
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def credentials(self) -> dict[str, Any]:
        return {"url": f"{self.url}/", "secret": self.fake.secret}

    def ship_at_once(self, post: Post, key: str) -> None:
        """From now on, ship each new order through ``post`` (to the gateway)."""
        self._auto = (post, key)

    def posts(self, supplier_order_id: str | None = None) -> list[Seen]:
        """``POST /orders`` calls (for one of our supplier-order ids: ``webhook-id``)."""
        return [
            s
            for s in self.recorder.requests("POST", "/orders")
            if supplier_order_id is None or s.headers.get("webhook-id") == supplier_order_id
        ]

    def _answered(self, seen: Seen) -> None:
        if self._auto is None or seen.method != "POST" or seen.path != "/orders":
            return
        if seen.status not in (200, 201):
            return
        data = seen.json()
        order_id = str(data["id"])
        if order_id in self.shipped:
            return  # a repeat: shipped already
        self._serial += 1
        shipped = Shipped(
            order_id, str(data["notice"].get("order_number")), s10(self._serial), time.monotonic()
        )
        self.shipped[order_id] = shipped
        task = asyncio.get_running_loop().create_task(self._ship(shipped))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ship(self, shipped: Shipped) -> None:
        assert self._auto is not None
        post, key = self._auto
        path = f"/v1/supplier/orders/{shipped.supplier_order_id}/ship"
        body = json.dumps(
            {"carrier": "China Post", "tracking_numbers": [shipped.tracking_number]}
        ).encode()
        headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
        deadline = time.monotonic() + 120
        while True:
            shipped.attempts += 1
            try:
                status, answer = await post(path, body, headers)
                shipped.status = status
                if status == 200:
                    shipped.answered_at = time.monotonic()
                    return
                problem = f"{status}: {answer[:200]!r}"
            except Exception as exc:  # refused, reset, timed out (gateway restarting): retry
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                self.ship_errors.append(f"{shipped.supplier_order_id}: {problem}")
                return
            await asyncio.sleep(1.0)


# -- the merchant, the storefront and the supplier over HTTP -------------------------


@dataclass
class Shop:
    id: str
    domain: str
    secret: str


@dataclass
class Pipeline:
    """Drives order-intake (``intake``) and supplier-gateway (``gateway``) over HTTP."""

    intake: str
    gateway: str
    admin_token: str
    mail_dir: Path
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    @property
    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.admin_token}"}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _ok(self, r: Awaitable[httpx.Response], *codes: int) -> Any:
        response = await r
        assert response.status_code in (codes or (200,)), (
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:500]}"
        )
        return response.json()

    # merchant set-up
    async def add_shop(self, domain: str, token: str = SHOPIFY_TOKEN) -> Shop:
        secret = "shpss_" + uuid.uuid4().hex
        shop = await self._ok(
            self.client.post(
                f"{self.intake}/v1/shops",
                headers=self.admin,
                json={
                    "platform": "shopify",
                    "domain": domain,
                    "webhook_secret": secret,
                    "admin_credentials": {"access_token": token},
                },
            ),
            201,
        )
        await self._ok(
            self.client.post(
                f"{self.intake}/v1/products",
                headers=self.admin,
                json={
                    "shop_id": shop["id"],
                    "products": [{"sku": s} for s in SHOPIFY_LINES.values()],
                },
            ),
            201,
        )
        return Shop(shop["id"], domain, secret)

    async def add_supplier(
        self, name: str, adapter: str, credentials: dict[str, Any] | None = None
    ) -> str:
        body: dict[str, Any] = {"name": name, "adapter": adapter, "handling_days": 2}
        if credentials is not None:
            body["credentials"] = credentials
        found = await self._ok(
            self.client.post(f"{self.gateway}/v1/suppliers", headers=self.admin, json=body), 201
        )
        return str(found["id"])

    async def supplier_key(self, supplier_id: str) -> str:
        found = await self._ok(
            self.client.post(
                f"{self.gateway}/v1/suppliers/{supplier_id}/portal-key", headers=self.admin
            ),
            201,
        )
        return str(found["key"])

    async def map(
        self, shop: Shop, supplier_id: str, skus: Iterable[str], priority: int = 1
    ) -> None:
        mappings = [
            {
                "sku": sku,
                "supplier_id": supplier_id,
                "supplier_product_id": f"P-{sku}",
                "supplier_variant_id": str(uuid.uuid5(uuid.NAMESPACE_OID, sku)).upper(),
                "unit_cost": "42.00",
                "currency": "USD",
                "customs_description": "portable media player",
                "hs_code": "851981",
                "weight_grams": 180,
                "priority": priority,
            }
            for sku in skus
        ]
        await self._ok(
            self.client.post(
                f"{self.gateway}/v1/mappings",
                headers=self.admin,
                json={"shop_id": shop.id, "mappings": mappings},
            ),
            201,
        )

    # the storefront
    @staticmethod
    def webhook(shop: Shop, shopify_id: int) -> tuple[bytes, dict[str, str]]:
        """A signed ``orders/create`` for the fixture order with this id, number ``#<id>``."""
        body = shopify_order(id=shopify_id, name=f"#{shopify_id}")
        return body, shopify_headers(body, shop.secret, domain=shop.domain)

    async def post_order(self, shop: Shop, shopify_id: int) -> None:
        body, headers = self.webhook(shop, shopify_id)
        answer = await self._ok(
            self.client.post(f"{self.intake}/webhooks/shopify", content=body, headers=headers)
        )
        assert answer["status"] == "accepted", answer

    # reading the outcome
    async def order_of(self, shopify_id: int, timeout: float = 30) -> dict[str, Any]:
        """order-intake's order for this Shopify order, once it exists."""

        async def probe() -> dict[str, Any] | None:
            found = await self._ok(
                self.client.get(
                    f"{self.intake}/v1/orders",
                    headers=self.admin,
                    params={"number": f"#{shopify_id}"},
                )
            )
            return found["items"][0] if found["items"] else None

        result: dict[str, Any] = await eventually(probe, timeout=timeout, interval=0.1)
        return result

    async def order(self, order_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._ok(
            self.client.get(f"{self.intake}/v1/orders/{order_id}", headers=self.admin)
        )
        return found

    async def order_in(self, order_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.order(order_id)
            return found if found["status"] == status else None

        result: dict[str, Any] = await eventually(probe, timeout=timeout, interval=0.1)
        return result

    async def fulfilments(self, order_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._ok(
            self.client.get(f"{self.intake}/v1/orders/{order_id}/fulfilments", headers=self.admin)
        )
        return found

    async def fulfilments_sent(
        self, order_id: str, count: int = 1, timeout: float = 30
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.fulfilments(order_id)
            sent = [f for f in found["fulfilments"] if f["status"] == "sent"]
            return found if len(sent) >= count else None

        result: dict[str, Any] = await eventually(probe, timeout=timeout, interval=0.1)
        return result

    async def supplier_orders(
        self, order_id: str, count: int = 1, timeout: float = 30
    ) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            found = await self._ok(
                self.client.get(
                    f"{self.gateway}/v1/supplier-orders",
                    headers=self.admin,
                    params={"order_id": order_id},
                )
            )
            rows: list[dict[str, Any]] = found["supplier_orders"]
            return rows if len(rows) >= count else None

        result: list[dict[str, Any]] = await eventually(probe, timeout=timeout, interval=0.1)
        return result

    async def supplier_order(self, supplier_order_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._ok(
            self.client.get(
                f"{self.gateway}/v1/supplier-orders/{supplier_order_id}", headers=self.admin
            )
        )
        return found

    async def supplier_order_in(
        self, supplier_order_id: str, status: str, timeout: float = 30
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.supplier_order(supplier_order_id)
            return found if found["status"] == status else None

        result: dict[str, Any] = await eventually(probe, timeout=timeout, interval=0.1)
        return result

    def mails(self, subject_part: str) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if subject_part in str(message["Subject"]):
                found.append(message)
        return found

    async def wait_mails(
        self, subject_part: str, count: int = 1, timeout: float = 30
    ) -> list[email.message.EmailMessage]:
        async def probe() -> list[email.message.EmailMessage] | None:
            found = self.mails(subject_part)
            return found if len(found) >= count else None

        result: list[email.message.EmailMessage] = await eventually(
            probe, timeout=timeout, interval=0.1
        )
        return result

    # the supplier portal, as a browser without JavaScript would use it
    def portal(self, key: str) -> Portal:
        return Portal(self.gateway, key)


class Portal:
    """A supplier's browser session in the portal (its own cookie jar). Like a browser it
    sends ``Origin``, posts each form with the CSRF token its page carried, and keeps the
    session cookie, which is ``Secure`` in distributed mode: a browser keeps those for
    http://127.0.0.1 (a secure context), httpx's jar does not, so this keeps its own."""

    def __init__(self, gateway: str, key: str) -> None:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(gateway))
        self.client = httpx.AsyncClient(base_url=gateway, timeout=30, headers={"origin": origin})
        self.key = key
        self.jar: dict[str, str] = {}
        self.csrf = ""

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {
            **kw.pop("headers", {}),
            "cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items()),
        }
        r = await self.client.request(method, path, headers=headers, **kw)
        self.client.cookies.clear()
        for line in r.headers.get_list("set-cookie"):
            name, _, value = line.split(";")[0].partition("=")
            if value.strip('"') and "max-age=0" not in line.lower():
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        if m := re.search(r"name='csrf' value='([^']*)'", r.text):
            self.csrf = m[1]
        return r

    async def post_form(self, path: str, form: dict[str, str]) -> httpx.Response:
        body = urlencode({**form, "csrf": self.csrf})
        return await self._send("POST", path, headers=FORM, content=body)

    async def __aenter__(self) -> Portal:
        await self._send("GET", "/portal/login")
        r = await self.post_form("/portal/login", {"key": self.key})
        assert r.status_code == 303 and r.headers["location"] == "/portal", r.text
        await self._send("GET", "/portal")  # the session's CSRF token
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def listing(self) -> str:
        r = await self._send("GET", "/portal")
        assert r.status_code == 200, r.text
        return r.text

    async def page(self, supplier_order_id: str) -> httpx.Response:
        return await self._send("GET", f"/portal/orders/{supplier_order_id}")

    async def act(self, supplier_order_id: str, action: str, **form: str) -> httpx.Response:
        return await self.post_form(f"/portal/orders/{supplier_order_id}/{action}", form)
