"""The wheels of the production packages carry no test code: no vendor fake, no test
helper, no payload fixture, no pytest plugin (they live in the dev-only test kit)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = (
    "dropship-cli",
    "dropship-common",
    "order-intake",
    "supplier-gateway",
    "logistics",
    "aftersales",
)
TEST_PATH = re.compile(
    r"(^|/)(dropship_testkit|testing|tests|fakes|payloads)(/|$)|(^|/)(testing|conftest)\.py$"
)
TEST_IMPORT = re.compile(r"^\s*(from|import)\s+(pytest|dropship_testkit|respx)\b", re.M)


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "uv not found"
    return found


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheels")
    for package in (*PRODUCTION, "dropship-testkit"):
        subprocess.run(
            [_uv(), "build", "--wheel", "--package", package, "-o", str(out), "-q"],
            cwd=ROOT,
            check=True,
            timeout=300,
        )
    built = {}
    for wheel in out.glob("*.whl"):
        name = wheel.name.split("-")[0].replace("_", "-")
        built[name] = zipfile.ZipFile(wheel)
    assert set(built) == {*PRODUCTION, "dropship-testkit"}
    return built


@pytest.mark.parametrize("package", PRODUCTION)
def test_a_production_wheel_carries_no_test_code(
    wheels: dict[str, zipfile.ZipFile], package: str
) -> None:
    wheel = wheels[package]
    names = wheel.namelist()
    assert any(n.endswith(".py") for n in names)
    assert [n for n in names if TEST_PATH.search(n)] == []
    importing_tests = [
        n for n in names if n.endswith(".py") and TEST_IMPORT.search(wheel.read(n).decode())
    ]
    assert importing_tests == []


def test_the_test_kit_wheel_holds_the_fakes_and_payloads(
    wheels: dict[str, zipfile.ZipFile],
) -> None:
    """The checks above would pass vacuously if the test code were simply gone: it is
    in the test kit, payloads included (found from the installed package)."""
    names = set(wheels["dropship-testkit"].namelist())
    for expected in (
        "dropship_testkit/fakes/shopify_admin.py",
        "dropship_testkit/fakes/cj.py",
        "dropship_testkit/pytest_plugin.py",
        "dropship_testkit/payloads/shopify/order.json",
        "dropship_testkit/payloads/woocommerce/order.json",
    ):
        assert expected in names
