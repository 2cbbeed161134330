"""CJdropshipping API 2.0 (https://developers.cjdropshipping.com/en/api/api2/).

* **Access token** from the account's API key (``POST authentication/getAccessToken``,
  at most once every 5 minutes), valid 15 days; the refresh token (180 days) renews it
  (``refreshAccessToken``, at most 5 a minute). Renewed a day before it expires; an
  answer 1600001/1600002 (token invalid) drops it and gets a new one once.
* **Place**: ``POST shopping/order/createOrderV2`` with our supplier-order id as
  ``orderNumber`` (CJ refuses an ``orderNumber`` it already has). CJ requires both
  ``shippingCountryCode`` ("Please use The two-letter code") and ``shippingCountry``
  ("Country of destination"): the code, and the country's English name
  (https://developers.cjdropshipping.com/en/api/api2/api/shopping.html).
* **Look up**: ``GET shopping/order/getOrderDetail?orderId=<our number>`` (the page:
  "support: Custom order id, CJ order id"): status, CJ's own order id, carrier
  (``logisticName``) and ``trackNumber``. "No such order" is every code CJ documents for
  it: 1600300 "order not found" (the getOrderDetail page's own error table,
  https://developers.cjdropshipping.com/en/api/api2/api/shopping.html) and 1603100
  "Order not found" (the global table,
  https://developers.cjdropshipping.cn/en/api/api2/standard/ps-code.html). Before it
  counts as not placed it is checked a second way: the order list
  (``GET shopping/order/list?orderIds=<our number>``, same page, "1.6 List Order"),
  matched on ``orderNum`` (our number) or ``orderId``. What the docs leave open: the list
  has no filter named for the customer's order number, only ``orderIds`` ("order id",
  string[], up to 100), and whether it takes our number is not said; CJ's own MCP server
  (github.com/CJ-dropshipping/api-mcp, ``get_order_list``) sends an order number there,
  as repeated keys, and no ``status`` for orders of every status (the page's "default:
  CANCELLED" notwithstanding). So the list can only add certainty: an order it shows is
  found; an empty list leaves the detail's "not found" standing. Any other answer of
  either (another code, a 5xx, a timeout) settles nothing: the worker looks up again, and
  after a few such answers hands the order to an operator.
* **Cancel**: ``DELETE shopping/order/deleteOrder?orderId=<CJ id>`` (orders not yet
  paid / processed).
* CJ answers HTTP 200 with its own ``code`` (200 success). 1600200 "call exceeded
  limit" and 1600201 "quota used up" (also as HTTP 429) are rate limits; 1600000
  "system busy" is transient. The account's QPS (1 for a free account, up to 6) is the
  client's token bucket.

Credentials of a ``cjdropshipping`` supplier: ``api_key`` (required), ``open_id`` (from
the token answer: the webhook signing secret), ``logistic_name`` (CJ shipping method,
required), ``qps`` (default 1), ``pay_type`` (default 2: pay from the CJ balance).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import pycountry

from dropship_common.http import parse_retry_after
from supplier_gateway.adapters.base import (
    NOT_FOUND,
    AdapterContext,
    Lookup,
    Placed,
    PlacementRequest,
    PlacementUnknown,
    PlaceResult,
    Refused,
    SavedToken,
    SupplierError,
    SupplierMisconfigured,
    SupplierUnavailable,
    TokenStore,
)
from supplier_gateway.adapters.calls import supplier_client

KIND = "cjdropshipping"
API = "/api2.0/v1"

SUCCESS = 200
SYSTEM_BUSY = 1600000
TOKEN_INVALID = {1600001, 1600002}
AUTH_FAILED = {1600001, 1600004, 1600005, 1600006, 1600007, 1600008}  # on getAccessToken
REFRESH_INVALID = 1600003
TOO_MANY_REQUESTS = 1600200
QUOTA_USED_UP = 1600201
ORDER_CREATE_FAIL = 1603000
ORDER_NOT_FOUND = 1603100
# every documented "no such order" answer of getOrderDetail (see the module's docstring)
LOOKUP_NOT_FOUND = frozenset({1600300, ORDER_NOT_FOUND})
LIST_PAGE_SIZE = 20  # the list's default page; one order number matches one order
SHIPPED_STATES = frozenset({"SHIPPED", "DELIVERED"})
CANCELLED = "CANCELLED"

TOKEN_INTERVAL = 300.0  # getAccessToken: once every 5 minutes
RENEW_BEFORE = dt.timedelta(days=1)
QUOTA_WAIT = 3600.0
QPS_MARGIN = 0.9

# CJ answers that name what was sent as wrong: the order is not retried as it is.
REFUSALS = {
    1600300: "illegal parameter",
    1602000: "variant not found",
    1602001: "product not found",
    1604000: "balance is insufficient",
    1605000: "logistic not found",
}


def credential_problems(credentials: dict[str, Any]) -> list[str]:
    problems = []
    for name in ("api_key", "logistic_name"):
        if not isinstance(credentials.get(name), str) or not credentials[name].strip():
            problems.append(f"{name} is required (text)")
    qps = credentials.get("qps")
    if qps is not None and (not isinstance(qps, int | float) or not 0 < qps <= 100):
        problems.append("qps must be a number of calls per second (CJ: 1 to 6)")
    if credentials.get("pay_type") not in (None, 1, 2, 3):
        problems.append("pay_type must be 1 (page), 2 (balance) or 3 (create only)")
    if credentials.get("open_id") is not None and not str(credentials["open_id"]).isdigit():
        problems.append("open_id is the number CJ's getAccessToken answers")
    return problems


def country_name(code: str) -> str:
    """The English name CJ's ``shippingCountry`` wants ("Germany", "South Korea"); the
    code itself when ISO 3166 does not know it (CJ then has at least the code)."""
    found = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


def account_fingerprint(api_key: str) -> str:
    """Which API key a saved token was issued for (not the key itself)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


