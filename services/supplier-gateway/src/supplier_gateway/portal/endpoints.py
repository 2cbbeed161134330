"""``/portal``: a supplier signs in with its key, which is exchanged for a server-side
session (see :mod:`.sessions`; the cookie holds only the random session id), sees its
open orders as shipping notices, and accepts, rejects or ships them. Forms are plain
HTML posts: it works without JavaScript.

Every POST is checked for the portal's own origin (:mod:`.origin`) and a CSRF token
(the session's; on the sign-in form, a random one also set in a short-lived cookie).
Failed sign-ins are limited per client and per key id (:mod:`.login_limit`). The forms
are validated with the same schemas as the supplier API (``supplier_orders.schemas``):
the same limits, shown on the page (400) instead of a JSON error."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from dropship_common.deps import Runtime
from dropship_common.errors import AppError, NotFound
from dropship_common.runtime import ServiceRuntime
from supplier_gateway.config import config_of
from supplier_gateway.models import Supplier
from supplier_gateway.portal import login_limit, pages, sessions
from supplier_gateway.portal.origin import same_origin
from supplier_gateway.supplier_notices.repository import SupplierNoticeRepository
from supplier_gateway.supplier_orders import actions
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository
from supplier_gateway.supplier_orders.schemas import Reject, Ship

router = APIRouter(prefix="/portal", tags=["supplier portal"], include_in_schema=False)

COOKIE = "dropship_portal"  # the session id
LOGIN_COOKIE = "dropship_portal_login"  # the sign-in form's CSRF token
LOGIN_TOKEN_SECONDS = 3600


def _set_cookie(rt: ServiceRuntime, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/portal",
        httponly=True,
        samesite="strict",
        secure=config_of(rt).mode == "distributed",
    )


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _refused(message: str) -> HTMLResponse:
    return HTMLResponse(pages.refused(message), status_code=403)


CROSS_SITE = "This form was not sent from the supplier portal's own pages."
STALE_FORM = "This form has expired: go back, reload the page and try again."


def _login_form(rt: ServiceRuntime, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = HTMLResponse(pages.login(token, error), status_code=status)
    _set_cookie(rt, response, LOGIN_COOKIE, token, LOGIN_TOKEN_SECONDS)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(rt: Runtime) -> Response:
    return _login_form(rt)


@router.post("/login")
async def login(request: Request, rt: Runtime) -> Response:
    if not same_origin(config_of(rt), request):
        return _refused(CROSS_SITE)
    form = await _form(request)
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not token or not secrets.compare_digest(token.encode(), form.get("csrf", "").encode()):
        return _login_form(rt, STALE_FORM, 403)
    key = form.get("key", "").strip()
    client = request.client.host if request.client else None
    limited = login_limit.buckets(client, key)
    wait = await login_limit.retry_after(rt, limited)
    if wait is not None:
        response = _login_form(rt, f"Too many failed sign-ins: try again in {wait} s.", 429)
        response.headers["retry-after"] = str(wait)
        return response
    found = await sessions.supplier_for_key(rt, key)
    if found is None:
        await login_limit.record_failure(rt, limited)
        return _login_form(rt, "That key is not valid.", 401)
    await sessions.end(rt, request.cookies.get(COOKIE, ""))  # never reuse a session id
    session_id = await sessions.start(rt, *found)
    response = RedirectResponse("/portal", status_code=303)
    _set_cookie(rt, response, COOKIE, session_id, int(config_of(rt).portal_session_max_seconds))
    response.delete_cookie(LOGIN_COOKIE, path="/portal")
    return response


@router.post("/logout")
async def logout(request: Request, rt: Runtime) -> Response:
    if not same_origin(config_of(rt), request):
        return _refused(CROSS_SITE)
    session_id = request.cookies.get(COOKIE, "")
    form = await _form(request)
    if not sessions.csrf_ok(rt, session_id, form.get("csrf", "")):
        return _refused(STALE_FORM)
    await sessions.end(rt, session_id)
    response = RedirectResponse("/portal/login", status_code=303)
    response.delete_cookie(COOKIE, path="/portal")
    return response


@router.get("", response_class=HTMLResponse)
async def my_orders(request: Request, rt: Runtime) -> Response:
    session_id = request.cookies.get(COOKIE, "")
    supplier = await sessions.current(rt, session_id)
    if supplier is None:
        return RedirectResponse("/portal/login", status_code=303)
    async with rt.db.sessions() as session:
        rows = await SupplierOrderRepository(session).open_of_supplier(supplier.id)
    return HTMLResponse(pages.orders(supplier.name, rows, sessions.csrf_token(rt, session_id)))


async def _signed_in(request: Request, rt: ServiceRuntime) -> Supplier:
    supplier = await sessions.current(rt, request.cookies.get(COOKIE, ""))
    if supplier is None:
        raise NotFound("sign in at /portal/login")
    return supplier


async def _order_page(
    request: Request,
    rt: ServiceRuntime,
    supplier: Supplier,
    order_id: uuid.UUID,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with rt.db.sessions() as session:
        row = await SupplierOrderRepository(session).for_supplier(supplier.id, order_id, lock=False)
        notices = await SupplierNoticeRepository(session).of_supplier_order(order_id)
    if row is None:
        raise NotFound(f"no supplier order {order_id}")
    csrf = sessions.csrf_token(rt, request.cookies.get(COOKIE, ""))
    cases = [n.payload for n in notices]
    return HTMLResponse(pages.order(row, csrf, error, cases), status_code=status)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def one_order(order_id: uuid.UUID, request: Request, rt: Runtime) -> HTMLResponse:
    return await _order_page(request, rt, await _signed_in(request, rt), order_id)


_LABELS = {
    "carrier": "Carrier",
    "tracking_numbers": "Tracking numbers",
    "reason": "Reason",
    "note": "Note",
    "restock_date": "Restock date",
}


def _readable(exc: ValidationError) -> str:
    """``Tracking numbers: List should have at most 20 items …`` for each error."""
    return "; ".join(
        f"{_LABELS.get(str(e['loc'][0]), str(e['loc'][0])) if e['loc'] else 'Form'}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    )


def _validated(action: str, form: dict[str, str]) -> BaseModel | None:
    """The form as the API's body for ``action`` (None for accept, which has none)."""
    if action == "ship":
        numbers = [t for t in form.get("tracking", "").replace(",", "\n").splitlines() if t.strip()]
        return Ship.model_validate(
            {"carrier": form.get("carrier", ""), "tracking_numbers": numbers}
        )
    if action == "reject":
        return Reject.model_validate(
            {
                "reason": form.get("reason", ""),
                "note": form.get("note") or None,
                "restock_date": form.get("restock_date") or None,
            }
        )
    if action == "accept":
        return None
    raise NotFound(f"no action {action}")


