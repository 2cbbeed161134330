"""The ceiling for order-intake's webhook endpoint: a bare FastAPI app that reads the
body, parses it into the same pydantic model of the Shopify order and answers.

Run as ``python -m bench.bare PORT``; uvicorn is started exactly as ``dropship serve``
starts a service (single worker, uvicorn's defaults for loop and HTTP parser, i.e.
uvloop and httptools when installed, ``log_config=None``, ``access_log=False``).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request

from order_intake.storefronts.shopify import ShopifyOrder

app = FastAPI()


@app.post("/webhooks/shopify")
async def shopify_webhook(request: Request) -> dict[str, str]:
    body = await request.body()
    ShopifyOrder.model_validate_json(body)
    return {"status": "accepted"}


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


def main() -> None:
    port = int(sys.argv[1])
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