class CJError(SupplierError):
    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"CJ {code}: {message}")
        self.code, self.message = code, message


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


class TokenManager:
    """One CJ account's access token, renewed before expiry within CJ's call limits, and
    kept in ``store`` (if given) so a restart needs no new one."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_key: str,
        *,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        renew_before: dt.timedelta = RENEW_BEFORE,
        store: TokenStore | None = None,
    ) -> None:
        self.client = client
        self.api_key = api_key
        self._wall = wall
        self.renew_before = renew_before
        self.store = store
        self.account = account_fingerprint(api_key)
        self._loaded = store is None
        self._lock = asyncio.Lock()
        self.access_token: str | None = None
        self.access_expires: dt.datetime | None = None
        self.refresh_token: str | None = None
        self.refresh_expires: dt.datetime | None = None
        self.open_id: str | None = None
        self._last_issue: dt.datetime | None = None
        self._rejected: str | None = None  # the access token CJ last refused

    async def _load(self) -> None:
        if self._loaded or self.store is None:
            return
        saved = await self.store.load()
        self._loaded = True
        if saved is not None and saved.account == self.account:  # not another key's
            self.access_token, self.access_expires = saved.access_token, saved.access_expires
            self.refresh_token, self.refresh_expires = saved.refresh_token, saved.refresh_expires
            self.open_id, self._last_issue = saved.open_id, saved.issued_at

    async def _save(self) -> None:
        if self.store is not None:
            await self.store.save(
                SavedToken(
                    self.access_token,
                    self.access_expires,
                    self.refresh_token,
                    self.refresh_expires,
                    self.open_id,
                    self._last_issue,
                    self.account,
                )
            )

    def _fresh(self, now: dt.datetime) -> bool:
        return (
            self.access_token is not None
            and self.access_expires is not None
            and now < self.access_expires - self.renew_before
        )

    async def token(self) -> str:
        async with self._lock:
            await self._load()
            now = self._wall()
            if self._fresh(now):
                assert self.access_token is not None
                return self.access_token
            if self.store is not None:
                # another process (a replica, or this one before a restart) may have
                # renewed it: its token, refresh token and last getAccessToken are there
                self._loaded = False
                await self._load()
                if self._fresh(now) and self.access_token != self._rejected:
                    assert self.access_token is not None
                    return self.access_token
            if (
                self.refresh_token
                and self.refresh_expires is not None
                and now < self.refresh_expires
            ):
                try:
                    await self._call("refreshAccessToken", {"refreshToken": self.refresh_token})
                except CJError as exc:
                    if exc.code != REFRESH_INVALID:
                        raise
                    self.refresh_token = None
                else:
                    assert self.access_token is not None
                    return self.access_token
            await self._issue()
            assert self.access_token is not None
            return self.access_token

    async def invalidate(self) -> None:
        """CJ refused this token. Not written to the store: it may hold a newer token
        another process got meanwhile; the next renewal saves what replaces it."""
        async with self._lock:
            self._rejected, self.access_token = self.access_token, None

    async def _issue(self) -> None:
        if self._last_issue is not None:
            wait = (self._last_issue - self._wall()).total_seconds() + TOKEN_INTERVAL
            if wait > 0:
                raise SupplierUnavailable("CJ allows one getAccessToken every 5 minutes", wait)
        await self._call("getAccessToken", {"apiKey": self.api_key})

    async def _call(self, endpoint: str, body: dict[str, str]) -> None:
        started = self._wall()
        response = await self.client.post(f"{API}/authentication/{endpoint}", json=body)
        if endpoint == "getAccessToken" and response.status_code < 500:
            self._last_issue = started  # CJ counted it (a 5xx or no answer: it did not)
            await self._save()
        try:
            data = _data(response)
        except CJError as exc:
            if endpoint == "getAccessToken" and exc.code in AUTH_FAILED:
                raise SupplierMisconfigured(f"CJ refused the API key: {exc}") from exc
            if exc.code == REFRESH_INVALID:
                raise
            raise SupplierUnavailable(f"no CJ access token: {exc}") from exc
        self.access_token = str(data["accessToken"])
        self.access_expires = _parse_time(data.get("accessTokenExpiryDate"))
        self.refresh_token = data.get("refreshToken") or self.refresh_token
        self.refresh_expires = _parse_time(data.get("refreshTokenExpiryDate"))
        if data.get("openId") is not None:
            self.open_id = str(data["openId"])
        await self._save()


def _data(response: httpx.Response) -> Any:
    """CJ's ``data`` of a successful answer; raises for rate limits, busy and errors."""
    retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    message = str(body.get("message") or "") if isinstance(body, dict) else response.text[:200]
    if response.status_code == 429 or code == TOO_MANY_REQUESTS:
        raise SupplierUnavailable(f"CJ rate limit: {message}", retry_after or 1.0)
    if code == QUOTA_USED_UP:
        raise SupplierUnavailable(f"CJ quota used up: {message}", retry_after or QUOTA_WAIT)
    if response.status_code >= 500:
        raise CJError(None, f"HTTP {response.status_code}")
    if code == SYSTEM_BUSY:
        raise SupplierUnavailable(f"CJ system busy: {message}", retry_after)
    if not isinstance(body, dict) or code != SUCCESS:
        raise CJError(code if isinstance(code, int) else None, message or "unexpected answer")
    return body.get("data")