@router.post("/orders/{order_id}/{action}")
async def act(order_id: uuid.UUID, action: str, request: Request, rt: Runtime) -> Response:
    if not same_origin(config_of(rt), request):
        return _refused(CROSS_SITE)
    supplier = await _signed_in(request, rt)
    form = await _form(request)
    if not sessions.csrf_ok(rt, request.cookies.get(COOKIE, ""), form.get("csrf", "")):
        return _refused(STALE_FORM)
    try:
        data = _validated(action, form)
    except ValidationError as exc:
        return await _order_page(request, rt, supplier, order_id, _readable(exc), 400)
    actor = f"supplier:{supplier.id}"
    try:
        async with rt.db.transaction() as session:
            row = await actions.load_for_supplier(session, order_id, supplier.id)
            if isinstance(data, Reject):
                await actions.reject(
                    session, rt.outbox, row, actor, data.reason, data.note, data.restock_date
                )
            elif isinstance(data, Ship):
                await actions.ship(
                    session, rt.outbox, row, actor, data.carrier, data.tracking_numbers
                )
            else:
                await actions.accept(session, row, actor)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        details = f" {exc.details}" if exc.details else ""
        return await _order_page(
            request, rt, supplier, order_id, f"{exc.message}{details}", exc.status_code
        )
    return RedirectResponse(f"/portal/orders/{order_id}", status_code=303)
