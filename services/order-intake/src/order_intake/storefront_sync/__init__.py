"""Reconciliation with the storefronts: missed orders, webhook subscriptions."""
