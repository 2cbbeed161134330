"""The error handlers: what used to answer 500 (issue 11 §8, found by the fuzzer)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from dropship_common.errors import install_error_handlers
from dropship_common.messaging.bus import BusError


class _PgError(Exception):
    """What SQLAlchemy's asyncpg adapter raises: the server's SQLSTATE on ``sqlstate``."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/bus")
    async def bus() -> None:
        raise BusError("open dlq: NOT_FOUND")

    @app.get("/db/{sqlstate}")
    async def db(sqlstate: str) -> None:
        raise DBAPIError("INSERT ...", None, _PgError(sqlstate))

    return app


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_broker_trouble_is_503_unavailable() -> None:
    r = await _get("/bus")
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"


async def test_a_data_exception_from_the_driver_is_422_invalid_value() -> None:
    r = await _get("/db/22001")  # string_data_right_truncation (value too long)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value"
    r = await _get("/db/XX000")  # anything else stays an internal error
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
