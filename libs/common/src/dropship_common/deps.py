"""FastAPI dependencies every service uses: its runtime and the caller's role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dropship_common.auth import Principal, require_role
from dropship_common.runtime import ServiceRuntime
from dropship_common.security import Role


async def get_runtime(request: Request) -> ServiceRuntime:
    """Async on purpose: FastAPI runs a plain ``def`` dependency in a thread pool,
    which costs a thread hand-off on every request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
