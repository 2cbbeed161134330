"""Placing pending supplier orders through their suppliers' adapters."""
