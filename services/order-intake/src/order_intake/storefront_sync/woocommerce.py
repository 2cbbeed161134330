"""WooCommerce REST API v3: orders modified since the last sync, and the shop's webhooks.

Orders: ``GET /wp-json/wc/v3/orders?modified_after=…&dates_are_gmt=true&orderby=id&
order=asc&per_page=100&page=N`` until ``X-WP-TotalPages``. ``orderby`` takes only
``date``, ``id``, ``include``, ``title`` and ``slug`` in the documentation
(https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders), so not
``modified``; by id a page never skips an order when one changes during the walk (a
newly changed order can only push the others later: seen twice, never missed).
``per_page`` is at most 100 (WordPress's collection limit,
https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/). The order
resource is the webhook's body: "for API resources … the response is exactly the same
as if requested via the REST API"
(https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks).

Webhooks: ``GET /webhooks`` (every status); ours are those whose delivery URL ends
with our path for the shop. WooCommerce disables a webhook after 5 failed deliveries in
a row ("must be edited via the REST API to re-enable"): a ``disabled`` or ``paused``
one is set back to ``active`` (``PUT /webhooks/{id}``); a missing topic is created
(``POST /webhooks`` with the shop's webhook secret) when our public URL is known.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import httpx
import orjson

from order_intake.fulfilment.base import StorefrontRejected, StorefrontUnavailable
from order_intake.fulfilment.http_errors import calling, check_status
from order_intake.storefront_sync.base import (
    FetchedOrder,
    StorefrontApi,
    WebhookHealth,
    WebhookTarget,
    summarise,
)
from order_intake.storefronts import to_utc

API = "/wp-json/wc/v3"
PER_PAGE = 100
MAX_PAGES = 1000  # a guard against a store that never stops answering pages
# the topics the README asks merchants to subscribe
TOPICS = ("order.created", "order.updated", "order.deleted")
# the 404 of an order id WooCommerce does not have (another 404, e.g. WordPress's
# ``rest_no_route``, says nothing of the order)
GONE = "woocommerce_rest_shop_order_invalid_id"


def _gmt(value: dt.datetime) -> str:
    """ISO 8601 without a zone, as the ``*_gmt`` fields are written."""
    return value.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _modified(order: Mapping[str, Any]) -> dt.datetime | None:
    raw = order.get("date_modified_gmt") or order.get("date_modified")
    if not isinstance(raw, str):
        return None
    try:
        return to_utc(dt.datetime.fromisoformat(raw))
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message") if isinstance(body, Mapping) else body)[:200]


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("code")) if isinstance(body, Mapping) else None


class WooCommerceApi(StorefrontApi):
    platform: ClassVar[str] = "woocommerce"

    @property
    def auth(self) -> tuple[str, str]:
        values = [self.shop.credentials.get(k) for k in ("consumer_key", "consumer_secret")]
        if not all(isinstance(v, str) and v for v in values):
            raise StorefrontRejected("the shop's admin credentials need consumer_key/secret")
        return str(values[0]), str(values[1])

    async def current_order(self, external_id: str) -> bytes | None:
        """``GET /orders/{id}``: a trashed order is still there (``status: trash``);
        one deleted for good is WooCommerce's 404 ``woocommerce_rest_shop_order_invalid_id``."""
        what = "read order"
        async with calling(what):
            response = await self.client.get(f"{API}/orders/{int(external_id)}", auth=self.auth)
        if response.status_code == 404 and _code(response) == GONE:
            return None
        if response.status_code in (401, 403):
            raise StorefrontRejected(f"{what}: HTTP {response.status_code}: {_message(response)}")
        check_status(response, what, time.time())
        try:
            order = response.json()
        except ValueError as exc:
            raise StorefrontUnavailable(f"{what}: the answer is not JSON") from exc
        if not isinstance(order, Mapping) or str(order.get("id")) != str(int(external_id)):
            raise StorefrontUnavailable(f"{what}: the answer is not order {external_id}")
        return orjson.dumps(order)

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        async with calling(what):
            response = await self.client.request(
                method, f"{API}{path}", params=params, json=body, auth=self.auth
            )
        if response.status_code in (401, 403):  # Woo says why: a wrong key, a read-only one
            raise StorefrontRejected(f"{what}: HTTP {response.status_code}: {_message(response)}")
        check_status(response, what, time.time())
        try:
            return response.json(), response.headers
        except ValueError as exc:
            raise StorefrontUnavailable(f"{what}: the answer is not JSON") from exc

    async def _pages(
        self, path: str, what: str, params: dict[str, Any]
    ) -> AsyncIterator[list[Mapping[str, Any]]]:
        page = 1
        while page <= MAX_PAGES:
            found, headers = await self._call(
                "GET", path, what, params={**params, "per_page": PER_PAGE, "page": page}
            )
            if not isinstance(found, list):
                raise StorefrontUnavailable(f"{what}: the answer is not a list")
            yield [item for item in found if isinstance(item, Mapping)]
            try:
                pages = int(headers.get("x-wp-totalpages") or 0)
            except ValueError:
                pages = 0
            if page >= pages or not found:
                return
            page += 1

    async def changed_orders(self, since: dt.datetime) -> AsyncIterator[list[FetchedOrder]]:
        params = {
            "modified_after": _gmt(since),
            "dates_are_gmt": "true",
            "orderby": "id",
            "order": "asc",
        }
        # ``status`` defaults to ``any``, which leaves out the trash: trashed orders are
        # a listing of their own (a lost ``order.deleted`` must not leave one to ship)
        listings = (
            ("list orders", params),
            ("list trashed orders", {**params, "status": "trash"}),
        )
        for what, listing in listings:
            async for fetched in self._changed(what, listing):
                yield fetched

    async def _changed(
        self, what: str, params: dict[str, Any]
    ) -> AsyncIterator[list[FetchedOrder]]:
        async for page in self._pages("/orders", what, params):
            fetched = []
            for order in page:
                modified = _modified(order)
                if order.get("id") is None or modified is None:
                    continue  # not an order we could ingest; the intake would refuse it
                fetched.append(
                    FetchedOrder(str(order["id"]), modified, "order.updated", orjson.dumps(order))
                )
            yield fetched

    async def check_webhooks(self, target: WebhookTarget) -> WebhookHealth:
        hooks: list[Mapping[str, Any]] = []
        async for page in self._pages("/webhooks", "list webhooks", {}):
            hooks += page
        ours = [h for h in hooks if str(h.get("delivery_url") or "").endswith(target.path)]
        problems: list[str] = []
        repairs: list[str] = []
        for topic in TOPICS:
            mine = [h for h in ours if h.get("topic") == topic]
            if any(h.get("status") == "active" for h in mine):
                continue
            if not mine and target.callback_url is None:
                problems.append(
                    f"{topic}: no webhook; not created because DROPSHIP_WEBHOOK_BASE_URL is unset"
                )
                continue
            try:
                repairs.append(await self._repair(topic, mine, target))
            except StorefrontRejected as exc:  # e.g. a read-only key
                problems.append(f"{topic}: could not be repaired: {exc}")
        return summarise(problems, repairs)

    async def _repair(
        self, topic: str, mine: list[Mapping[str, Any]], target: WebhookTarget
    ) -> str:
        if mine:
            hook = mine[0]
            await self._call(
                "PUT", f"/webhooks/{hook['id']}", "enable webhook", body={"status": "active"}
            )
            return f"{topic}: webhook {hook['id']} was {hook.get('status')}, enabled"
        created, _ = await self._call(
            "POST",
            "/webhooks",
            "create webhook",
            body={
                "name": f"dropship {topic}",
                "topic": topic,
                "delivery_url": target.callback_url,
                "secret": target.secret,
                "status": "active",
            },
        )
        ref = created.get("id") if isinstance(created, Mapping) else None
        return f"{topic}: webhook was missing, created ({ref})"
