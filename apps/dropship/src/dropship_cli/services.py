"""The four services, by name: their app factories and migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from fastapi import FastAPI

import aftersales
import logistics
import order_intake
import supplier_gateway
from aftersales.main import SPEC as AFTERSALES
from aftersales.main import create_app as aftersales_app
from dropship_common.migrate import find_migrations
from dropship_common.runtime import ServiceSpec
from logistics.main import SPEC as LOGISTICS
from logistics.main import create_app as logistics_app
from order_intake.main import SPEC as ORDER_INTAKE
from order_intake.main import create_app as order_intake_app
from supplier_gateway.main import SPEC as SUPPLIER_GATEWAY
from supplier_gateway.main import create_app as supplier_gateway_app

PACKAGES: dict[str, ModuleType] = {
    "order-intake": order_intake,
    "supplier-gateway": supplier_gateway,
    "logistics": logistics,
    "aftersales": aftersales,
}

APP_FACTORIES: dict[str, Callable[..., FastAPI]] = {
    "order-intake": order_intake_app,
    "supplier-gateway": supplier_gateway_app,
    "logistics": logistics_app,
    "aftersales": aftersales_app,
}


SPECS: dict[str, ServiceSpec] = {
    "order-intake": ORDER_INTAKE,
    "supplier-gateway": SUPPLIER_GATEWAY,
    "logistics": LOGISTICS,
    "aftersales": AFTERSALES,
}


def migrations_dir(service: str) -> Path:
    return find_migrations(str(PACKAGES[service].__file__))


def all_migrations() -> dict[str, Path]:
    return {name: migrations_dir(name) for name in PACKAGES}
