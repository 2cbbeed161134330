"""One error model for every API: ``{"error": {"code", "message", "details"}}``.

Services raise typed subclasses of :class:`AppError`; the handlers installed by
:func:`install_error_handlers` turn them (and validation errors, unknown routes, crashes)
into that JSON shape with a stable code. A stack trace never reaches a client.
"""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dropship_common.messaging.bus import BusError

log = structlog.get_logger(__name__)


class AppError(Exception):
    """Base of every error a client may see."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class InvalidJSON(AppError):
    status_code = 400
    code = "invalid_json"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class InvalidSignature(AppError):
    status_code = 401
    code = "invalid_signature"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"


class DestinationNotAllowed(AppError):
    """A URL or domain we would call is one we never call (inside our network, with
    credentials in it, not https in distributed mode, not a storefront's domain)."""

    status_code = 422
    code = "url_not_allowed"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class ErrorDetail(BaseModel):
    code: str  # stable: what a client branches on
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail


def error_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status with the error body and what it means."""
    return {status: {"model": ErrorOut, "description": text} for status, text in described.items()}


# what any route may answer, whatever it does (the middleware, auth and handlers above)
COMMON_ERRORS: dict[int, str] = {
    401: "no or an unknown API key, or a bad webhook signature (unauthorized, ...)",
    403: "the key's role may not do this (forbidden)",
    413: "the body is larger than DROPSHIP_MAX_BODY_BYTES (payload_too_large)",
    422: "a parameter or the body is invalid (validation_error, invalid_value)",
    503: "the database or the broker is unavailable; send it again later (unavailable)",
}
BODY_ERRORS: dict[int, str] = {400: "the body is not valid JSON (invalid_json, bad_request)"}
PATH_ERRORS: dict[int, str] = {404: "nothing with that id (not_found, ...)"}
WRITE_ERRORS: dict[int, str] = {
    409: "it conflicts with what is stored, or was changed concurrently (conflict, ...)"
}


def declare_common_errors(app: FastAPI) -> None:
    """Declare in each operation's OpenAPI ``responses`` the errors every route may
    answer, plus 400 where it takes a body, 404 where its path names something and 409
    where it writes (the IntegrityError handler); what a route declares itself wins.
    Done on the generated document: an included router's routes are not the app's."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            _add_common_errors(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_common_errors(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    ref_template = "#/components/schemas/{model}"
    error_schema = ErrorOut.model_json_schema(ref_template=ref_template)
    components.update(error_schema.pop("$defs", {}))
    components.setdefault("ErrorOut", error_schema)
    content = {"application/json": {"schema": {"$ref": ref_template.format(model="ErrorOut")}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            described = dict(COMMON_ERRORS)
            if "requestBody" in operation:
                described.update(BODY_ERRORS)
            if method != "get":
                described.update(WRITE_ERRORS)
            if any(p.get("in") == "path" for p in operation.get("parameters", ())):
                described.update(PATH_ERRORS)
            responses = operation.setdefault("responses", {})
            for status, text in described.items():
                responses.setdefault(str(status), {"description": text, "content": content})


def _json_safe_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        item = {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        out.append(item)
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _json_safe_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            return JSONResponse(
                error_body("invalid_json", "the body is not valid JSON", errors), status_code=400
            )
        return JSONResponse(
            error_body("validation_error", "the request is invalid", errors),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(
            exc.__cause__, UnicodeDecodeError | RecursionError
        ):
            # FastAPI's answer to a JSON body it could not decode other than by a
            # JSONDecodeError: not UTF-8 (UnicodeDecodeError), nested past the parser's
            # depth (RecursionError). The client's JSON is at fault, as with a syntax error.
            return JSONResponse(
                error_body("invalid_json", "the body is not valid JSON (UTF-8, nesting)"),
                status_code=400,
            )
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DBAPIError) -> JSONResponse:
        # a value the database cannot hold (too long, out of range): the input's fault
        return JSONResponse(
            error_body("invalid_value", "a value is too long or out of range"), status_code=422
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # two requests created the same thing at once: the loser hears so
        return JSONResponse(
            error_body("conflict", "it was changed concurrently; retry"), status_code=409
        )

    async def _unreachable(_: Request, exc: Exception) -> JSONResponse:
        # the database (or another dependency) cannot be reached: nothing was done, and a
        # 503 tells the caller (a storefront, a supplier, an operator) to send it again
        log.warning("dependency_unavailable", error_type=type(exc).__name__)
        return JSONResponse(
            error_body("unavailable", "a dependency is unavailable; try again later"),
            status_code=503,
        )

    for unreachable in (ConnectionError, OperationalError, InterfaceError, BusError):
        app.add_exception_handler(unreachable, _unreachable)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        # asyncpg's data exceptions (SQLSTATE class 22: a string too long for its column,
        # a number out of range) reach us as a bare DBAPIError, not as DataError
        if str(getattr(exc.orig, "sqlstate", "") or "").startswith("22"):
            return await _data(request, exc)
        return await _crash(request, exc)

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error_type=type(exc).__name__)
        return JSONResponse(
            error_body("internal_error", "an internal error occurred"), status_code=500
        )
