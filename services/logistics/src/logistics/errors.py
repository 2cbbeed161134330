"""Errors of logistics' API (stable codes, beside dropship_common's)."""

from __future__ import annotations

from dropship_common.errors import AppError


class ProviderUnavailableError(AppError):
    """The tracking provider did not take a change; nothing was changed here."""

    status_code = 503
    code = "provider_unavailable"
