"""Buyer message templates per language. A shop's language falls back to English."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Template
from typing import Any

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "order_confirmed": {
        "en": (
            "Thank you for your order $number",
            "Dear $name,\n\nthank you for your order $number. We have received it and it is "
            "expected to ship by $ship_by.\nWe will send you the tracking number as soon as "
            "it leaves.\n\n$shop",
        ),
        "zh": (
            "感谢您的订单 $number",
            "$name 您好：\n\n感谢您的订单 $number。我们已收到订单，预计将于 $ship_by 前发货。"
            "\n包裹发出后我们会立即将物流单号发给您。\n\n$shop",
        ),
    },
    "payment_reminder": {
        "en": (
            "Your order $number is waiting for payment",
            "Dear $name,\n\nyour order $number is reserved for you but not paid yet. Please "
            "complete the payment by $deadline, after which the order is cancelled.\n\n$shop",
        ),
        "zh": (
            "您的订单 $number 尚未付款",
            "$name 您好：\n\n您的订单 $number 已为您保留，但尚未付款。请在 $deadline 前完成付款，"
            "逾期订单将被取消。\n\n$shop",
        ),
    },
    "order_cancelled_unpaid": {
        "en": (
            "Your order $number was cancelled",
            "Dear $name,\n\nyour order $number was not paid within $window_days days and has "
            "been cancelled. You are welcome to order again at any time.\n\n$shop",
        ),
        "zh": (
            "您的订单 $number 已取消",
            "$name 您好：\n\n您的订单 $number 在 $window_days 天内未付款，已被取消。"
            "欢迎您随时再次下单。\n\n$shop",
        ),
    },
    # $parcels: one "carrier: number" line and its link per parcel; $rest: a sentence
    # when more parcels follow (see SHIPPED_REST), empty when this one completes the order.
    "order_shipped": {
        "en": (
            "Your order $number has shipped",
            "Dear $name,\n\nyour order $number is on its way.\n\n$parcels\n\n"
            "The tracking link may show the parcel only a day after it left.$rest\n\n$shop",
        ),
        "zh": (
            "您的订单 $number 已发货",
            "$name 您好：\n\n您的订单 $number 已发货。\n\n$parcels\n\n"
            "包裹发出后约一天，物流链接上才会显示信息。$rest\n\n$shop",
        ),
    },
}

# the $rest of "order_shipped" when the order is not complete yet
SHIPPED_REST = {
    "en": "\nThe rest of your order follows in a separate parcel; we will write again.",
    "zh": "\n其余商品将另行发货，届时我们会再通知您。",
}
# one line per parcel in "order_shipped"
PARCEL_LINE = {
    "en": "Carrier: $carrier\nTracking number: $tracking_number\nTrack it: $tracking_url",
    "zh": "物流公司：$carrier\n物流单号：$tracking_number\n查询链接：$tracking_url",
}

LANGUAGES = ("en", "zh")


def language_of(language: str, variants: Mapping[str, object]) -> str:
    """``zh-CN`` -> ``zh`` when there is a ``zh`` variant, else English."""
    lang = language.split("-")[0].lower()
    return lang if lang in variants else "en"


def parcels_text(language: str, parcels: Sequence[Mapping[str, str]]) -> str:
    """The parcel lines of "order_shipped" (carrier, tracking_number, tracking_url)."""
    line = PARCEL_LINE[language_of(language, PARCEL_LINE)]
    return "\n\n".join(Template(line).safe_substitute(p) for p in parcels)


def render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, body, language used)."""
    variants = TEMPLATES[kind]
    lang = language_of(language, variants)
    subject, body = variants[lang]
    values = {k: "" if v is None else str(v) for k, v in context.items()}
    return Template(subject).safe_substitute(values), Template(body).safe_substitute(values), lang
