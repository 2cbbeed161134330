"""The buyer's pages, server-rendered (Jinja2, no script), in the order's language (en,
zh; ``?lang=`` overrides), readable on a phone. Reached from the link in the buyer's
e-mails (``/help/{token}``: :func:`dropship_common.tracking_links.signed_id`) or by
order number + e-mail (``/help``). Everything a form sends is checked before anything
is written; a client asking for JSON (``Accept: application/json``) gets the errors as
JSON with a stable code instead of the form."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from aftersales.buyer_page import guard
from aftersales.buyer_page.service import add_photos, report_problem
from aftersales.cases.repository import CaseRepository, OrderCopyRepository
from aftersales.config import AftersalesSettings, config_of
from aftersales.domain.cases import CaseStatus, CaseType
from aftersales.evidence.photos import Limits
from aftersales.evidence.storage import StorageFailed
from aftersales.evidence.uploads import Refused, check_uploads, uploaded
from aftersales.models import Case, OrderCopy, help_lookup_failures
from dropship_common import failure_limit
from dropship_common.db import utcnow
from dropship_common.deps import Runtime
from dropship_common.errors import AppError
from dropship_common.runtime import ServiceRuntime
from dropship_common.tracking_links import email_digest, id_of, signed_id

router = APIRouter(tags=["buyer pages"], include_in_schema=False)

TEMPLATES = Environment(
    loader=PackageLoader("aftersales.buyer_page", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
)
TEXTS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "texts.json").read_text(encoding="utf-8")
)
# the reasons a buyer picks, and the case each opens
REASONS: dict[str, CaseType] = {
    "wrong_item": CaseType.WRONG_ITEM,
    "quantity_short": CaseType.QUANTITY_SHORT,
    "damaged": CaseType.DAMAGED,
    "wrong_size": CaseType.WRONG_SIZE,
    "not_as_described": CaseType.NOT_AS_DESCRIBED,
    "not_received": CaseType.NOT_DELIVERED_IN_TIME,
}
MAX_WORDS = 5000
HEADERS = {
    "Cache-Control": "no-store",
    # the link token is in the address: never sent to another site; "same-origin" (not
    # "no-referrer") so that the browser sends our forms their real Origin, not "null"
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


class FormRefused(AppError):
    status_code = 422
    code = "form_invalid"


class PhotoRefusedError(AppError):
    status_code = 422
    code = "photo_refused"


class FormExpired(AppError):
    status_code = 403
    code = "form_expired"


class TooManyAttempts(AppError):
    status_code = 429
    code = "too_many_attempts"


class NoMatch(AppError):
    status_code = 404
    code = "order_not_found"


class CaseClosedForPhotos(AppError):
    status_code = 409
    code = "conflict"


class StorageUnavailable(AppError):
    status_code = 503
    code = "storage_unavailable"


def _language(requested: str | None, order: OrderCopy | None) -> str:
    for lang in (requested, order.language if order else None):
        if lang and lang.split("-")[0].lower() in TEXTS:
            return lang.split("-")[0].lower()
    return "en"


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(
        TEMPLATES.get_template(name).render(**context), status_code=status, headers=HEADERS
    )


def _message(lang: str, key: str, status: int) -> HTMLResponse:
    t = TEXTS[lang]
    return _page("message.html", status, lang=lang, t=t, message=t[key])


def _photos_label(t: dict[str, str], c: AftersalesSettings) -> str:
    return t["photos"].format(
        max=c.evidence_max_photos, mb=round(c.evidence_max_photo_bytes / 1024 / 1024)
    )


def _limits(c: AftersalesSettings) -> Limits:
    return Limits(max_bytes=c.evidence_max_photo_bytes, max_pixels=c.evidence_max_pixels)


async def _read_form(request: Request, c: AftersalesSettings) -> FormData | str:
    """The form, or the text key of why it could not be read."""
    try:
        return await request.form(
            max_files=c.evidence_max_photos, max_fields=200, max_part_size=64 * 1024
        )
    except (HTTPException, MultiPartException) as exc:
        detail = str(getattr(exc, "detail", None) or getattr(exc, "message", ""))
        return "err_too_many" if "files" in detail.lower() else "err_bad_form"


def _refusal_texts(t: dict[str, str], c: AftersalesSettings, refused: list[Refused]) -> list[str]:
    mb = round(c.evidence_max_photo_bytes / 1024 / 1024)
    return [
        t["err_photo"].format(
            n=r.index, name=r.name or "-", why=t[f"why_{r.reason.value}"].format(mb=mb)
        )
        for r in refused
    ]


def _refused_json(refused: list[Refused]) -> PhotoRefusedError:
    return PhotoRefusedError(
        "a photo was refused: nothing was stored",
        {"photos": [{"photo": r.index, "reason": r.reason.value, "message": r.message}
                    for r in refused]},
    )  # fmt: skip


# -- /help: find the order by number + e-mail --------------------------------------------


def _buckets(request: Request, number: str) -> list[str]:
    """What a failed look-up counts against: the client (behind a proxy, uvicorn's
    ``--forwarded-allow-ips`` makes it the forwarded address) and the order number (many
    clients guessing one order's e-mail)."""
    client = request.client.host if request.client else None
    out = [failure_limit.bucket("ip", client)]
    if number:
        out.append(failure_limit.bucket("order", number.lstrip("#").lower()))
    return out


def _lookup_page(lang: str, status: int = 200, errors: list[str] | None = None,
                 number: str = "") -> HTMLResponse:  # fmt: skip
    return _page(
        "lookup.html", status, lang=lang, t=TEXTS[lang], errors=errors or [], number=number,
        csrf=guard.form_token("lookup", "-"),
    )  # fmt: skip


@router.get("/help", response_class=HTMLResponse)
async def lookup_form(lang: str | None = Query(default=None, max_length=10)) -> HTMLResponse:
    return _lookup_page(_language(lang, None))


@router.post("/help")
async def lookup(
    request: Request, rt: Runtime, lang: str | None = Query(default=None, max_length=10)
) -> Response:
    language = _language(lang, None)
    t = TEXTS[language]
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    csrf, number = str(form.get("csrf", "")), str(form.get("number", "")).strip()[:64]
    email = str(form.get("email", "")).strip()[:254]
    if not guard.same_origin(request) or not guard.form_token_ok(csrf, "lookup", "-"):
        if _wants_json(request):
            raise FormExpired("the form's token is missing, expired or not ours")
        return _lookup_page(language, 403, [t["err_form"]], number)
    c, buckets = config_of(rt), _buckets(request, number)
    wait = await failure_limit.retry_after(
        rt.db, help_lookup_failures, buckets, max_failures=c.help_lookup_max_failures,
        window_seconds=c.help_lookup_window_seconds,
    )  # fmt: skip
    if wait is not None:
        if _wants_json(request):
            raise TooManyAttempts("too many failed look-ups", {"retry_after": wait})
        page = _lookup_page(language, 429, [t["lookup_limited"].format(wait=-(-wait // 60))])
        page.headers["retry-after"] = str(wait)
        return page
    order = None
    if number and "@" in email:
        digest = email_digest(email)
        async with rt.db.sessions() as session:
            repo = OrderCopyRepository(session)
            for candidate in dict.fromkeys([number, f"#{number.lstrip('#')}", number.lstrip("#")]):
                order = await repo.by_number_and_email(candidate, digest)
                if order is not None:
                    break
    if order is None:
        await failure_limit.record_failure(
            rt.db, help_lookup_failures, buckets, window_seconds=c.help_lookup_window_seconds
        )
        if _wants_json(request):  # says nothing of which part was wrong
            raise NoMatch("no order with that number and e-mail")
        return _lookup_page(language, 404, [t["lookup_miss"]], number)
    target = f"/help/{signed_id('order', order.order_id)}"
    return RedirectResponse(f"{target}?lang={lang}" if lang else target, status_code=303)


# -- /help/{token}: report a problem ----------------------------------------------------


@dataclass
class Report:
    reason: str = ""
    words: str = ""
    quantities: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


async def _order(rt: ServiceRuntime, token: str) -> OrderCopy | None:
    order_id = id_of("order", token) if len(token) <= 64 else None
    if order_id is None:
        return None
    async with rt.db.sessions() as session:
        order = await OrderCopyRepository(session).get_order(order_id)
    return order if order is not None and order.redacted_at is None else None


def _help_page(order: OrderCopy, token: str, lang: str, c: AftersalesSettings,
               report: Report | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    t, report = TEXTS[lang], report or Report()
    lines = [
        {"line_id": str(line["line_id"]), "title": line.get("title") or line.get("sku") or "-",
         "quantity": int(line["quantity"])}
        for line in order.lines
    ]  # fmt: skip
    return _page(
        "help.html", status, lang=lang, t=t, token=token, number=order.number or "",
        lines=lines, chosen=report.quantities, reasons=list(REASONS), reason=report.reason,
        description=report.words, errors=report.errors, photos_label=_photos_label(t, c),
        csrf=guard.form_token("help", token),
    )  # fmt: skip


def _parse_report(form: FormData, order: OrderCopy, t: dict[str, str]) -> Report:
    report = Report(
        reason=str(form.get("reason", "")), words=str(form.get("description", "")).strip()
    )
    if report.reason not in REASONS:
        report.errors.append(t["err_reason"])
    if len(report.words) > MAX_WORDS:
        report.errors.append(t["err_description"])
    too_many = False
    for line in order.lines:
        line_id = str(line["line_id"])
        raw = str(form.get(f"qty_{line_id}", "") or "0").strip()
        quantity = int(raw) if raw.isdigit() and len(raw) <= 6 else -1
        if quantity < 0 or quantity > int(line["quantity"]):
            too_many = True
        elif quantity > 0:
            report.quantities[line_id] = quantity
    if too_many:
        report.errors.append(t["err_quantity"])
    elif not report.quantities:
        report.errors.append(t["err_lines"])
    return report


@router.get("/help/{token}", response_class=HTMLResponse)
async def help_form(
    token: str, rt: Runtime, lang: str | None = Query(default=None, max_length=10)
) -> HTMLResponse:
    order = await _order(rt, token)
    if order is None:
        return _message(_language(lang, None), "not_found", 404)
    return _help_page(order, token, _language(lang, order), config_of(rt))


def _case_link(case_id: uuid.UUID, lang: str | None) -> str:
    link = f"/cases/{signed_id('case', case_id)}"
    return f"{link}?lang={lang}" if lang else link


@router.post("/help/{token}")
async def report(
    token: str, request: Request, rt: Runtime,
    lang: str | None = Query(default=None, max_length=10),
) -> Response:  # fmt: skip
    c = config_of(rt)
    as_json = _wants_json(request)
    order = await _order(rt, token)
    if order is None:
        if as_json:
            raise NoMatch("no such order")
        return _message(_language(lang, None), "not_found", 404)
    language = _language(lang, order)
    t = TEXTS[language]
    form = await _read_form(request, c)
    if isinstance(form, str):
        if as_json:
            raise FormRefused(t[form].format(max=c.evidence_max_photos))
        failed = Report(errors=[t[form].format(max=c.evidence_max_photos)])
        return _help_page(order, token, language, c, failed, 400)
    if not guard.same_origin(request) or not guard.form_token_ok(
        str(form.get("csrf", "")), "help", token
    ):
        if as_json:
            raise FormExpired("the form's token is missing, expired or not ours")
        return _help_page(order, token, language, c, Report(errors=[t["err_form"]]), 403)
    parsed = _parse_report(form, order, t)
    photos, refused = await check_uploads(uploaded(form.getlist("photos")), _limits(c))
    if parsed.errors or refused:
        if as_json:
            raise (
                _refused_json(refused)
                if refused
                else FormRefused("the report is incomplete", {"errors": parsed.errors})
            )
        parsed.errors += _refusal_texts(t, c, refused)
        return _help_page(order, token, language, c, parsed, 422)
    type_ = REASONS[parsed.reason]
    try:
        case_id, new = await report_problem(
            rt, order, type_=type_, quantities=parsed.quantities,
            words=parsed.words or None, photos=photos, now=utcnow(),
        )  # fmt: skip
    except StorageFailed as exc:
        if as_json:
            raise StorageUnavailable("the photos could not be stored: try again") from exc
        return _help_page(order, token, language, c,
                          Report(errors=[t["err_storage"]]), 503)  # fmt: skip
    link = _case_link(case_id, lang)
    if as_json:
        return JSONResponse({"case_page": link, "new": new}, status_code=201 if new else 200)
    return RedirectResponse(link, status_code=303)


# -- /cases/{token}: where the case is; more photos when it waits for them -------------


async def _case(rt: ServiceRuntime, token: str) -> tuple[Case, OrderCopy | None] | None:
    case_id = id_of("case", token) if len(token) <= 64 else None
    if case_id is None:
        return None
    async with rt.db.sessions() as session:
        case = await CaseRepository(session).get(case_id)
        order = await OrderCopyRepository(session).get_order(case.order_id) if case else None
    return (case, order) if case is not None else None


def _case_page(case: Case, order: OrderCopy | None, token: str, lang: str,
               c: AftersalesSettings, errors: list[str] | None = None,
               status: int = 200) -> HTMLResponse:  # fmt: skip
    t = TEXTS[lang]
    return _page(
        "case.html", status, lang=lang, t=t, token=token, errors=errors or [],
        status_text=t.get(f"st_{case.status}", case.status),
        next_text=t.get(f"next_{case.status}", ""),
        type_text=t.get(f"type_{case.type}", case.type),
        lines=[{"title": line.get("title") or line.get("sku") or "-",
                "quantity": int(line["quantity"])} for line in case.lines],
        photo_count=sum(1 for e in case.evidence if isinstance(e, dict) and "key" in e),
        can_add=case.status == CaseStatus.AWAITING_BUYER.value,
        photos_label=_photos_label(t, c), csrf=guard.form_token("evidence", token),
    )  # fmt: skip


@router.get("/cases/{token}", response_class=HTMLResponse)
async def case_page(
    token: str, rt: Runtime, lang: str | None = Query(default=None, max_length=10)
) -> HTMLResponse:
    found = await _case(rt, token)
    if found is None:
        return _message(_language(lang, None), "not_found", 404)
    case, order = found
    return _case_page(case, order, token, _language(lang, order), config_of(rt))


@router.post("/cases/{token}/evidence")
async def more_photos(
    token: str, request: Request, rt: Runtime,
    lang: str | None = Query(default=None, max_length=10),
) -> Response:  # fmt: skip
    c = config_of(rt)
    as_json = _wants_json(request)
    found = await _case(rt, token)
    if found is None:
        if as_json:
            raise NoMatch("no such case")
        return _message(_language(lang, None), "not_found", 404)
    case, order = found
    language = _language(lang, order)
    t = TEXTS[language]
    form = await _read_form(request, c)
    if isinstance(form, str):
        message = t[form].format(max=c.evidence_max_photos)
        if as_json:
            raise FormRefused(message)
        return _case_page(case, order, token, language, c, [message], 400)
    if not guard.same_origin(request) or not guard.form_token_ok(
        str(form.get("csrf", "")), "evidence", token
    ):
        if as_json:
            raise FormExpired("the form's token is missing, expired or not ours")
        return _case_page(case, order, token, language, c, [t["err_form"]], 403)
    uploads = uploaded(form.getlist("photos"))
    photos, refused = await check_uploads(uploads, _limits(c))
    if refused or not uploads:
        if as_json:
            raise _refused_json(refused) if refused else FormRefused(t["err_no_photo"])
        errors = _refusal_texts(t, c, refused) if refused else [t["err_no_photo"]]
        return _case_page(case, order, token, language, c, errors, 422)
    try:
        added = await add_photos(rt, case.id, photos, utcnow())
    except StorageFailed as exc:
        if as_json:
            raise StorageUnavailable("the photos could not be stored: try again") from exc
        return _case_page(case, order, token, language, c, [t["err_storage"]], 503)
    if not added:
        if as_json:
            raise CaseClosedForPhotos("the case does not wait for photos")
        return _case_page(case, order, token, language, c, [t["err_closed"]], 409)
    link = f"/cases/{token}?lang={lang}" if lang else f"/cases/{token}"
    if as_json:
        return JSONResponse({"case_page": link}, status_code=201)
    return RedirectResponse(link, status_code=303)
