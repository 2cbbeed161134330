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
            "The tracking link may show the parcel only a day after it left.$rest$help\n\n$shop",
        ),
        "zh": (
            "您的订单 $number 已发货",
            "$name 您好：\n\n您的订单 $number 已发货。\n\n$parcels\n\n"
            "包裹发出后约一天，物流链接上才会显示信息。$rest$help\n\n$shop",
        ),
    },
    # a parcel's milestones (logistics' shipment.* events): $carrier, $tracking_number,
    # $tracking_url, $window_to (the expected last day), $status (where it is now)
    "parcel_customs": {
        "en": (
            "Your parcel for order $number is at customs",
            "Dear $name,\n\nyour parcel $tracking_number ($carrier) has reached customs in "
            "your country. Customs may contact you for information or import duties before "
            "they release it; please answer them so it can be delivered.$duty\n\nTrack it: "
            "$tracking_url\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹已到达海关",
            "$name 您好：\n\n您的包裹 $tracking_number（$carrier）已到达您所在国家的海关。"
            "海关可能会联系您提供信息或缴纳进口税费，请及时回复以便放行派送。$duty\n\n查询链接："
            "$tracking_url\n\n$shop",
        ),
    },
    "parcel_out_for_delivery": {
        "en": (
            "Your parcel for order $number is out for delivery",
            "Dear $name,\n\nyour parcel $tracking_number ($carrier) is out for delivery "
            "today.\n\nTrack it: $tracking_url\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹正在派送",
            "$name 您好：\n\n您的包裹 $tracking_number（$carrier）今天正在派送中。"
            "\n\n查询链接：$tracking_url\n\n$shop",
        ),
    },
    "parcel_available_for_pickup": {
        "en": (
            "Your parcel for order $number is ready for pickup",
            "Dear $name,\n\nyour parcel $tracking_number ($carrier) is waiting for you at "
            "the carrier's pickup point. Please collect it soon: it goes back if it is not "
            "collected.\n\nTrack it: $tracking_url\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹可以取件了",
            "$name 您好：\n\n您的包裹 $tracking_number（$carrier）已到达取件点，请尽快领取，"
            "逾期未取将被退回。\n\n查询链接：$tracking_url\n\n$shop",
        ),
    },
    "parcel_delivery_failed": {
        "en": (
            "Delivery of your parcel for order $number was attempted",
            "Dear $name,\n\nthe carrier tried to deliver your parcel $tracking_number "
            "($carrier) but could not. It will usually try again or leave a notice; the "
            "tracking page says what to do next.\n\nTrack it: $tracking_url\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹派送未成功",
            "$name 您好：\n\n承运商尝试派送您的包裹 $tracking_number（$carrier）未成功，"
            "通常会再次派送或留下通知，请查看物流页面了解下一步。\n\n查询链接：$tracking_url"
            "\n\n$shop",
        ),
    },
    "parcel_delivered": {
        "en": (
            "Your parcel for order $number was delivered",
            "Dear $name,\n\nyour parcel $tracking_number ($carrier) was delivered. We hope "
            "you enjoy your order; if anything is wrong with it, just reply to this e-mail."
            "$help\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹已签收",
            "$name 您好：\n\n您的包裹 $tracking_number（$carrier）已签收。希望您喜欢，"
            "如有任何问题，请直接回复此邮件。$help\n\n$shop",
        ),
    },
    "parcel_follow_up": {
        "en": (
            "Where your parcel for order $number is",
            "Dear $name,\n\nyour parcel $tracking_number ($carrier) is on its way: "
            "$status. It is expected by $window_to.\n\nTrack it: $tracking_url\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹动态",
            "$name 您好：\n\n您的包裹 $tracking_number（$carrier）正在运输途中：$status。"
            "预计 $window_to 前送达。\n\n查询链接：$tracking_url\n\n$shop",
        ),
    },
    "parcel_stalled": {
        "en": (
            "Your parcel for order $number is still on its way",
            "Dear $name,\n\nthe carrier has not updated the tracking of your parcel "
            "$tracking_number ($carrier) for a while. This happens on long international "
            "routes and it is still on its way; we are watching it and will write if "
            "anything needs you. It is expected by $window_to.\n\nTrack it: $tracking_url"
            "\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹仍在途中",
            "$name 您好：\n\n您的包裹 $tracking_number（$carrier）的物流信息已有一段时间未更新。"
            "国际长途运输中这很常见，包裹仍在途中；我们会持续关注，如需您处理会再联系您。"
            "预计 $window_to 前送达。\n\n查询链接：$tracking_url\n\n$shop",
        ),
    },
    "parcel_silent_route": {
        "en": (
            "About the tracking of your parcel for order $number",
            "Dear $name,\n\nparcels on this route are no longer tracked online once they "
            "leave China, so the tracking of $tracking_number ($carrier) will not change "
            "until it arrives. If it has not arrived by $window_to, please ask your local "
            "post office with the tracking number.\n\n$shop",
        ),
        "zh": (
            "关于订单 $number 包裹的物流信息",
            "$name 您好：\n\n此线路的包裹离开中国后不再有网上物流更新，因此 $tracking_number"
            "（$carrier）到达前信息不会变化。如 $window_to 前仍未收到，请凭运单号向当地邮局查询。"
            "\n\n$shop",
        ),
    },
    "parcel_delayed": {
        "en": (
            "Your parcel for order $number is taking longer",
            "Dear $name,\n\nyour parcel $tracking_number ($carrier) is taking longer than "
            "expected. The new estimate is by $window_to. We are sorry for the wait and are "
            "following it closely.\n\nTrack it: $tracking_url\n\n$shop",
        ),
        "zh": (
            "订单 $number 的包裹将延迟送达",
            "$name 您好：\n\n您的包裹 $tracking_number（$carrier）比预期用时更长，"
            "新的预计送达时间为 $window_to 前。给您带来不便，我们深表歉意，并会密切跟进。"
            "\n\n查询链接：$tracking_url\n\n$shop",
        ),
    },
    # aftersales' case messages (aftersales.buyer_notice), "case_<kind>": $case_link is
    # the case page's sentence (see CASE_LINK) or empty; the rest is the notice's details
    "case_case_received": {
        "en": (
            "We received your request about order $number",
            "Dear $name,\n\nwe have received your request about order $number and are "
            "looking into it. We will write to you as soon as we know more.$case_link\n\n$shop",
        ),
        "zh": (
            "我们已收到您关于订单 $number 的售后申请",
            "$name 您好：\n\n我们已收到您关于订单 $number 的售后申请，正在处理中。"
            "一有进展我们会立即通知您。$case_link\n\n$shop",
        ),
    },
    "case_evidence_needed": {
        "en": (
            "We need a little more about your request for order $number",
            "Dear $name,\n\nto settle your request about order $number we need a little "
            "more from you: please send us photos of the item, its packaging and the "
            "shipping label.$case_link\n\n$shop",
        ),
        "zh": (
            "关于订单 $number 的售后申请，我们需要更多信息",
            "$name 您好：\n\n为了处理您关于订单 $number 的售后申请，请提供商品、包装以及"
            "快递面单的照片。$case_link\n\n$shop",
        ),
    },
    "case_approved": {
        "en": (
            "Your request about order $number was approved",
            "Dear $name,\n\nyour request about order $number was approved. What happens "
            "next: $next_step$case_link\n\n$shop",
        ),
        "zh": (
            "您关于订单 $number 的售后申请已通过",
            "$name 您好：\n\n您关于订单 $number 的售后申请已通过。接下来：$next_step"
            "$case_link\n\n$shop",
        ),
    },
    "case_return_instructions": {
        "en": (
            "How to return your items from order $number",
            "Dear $name,\n\nplease send the items of order $number back to:\n\n"
            "$return_address\n\n"
            "Write the return number $rma on the parcel so that we can match it to your "
            "order.$case_link\n\n$shop",
        ),
        "zh": (
            "订单 $number 的退货说明",
            "$name 您好：\n\n请将订单 $number 的商品寄回以下地址：\n\n$return_address\n\n"
            "请在包裹上注明退货编号 $rma，以便我们核对您的订单。$case_link\n\n$shop",
        ),
    },
    "case_refund_sent": {
        "en": (
            "Your refund for order $number",
            "Dear $name,\n\nwe have refunded $amount $currency for order $number. It "
            "goes back to the way you paid; your bank may take a few business days to "
            "show it.$case_link\n\n$shop",
        ),
        "zh": (
            "订单 $number 的退款已发出",
            "$name 您好：\n\n我们已为订单 $number 退款 $amount $currency，款项将原路退回，"
            "银行入账可能需要几个工作日。$case_link\n\n$shop",
        ),
    },
    "case_replacement_shipped": {
        "en": (
            "Your replacement for order $number has shipped",
            "Dear $name,\n\nthe replacement for order $number is on its way.\n\n"
            "Tracking number: $tracking_number\nTrack it: $tracking_url$case_link\n\n$shop",
        ),
        "zh": (
            "订单 $number 的补发商品已发货",
            "$name 您好：\n\n订单 $number 的补发商品已发出。\n\n"
            "物流单号：$tracking_number\n查询链接：$tracking_url$case_link\n\n$shop",
        ),
    },
    "case_discount_code": {
        "en": (
            "A discount code for you, about order $number",
            "Dear $name,\n\nwe are sorry about the trouble with order $number. Here is a "
            "discount code worth $amount $currency for your next order: $code$case_link"
            "\n\n$shop",
        ),
        "zh": (
            "关于订单 $number，送您一张优惠码",
            "$name 您好：\n\n订单 $number 给您带来不便，我们深表歉意。送您一张价值 "
            "$amount $currency 的优惠码，下次购物可用：$code$case_link\n\n$shop",
        ),
    },
    "case_payment_link": {
        "en": (
            "Your exchange for order $number: the price difference",
            "Dear $name,\n\nthe variant you chose for your exchange costs $amount $currency"
            " more. Please pay the difference here: $url\n\nWe send the new item as soon as"
            " it is paid (the link works until $expires).$case_link\n\n$shop",
        ),
        "zh": (
            "订单 $number 换货：请补差价",
            "$name 您好：\n\n您选择换的款式需补差价 $amount $currency，请在此付款：$url\n\n"
            "付款后我们会立即寄出新商品（链接有效期至 $expires）。$case_link\n\n$shop",
        ),
    },
    "case_rejected": {
        "en": (
            "About your request for order $number",
            "Dear $name,\n\nwe looked into your request about order $number and are "
            "sorry that we cannot accept it: $reason$case_link\n\n$shop",
        ),
        "zh": (
            "关于您订单 $number 的售后申请",
            "$name 您好：\n\n我们已仔细查看您关于订单 $number 的售后申请，很抱歉无法受理："
            "$reason$case_link\n\n$shop",
        ),
    },
}