class CJAdapter:
    kind = KIND

    def __init__(self, credentials: dict[str, Any], context: AdapterContext) -> None:
        settings = context.settings
        api_key = credentials.get("api_key")
        if not api_key:
            raise ValueError("a cjdropshipping supplier needs credentials.api_key")
        self.credentials = credentials
        # a tenth under the account's QPS: calls sent exactly at the limit arrive a hair
        # early now and then (network jitter) and are refused
        qps = float(credentials.get("qps") or 1) * QPS_MARGIN
        self.client = supplier_client(
            settings.cj_base_url,
            settings,
            rate_per_second=qps,
            transport=context.transport,
            rate_limiter=context.rate_limiter,
        )
        self.tokens = TokenManager(self.client, str(api_key), store=context.token_store)

    async def _request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One authenticated call; a token CJ no longer accepts is replaced once."""
        for attempt in (1, 2):
            token = await self.tokens.token()
            response = await self.client.request(
                method,
                f"{API}{path}",
                json=json,
                params=params,
                headers={"CJ-Access-Token": token},
            )
            try:
                return _data(response)
            except CJError as exc:
                if exc.code in TOKEN_INVALID and attempt == 1:
                    await self.tokens.invalidate()
                    continue
                raise
        raise AssertionError("unreachable")

    def _order_body(self, request: PlacementRequest) -> dict[str, Any]:
        notice = request.notice
        r = notice["recipient"]
        wishes = "; ".join(f"{w['name']}: {w['value']}" for w in notice.get("buyer_wishes", []))
        replacement = notice.get("replacement") or {}
        # a reship says so first (the remark is cut at CJ's 500 characters)
        again = (
            f"REPLACEMENT for our order {replacement.get('replaces_supplier_order_id')}"
            f" (case {replacement.get('case_id')})"
            if replacement
            else None
        )
        remark = " | ".join(x for x in (again, notice.get("buyer_note"), wishes) if x)
        country = r.get("country_code") or ""
        return {
            "orderNumber": request.our_number,
            "shippingZip": r.get("postal_code") or "",
            "shippingCountryCode": country,
            "shippingCountry": country_name(country),
            "shippingProvince": r.get("province") or "",
            "shippingCity": r.get("city") or "",
            "shippingPhone": r.get("phone") or "",
            "shippingCustomerName": r.get("name") or "",
            "shippingAddress": r.get("line1") or "",
            "shippingAddress2": r.get("line2") or "",
            "remark": remark[:500],
            "logisticName": self.credentials.get("logistic_name") or "",
            "fromCountryCode": request.ship_from_country,
            "payType": int(self.credentials.get("pay_type") or 2),
            "products": [
                {
                    "vid": item.get("supplier_variant_id") or item["supplier_product_id"],
                    "quantity": item["quantity"],
                    "storeLineItemId": item["line_id"],
                }
                for item in notice["items"]
            ],
        }

    async def place(self, request: PlacementRequest) -> PlaceResult:
        try:
            data = await self._request(
                "POST", "/shopping/order/createOrderV2", json=self._order_body(request)
            )
        except CJError as exc:
            if exc.code in REFUSALS:
                return Refused(f"CJ {exc.code} {REFUSALS[exc.code]}: {exc.message}")
            # a 5xx, or "order create fail" (as for an orderNumber CJ already has): it
            # may exist; the caller looks it up
            raise PlacementUnknown(str(exc)) from exc
        ref = data.get("orderId") if isinstance(data, dict) else data
        return Placed(str(ref) if ref else None)

    async def lookup(self, our_number: str) -> Lookup:
        """The order by our number; NOT_FOUND only when CJ says so both ways it can."""
        try:
            data = await self._request(
                "GET", "/shopping/order/getOrderDetail", params={"orderId": our_number}
            )
        except CJError as exc:
            if exc.code not in LOOKUP_NOT_FOUND:
                raise
            data = None
        if isinstance(data, dict) and data:
            return _lookup(data)
        return await self._listed(our_number)

    async def _listed(self, our_number: str) -> Lookup:
        """The second way: CJ's order list filtered by our number."""
        data = await self._request(
            "GET",
            "/shopping/order/list",
            params={"orderIds": [our_number], "pageNum": "1", "pageSize": str(LIST_PAGE_SIZE)},
        )
        items = data.get("list") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise CJError(None, "the order list answered without a list")
        for item in items:
            if isinstance(item, dict) and our_number in (
                str(item.get("orderNum") or ""),
                str(item.get("orderId") or ""),
            ):
                return _lookup(item)
        return NOT_FOUND

    async def cancel(self, our_number: str, supplier_ref: str | None) -> bool:
        ref = supplier_ref or (await self.lookup(our_number)).supplier_ref
        if ref is None:
            return True  # CJ never had it
        try:
            await self._request("DELETE", "/shopping/order/deleteOrder", params={"orderId": ref})
        except CJError as exc:
            if exc.code is None:
                raise  # a 5xx or an answer that is not CJ's: tried again later
            # CJ refuses to delete: too late, unless an earlier delete whose answer was
            # lost got through (the order is gone, or shows as cancelled)
            found = await self.lookup(our_number)
            return not found.found or found.status == CANCELLED
        return True

    async def aclose(self) -> None:
        await self.client.aclose()


def _lookup(order: dict[str, Any]) -> Lookup:
    """An order as getOrderDetail or the order list show it."""
    track = order.get("trackNumber")
    page = order.get("trackingUrl")
    return Lookup(
        found=True,
        supplier_ref=str(order.get("orderId") or order.get("cjOrderId") or "") or None,
        status=order.get("orderStatus"),
        carrier=order.get("logisticName"),
        tracking_numbers=[str(track)] if track else [],
        shipped=bool(track) and order.get("orderStatus") in SHIPPED_STATES,
        # CJ's own tracking page, when it gives one (checked where the parcel is shipped)
        tracking_urls={str(track): str(page)} if track and isinstance(page, str) else {},
    )
