"""The README's configuration tables are the settings classes' own: generated from them
(`dropship config table --write README.md`), compared here."""

from __future__ import annotations

from pathlib import Path

from dropship_cli.config_table import BEGIN, END, GROUPS, own_fields, render
from dropship_cli.services import SPECS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_generated_tables() -> None:
    text = README.read_text()
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == render(), "run `uv run dropship config table --write README.md`"


def test_every_service_s_settings_class_is_in_the_tables() -> None:
    listed = {cls for _, cls in GROUPS}
    for spec in SPECS.values():
        for cls in spec.settings_class.__mro__:
            if cls.__module__.startswith(
                ("dropship_common", "order_intake", "supplier_gateway", "logistics", "aftersales")
            ) and hasattr(cls, "model_fields"):
                assert cls in listed, f"{spec.name}: {cls.__name__} missing from the tables"


def test_each_variable_is_listed_once_with_a_description() -> None:
    names = [name for _, cls in GROUPS for name in own_fields(cls)]
    assert len(names) == len(set(names))
    for _, cls in GROUPS:
        assert all(info.description for info in own_fields(cls).values()), cls.__name__
    # a service's settings are its own: the shared base holds none of them
    shared = set(GROUPS[0][1].model_fields)
    assert not shared & {
        "cj_base_url",
        "placement_poll_seconds",
        "smtp_url",
        "shopify_api_version",
        "supplier_portal_url",
    }