# the $duty of "parcel_customs": what the shipping notice's customs declaration says
CUSTOMS_DUTY = {
    True: {
        "en": "\nThis parcel's value is above your country's threshold, so import duty or "
        "VAT is likely to be due before it is delivered.",
        "zh": "\n此包裹的申报价值超过您所在国家的免税额度，派送前可能需要缴纳进口关税或增值税。",
    },
    False: {
        "en": "\nThis parcel's value is within your country's threshold: no import duty is "
        "expected.",
        "zh": "\n此包裹的申报价值在您所在国家的免税额度内，预计无需缴纳进口关税。",
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

# the $help of "order_shipped" and "parcel_delivered": the order's page on aftersales
HELP = {
    "en": "\n\nA problem with your order? Report it here: $url",
    "zh": "\n\n订单有问题？请在这里告诉我们：$url",
}
# the $case_link of the case messages: the case's page on aftersales
CASE_LINK = {
    "en": "\n\nYour case: $url",
    "zh": "\n\n您的售后申请：$url",
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


# what happens after an approval, by aftersales' resolution (``details.next_step``)
NEXT_STEPS: dict[str, dict[str, str]] = {
    "en": {
        "refund": "we refund $amount $currency to your original payment method.",
        "compensation": "we send you $amount $currency as compensation.",
        "return_then_refund": "please send the items back (instructions follow in a separate"
        " e-mail); we refund $amount $currency as soon as they arrive.",
        "reship": "we send the items to you again; you will get the new tracking number.",
        "send_missing": "we send you the missing items; you will get their tracking number.",
        "exchange": "we send you the right variant; you will get its tracking number.",
        "explain": "we will write to you with what to do next.",
    },
    "zh": {
        "refund": "我们将把 $amount $currency 退回到您原来的付款方式。",
        "compensation": "我们将向您补偿 $amount $currency。",
        "return_then_refund": "请将商品寄回（寄回说明将另行发送）；"
        "收到后我们将退款 $amount $currency。",
        "reship": "我们将重新为您寄出商品，并告知新的物流单号。",
        "send_missing": "我们将补寄缺少的商品，并告知物流单号。",
        "exchange": "我们将为您寄出正确的款式，并告知物流单号。",
        "explain": "我们会另行写信告诉您接下来怎么做。",
    },
}
AMOUNT_DUE = {
    "en": " The new variant costs $amount_due $currency more: we will send you a payment link.",
    "zh": " 新款式需补差价 $amount_due $currency，我们会发送付款链接给您。",
}
