"""Aftersales' reships: a new supplier order per case, linked to the original."""
