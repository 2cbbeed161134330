"""Aftersales' messages to the buyer render in English and Chinese with what each kind
says; the storefront's aftersales signals' pure rules (the case a refund names, the
money it gave back, the return's reason)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import get_args

import pytest

from dropship_common.contracts.aftersales import BuyerNoticeKind
from dropship_common.secretbox import Keyring
from dropship_common.tracking_links import id_of
from order_intake.domain.aftersales import Transaction, case_named, refunded, return_reason
from order_intake.messages.links import case_page, case_text, help_page, help_text
from order_intake.messages.templates import TEMPLATES, render

KINDS: tuple[str, ...] = get_args(BuyerNoticeKind)
DETAILS = {
    "next_step": "we send a replacement within 3 days",
    "return_address": "Return Dept, 88 Jianguo Rd, Beijing 100022, CN",
    "rma": "RMA-4711",
    "amount": "12.50",
    "currency": "USD",
    "code": "SORRY-7Q2X",
    "tracking_number": "RR123456785CN",
    "tracking_url": "https://track.example.com/track/abc",
    "reason": "the photos show the item was used",
}
# what each kind must say, of its details
SAYS = {
    "case_received": [],
    "evidence_needed": [],
    "approved": ["next_step"],
    "return_instructions": ["return_address", "rma"],
    "refund_sent": ["amount", "currency"],
    "replacement_shipped": ["tracking_number", "tracking_url"],
    "discount_code": ["code", "amount", "currency"],
    "rejected": ["reason"],
}
CASE_URL = "https://help.example.com/cases/abc"


def test_every_notice_kind_has_a_template_in_both_languages() -> None:
    assert set(SAYS) == set(KINDS)
    for kind in KINDS:
        assert set(TEMPLATES[f"case_{kind}"]) == {"en", "zh"}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_notice_renders_with_its_details_and_the_case_link(kind: str, language: str) -> None:
    context = {
        "name": "Bob",
        "number": "#1001",
        "shop": "Test Shop",
        "case_type": "damaged",
        "case_link": case_text(language, CASE_URL),
        **DETAILS,
    }
    subject, body, lang = render(f"case_{kind}", language, context)
    assert lang == language[:2]
    assert "#1001" in subject and "#1001" in body
    assert "$" not in subject + body  # every placeholder filled
    for key in SAYS[kind]:
        assert DETAILS[key] in body, key
    assert CASE_URL in body and body.endswith("Test Shop")
    if lang == "zh":
        assert "您" in body
    else:
        assert body.startswith("Dear Bob,")


def test_without_aftersales_address_there_is_no_link() -> None:
    assert case_page(None, "/cases/abc") is None
    assert case_page("https://help.example.com/", "/cases/abc") == CASE_URL
    assert case_text("en", None) == "" and help_text("zh", None) == ""
    assert help_page(None, uuid.uuid4()) is None


def test_the_help_page_names_the_order_with_a_verifiable_token() -> None:
    order_id = uuid.uuid4()
    url = help_page("https://help.example.com/", order_id)
    assert url is not None and url.startswith("https://help.example.com/help/")
    token = url.rsplit("/", 1)[1]
    from dropship_common import secretbox

    assert id_of("order", token) == order_id
    assert id_of("case", token) is None
    before = secretbox.keyring()
    secretbox.install(Keyring.from_secrets("x" * 40))
    try:
        assert id_of("order", token) is None  # another deployment's key
    finally:
        secretbox.install(before)
    assert url in help_text("en", url) and url in help_text("zh", url)


def test_a_refund_note_names_its_case() -> None:
    case = uuid.uuid4()
    assert case_named(f"Refund for aftersales case {case}") == case
    assert case_named(f"CASE {str(case).upper()}: damaged") == case
    assert case_named("it broke during shipping") is None
    assert case_named(None) is None
    assert case_named(f"showcase {case}") is None  # a word that ends in "case"


def test_only_successful_refund_transactions_count() -> None:
    amount, currency = refunded(
        [
            Transaction("refund", "success", Decimal("209.00"), "usd"),
            Transaction("refund", "failure", Decimal("50.00"), "USD"),
            Transaction("refund", "pending", Decimal("7.00"), "USD"),
            Transaction("sale", "success", Decimal("100.00"), "USD"),
            Transaction("refund", "success", Decimal("0.99"), "USD"),
        ]
    )
    assert (amount, currency) == (Decimal("209.99"), "USD")
    assert refunded([]) == (Decimal("0"), None)


def test_the_return_reason_is_shopifys_enum_value() -> None:
    assert return_reason(["size_too_small", "color"]) == "SIZE_TOO_SMALL"
    assert return_reason([None, " ", "unwanted"]) == "UNWANTED"
    assert return_reason([]) == "UNKNOWN"


def test_the_approval_says_what_happens_next_in_the_buyers_words() -> None:
    from order_intake.messages.case_notices import next_step

    refund = next_step("en", {"next_step": "refund", "amount": "34.00", "currency": "EUR"})
    assert refund == "we refund 34.00 EUR to your original payment method."
    assert "退回" in next_step("zh-CN", {"next_step": "refund", "amount": "1", "currency": "EUR"})
    dearer = next_step("en", {"next_step": "exchange", "amount_due": "4.00", "currency": "EUR"})
    assert "right variant" in dearer and "4.00 EUR more" in dearer
    assert "write to you" in next_step("en", {"next_step": "something new"})
