"""Log masking on 1 MB inputs: the e-mail scan (linear) against the regex it replaced
(quadratic on a long run of local-part characters), and the whole ``mask_text``
(URL redaction, e-mails, phone numbers).

Run as ``python -m bench.masking`` (part of ``make bench``). Prints JSON (also written
to ``bench/results/masking-<timestamp>.json``): per input, the best of 3 runs in
seconds. The old regex is timed on the pathological input at 10k, 20k and 40k
characters only (1 MB would take about 20 minutes at its quadratic rate: the estimate
is printed instead), and on the others at 1 MB.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dropship_common.observability import mask_email, mask_emails, mask_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SIZE = 1_000_000

# what observability.mask_emails ran before (one regex search over the text)
OLD_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def old_mask_emails(text: str) -> str:
    if "@" not in text:
        return text
    return OLD_EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)


def _fill(unit: str, size: int = SIZE) -> str:
    return (unit * (size // len(unit) + 1))[:size]


LINE = (
    "placement failed for order 1001 (jane.doe+shop@example.com, +86 138-1234-1234): "
    "GET https://user:pw@api.supplier.test/v1/orders?access_token=tok_123&page=2 -> 503\n"
)
INPUTS: dict[str, str] = {
    "long local part, no domain ('a' * 1 MB + '@')": "a" * (SIZE - 1) + "@",
    "'x@' + 1 MB dotted name, no top-level domain": "x@" + _fill("a.", SIZE - 2),
    "many '@' ('a@' repeated)": _fill("a@"),
    "log lines with e-mails, phones, URLs": _fill(LINE),
    "digits only": _fill("1"),
    "'a://' repeated (URL-like)": _fill("a://"),
}
# the inputs on which the old regex is quadratic: timed at 10k, 20k, 40k characters
QUADRATIC: dict[str, Callable[[int], str]] = {
    "long local part, no domain ('a' * 1 MB + '@')": lambda n: "a" * (n - 1) + "@",
    "'x@' + 1 MB dotted name, no top-level domain": lambda n: "x@" + _fill("a.", n - 2),
}


def best_of(fn: Callable[[str], str], text: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    return round(min(times), 4)


def main() -> int:
    report: dict[str, object] = {"input_bytes": SIZE, "python": sys.version.split()[0]}
    cases: dict[str, dict[str, object]] = {}
    for name, text in INPUTS.items():
        case: dict[str, object] = {
            "mask_emails_s": best_of(mask_emails, text),
            "mask_text_s": best_of(mask_text, text),
        }
        make = QUADRATIC.get(name)
        if make is None:
            assert mask_emails(text) == old_mask_emails(text)
            case["old_regex_s"] = best_of(old_mask_emails, text, runs=1)
        else:
            growth = {}
            for n in (10_000, 20_000, 40_000):
                small = make(n)
                assert mask_emails(small) == old_mask_emails(small)
                growth[str(n)] = {
                    "old_regex_s": best_of(old_mask_emails, small, runs=1),
                    "new_s": best_of(mask_emails, small),
                }
            case["at_10k_20k_40k_chars"] = growth
            # quadratic: the time grows with the square of the length
            rate = float(growth["40000"]["old_regex_s"]) / 40_000**2
            case["old_regex_s_estimated"] = round(rate * SIZE**2, 1)
        cases[name] = case
    report["cases"] = cases

    text = json.dumps(report, indent=2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"masking-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
