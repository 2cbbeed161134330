"""order-intake's own settings."""

import pytest
from pydantic import ValidationError

from order_intake.config import OrderIntakeSettings


def test_shopify_api_version_is_a_stable_quarterly_version(monkeypatch) -> None:
    assert OrderIntakeSettings().shopify_api_version == "2026-10"  # supported on 2026-12
    monkeypatch.setenv("DROPSHIP_SHOPIFY_API_VERSION", "2026-07")
    assert OrderIntakeSettings().shopify_api_version == "2026-07"
    for wrong in ("2026-02", "unstable", "2026-7", "latest"):
        with pytest.raises(ValidationError, match="DROPSHIP_SHOPIFY_API_VERSION"):
            OrderIntakeSettings(shopify_api_version=wrong)


def test_a_shared_instance_becomes_the_service_s_own(monkeypatch, tmp_path) -> None:
    """The shared values carry over as they are; the service's own come from the
    environment (what the embedded runner and the CLI rely on)."""
    from dropship_common.settings import Settings

    monkeypatch.setenv("DROPSHIP_WEBHOOK_BASE_URL", "https://hooks.example.com")
    shared = Settings(data_dir=tmp_path, log_level="DEBUG").for_service("order-intake")
    own = shared.as_config(OrderIntakeSettings)
    assert isinstance(own, OrderIntakeSettings)
    assert own.log_level == "DEBUG" and own.database_url == shared.database_url
    assert own.webhook_base_url == "https://hooks.example.com"
    assert own.as_config(OrderIntakeSettings) is own
    assert not hasattr(shared, "webhook_base_url")
