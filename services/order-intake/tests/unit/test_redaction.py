"""What a redaction leaves of an order's hold reasons and warnings."""

from __future__ import annotations

from order_intake.domain.validation import Issue
from order_intake.webhooks.compliance import scrub_issues


def test_scrubbed_issues_stay_valid_and_keep_what_names_no_one() -> None:
    issues = [
        {
            "code": "invalid_postal_code",
            "field": "shipping_address.postal_code",
            "message": "postal code 'QX-4471' does not match the format used in US",
            "details": {"country_code": "US", "postal_code": "QX-4471"},
        },
        {
            "code": "supplier_rejected",
            "field": None,
            "message": "Mugs Ltd rejected it: out of stock",
            "details": {"supplier_order_id": "so-1", "reason": "out_of_stock"},
        },
    ]
    postal, rejected = scrub_issues(issues)
    # evaluating the order again reads them back as issues: they must still be valid
    assert [Issue.model_validate(i).code for i in (postal, rejected)] == [
        "invalid_postal_code",
        "supplier_rejected",
    ]
    assert "QX-4471" not in str(postal) and postal["details"] == {"country_code": "US"}
    assert rejected == issues[1]  # names no buyer: kept whole (repeats are recognised)
