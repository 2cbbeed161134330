"""A small run of ``bench.faults`` (40 orders instead of 400, twice the supplier faults):
webhooks → order-intake → supplier-gateway → the CJ fake and an http-protocol supplier
→ tracking → the Shopify fake, while the suppliers' create calls fail (500, 429 with
Retry-After, replies lost after the supplier created the order), supplier-gateway is
SIGKILLed mid-batch and started again, and PostgreSQL and RabbitMQ are restarted:
instances of the run's own (dropship_testkit.private_infra), never the shared ones.

Every order must end placed exactly once at its supplier and written back exactly once
to the storefront."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.faults import main, parse_args

pytestmark = pytest.mark.system


async def test_forty_orders_under_faults_each_placed_and_written_back_once(
    tmp_path: Path,
) -> None:
    args = parse_args(
        [
            "-n",
            "40",
            "--rate",
            "4",
            "--fault-share",
            "2",
            "--kill-at",
            "2",
            "--pg-restart-at",
            "5",
            "--rabbit-restart-at",
            "8",
            "--settle-timeout",
            "45",
            "--keep-logs",
            str(tmp_path),
        ]
    )
    result = await main(args)
    (tmp_path / "result.json").write_text(json.dumps(result, indent=1, default=str))
    wrong = (
        f"see {tmp_path}/result.json and the logs beside it: "
        + json.dumps(result["wrong_orders"], default=str)[:4000]
    )
    assert result["orders"]["placed_exactly_once"] == 40, wrong
    assert result["orders"]["written_back_exactly_once"] == 40, wrong
    assert result["ok"]
    # the faults did happen: supplier faults, two restarts, one SIGKILL mid-call
    assert sum(sum(f.values()) for f in result["faults"]["supplier_calls"].values()) > 0
    assert len(result["faults"]["events"]) == 3
