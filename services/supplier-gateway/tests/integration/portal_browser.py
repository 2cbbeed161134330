"""A supplier's browser in the portal, as the tests drive it: its own cookie jar, over
https (the session cookie is Secure in distributed mode), sending ``Origin`` as a
browser does, and posting each form with the CSRF token the last page carried."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

ORIGIN = "https://testserver"
FORM = {"content-type": "application/x-www-form-urlencoded"}
_CSRF = re.compile(r"name='csrf' value='([^']*)'")


class Browser:
    def __init__(self, app: FastAPI, ip: str = "127.0.0.1") -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(ip, 50000)),
            base_url=ORIGIN,
            headers={"origin": ORIGIN},
        )
        self.csrf = ""

    async def get(self, path: str) -> httpx.Response:
        r = await self.client.get(path)
        if m := _CSRF.search(r.text):
            self.csrf = m[1]
        return r

    async def post(
        self, path: str, form: dict[str, str] | str = "", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Posts ``form`` (a dict, or a body already url-encoded) with the CSRF token."""
        body = form if isinstance(form, str) else urlencode(form)
        body = (
            f"{body}&{urlencode({'csrf': self.csrf})}" if body else urlencode({"csrf": self.csrf})
        )
        r = await self.client.post(path, headers={**FORM, **(headers or {})}, content=body)
        if m := _CSRF.search(r.text):
            self.csrf = m[1]
        return r

    async def login(self, key: str) -> httpx.Response:
        """Signs in with ``key`` (a fresh jar, as another browser would be)."""
        self.client.cookies.clear()
        await self.get("/portal/login")
        r = await self.post("/portal/login", {"key": key})
        if r.status_code == 303:
            await self.get("/portal")  # the session's token, as its first page carries
        return r


@pytest.fixture
async def browser_for() -> AsyncIterator[Callable[..., Browser]]:
    """``browser_for(gw, ip=…)``: a new browser on the service ``gw`` from client address
    ``ip`` (closed at the end)."""
    opened: list[Browser] = []

    def open_one(gw: object, ip: str = "127.0.0.1") -> Browser:
        browser = Browser(gw.app, ip)  # type: ignore[attr-defined]
        opened.append(browser)
        return browser

    yield open_one
    for b in opened:
        await b.client.aclose()
