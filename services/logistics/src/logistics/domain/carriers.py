"""Carrier detection: our carrier codes, from what the supplier typed or the number.

Order of evidence (issue 13 §2): the name the supplier gave, mapped through aliases;
when missing or unknown, the number itself (UPU S10 with its check digit, UPS ``1Z``,
USPS IMpb, FedEx, … via the ``tracking-numbers`` library); last, the aggregator's own
detection (``None`` here means: let the provider detect). Each code has a class
(``express`` or ``postal``) for the follow-up rules.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class CarrierClass(enum.StrEnum):
    EXPRESS = "express"
    POSTAL = "postal"


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    carrier_class: CarrierClass


_E, _P = CarrierClass.EXPRESS, CarrierClass.POSTAL
CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("chinapost", "China Post", _P),
        Carrier("chinaems", "China EMS", _E),
        Carrier("yanwen", "Yanwen", _P),
        Carrier("yunexpress", "YunExpress", _P),
        Carrier("4px", "4PX", _P),
        Carrier("cainiao", "Cainiao", _P),
        Carrier("sfexpress", "SF Express", _E),
        Carrier("ups", "UPS", _E),
        Carrier("usps", "USPS", _P),
        Carrier("fedex", "FedEx", _E),
        Carrier("dhl", "DHL Express", _E),
        Carrier("dhlecommerce", "DHL eCommerce", _P),
        Carrier("royalmail", "Royal Mail", _P),
        Carrier("laposte", "La Poste / Colissimo", _P),
        Carrier("deutschepost", "Deutsche Post", _P),
        Carrier("posteitaliane", "Poste Italiane", _P),
        Carrier("auspost", "Australia Post", _P),
        Carrier("canadapost", "Canada Post", _P),
        Carrier("postnl", "PostNL", _P),
        Carrier("correos", "Correos", _P),
        Carrier("japanpost", "Japan Post", _P),
    )
}
