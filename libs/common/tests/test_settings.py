import pytest
from pydantic import ValidationError

from dropship_common.settings import DEV_SECRET, Settings


def test_embedded_mode_accepts_development_defaults(tmp_path) -> None:
    s = Settings(data_dir=tmp_path).for_service("order-intake")
    assert s.secret_key == DEV_SECRET
    assert s.db_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'order_intake.db'}"
    assert s.port == 8001
    assert Settings(data_dir=tmp_path).for_service("aftersales").port == 8004


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bus_url": "amqp://x/"}, "DROPSHIP_SECRET_KEY"),
        ({"secret_key": "s" * 32}, "DROPSHIP_BUS_URL"),
        ({"secret_key": "s" * 32, "bus_url": "amqp://x/", "admin_token": "short"}, "ADMIN_TOKEN"),
    ],
)
def test_distributed_mode_refuses_default_or_weak_secrets(values, message) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(mode="distributed", **values)


def test_environment_is_read_with_prefix_and_per_service_overrides(monkeypatch) -> None:
    monkeypatch.setenv("DROPSHIP_MODE", "distributed")
    monkeypatch.setenv("DROPSHIP_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("DROPSHIP_BUS_URL", "amqp://guest:guest@127.0.0.1:5672/")
    monkeypatch.setenv("DROPSHIP_DATABASE_URL", "postgresql+asyncpg://a@h/shared")
    monkeypatch.setenv("DROPSHIP_LOGISTICS_DATABASE_URL", "postgresql+asyncpg://a@h/logistics")
    monkeypatch.setenv("DROPSHIP_LOGISTICS_PORT", "9003")
    s = Settings()
    assert s.for_service("order-intake").db_url.endswith("/shared")
    assert s.for_service("logistics").db_url.endswith("/logistics")
    assert s.for_service("logistics").port == 9003


def test_distributed_mode_without_a_database_url_refuses_to_start() -> None:
    s = Settings(mode="distributed", secret_key="k" * 32, bus_url="amqp://x/")
    with pytest.raises(ValueError, match="DROPSHIP_DATABASE_URL"):
        s.for_service("order-intake")
