"""Buyer message templates and the two mail adapters (SMTP against a real SMTP server)."""

from __future__ import annotations

import email
import email.policy
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from dropship_testkit.pytest_plugin import free_port
from order_intake.messages.mailer import MailFolderSender, SmtpSender, to_email
from order_intake.messages.templates import TEMPLATES, render
from order_intake.models import BuyerMessage

CTX = {"name": "Bob", "number": "#1001", "ship_by": "2026-11-25", "shop": "Shop"}


def test_english_and_chinese_thank_you_name_the_ship_by_date() -> None:
    subject, body, lang = render("order_confirmed", "en", CTX)
    assert (subject, lang) == ("Thank you for your order #1001", "en")
    assert "expected to ship by 2026-11-25" in body
    subject, body, lang = render("order_confirmed", "zh-CN", CTX)
    assert lang == "zh" and subject == "感谢您的订单 #1001"
    assert "预计将于 2026-11-25 前发货" in body


def test_unknown_language_falls_back_to_english() -> None:
    assert render("payment_reminder", "pt", {"number": "#1", "deadline": "d"})[2] == "en"


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_template_exists_in_every_language(kind: str) -> None:
    assert set(TEMPLATES[kind]) == {"en", "zh"}


def _row() -> BuyerMessage:
    subject, body, lang = render("order_confirmed", "zh", CTX)
    return BuyerMessage(
        id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        kind="order_confirmed",
        language=lang,
        to_address="bob@example.com",
        subject=subject,
        body=body,
    )


async def test_mail_folder_sender_writes_one_eml_per_message(tmp_path: Path) -> None:
    row = _row()
    await MailFolderSender(tmp_path).send(to_email(row, "shop@example.com"))
    [path] = list(tmp_path.glob("*.eml"))
    assert path.name == f"{row.id}.eml"
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "bob@example.com"
    assert "预计将于 2026-11-25 前发货" in msg.get_content()


class _Collect(Sink):
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


async def test_smtp_sender_delivers_to_a_real_smtp_server() -> None:
    handler = _Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        row = _row()
        await SmtpSender(f"smtp://127.0.0.1:{port}").send(to_email(row, "shop@example.com"))
    finally:
        controller.stop()
    [(sender, rcpts, content)] = handler.received
    assert (sender, rcpts) == ("shop@example.com", ["bob@example.com"])
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert msg["Subject"] == "感谢您的订单 #1001"
    assert msg["X-Dropship-Order-Id"] == str(row.order_id)
