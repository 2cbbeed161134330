"""Logistics' pure domain: the status taxonomy, carrier detection, the follow-up and
delivery-window rules. No I/O: every decision takes the time and the facts it needs."""
