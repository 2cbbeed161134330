"""Refunds and discount codes aftersales asks of the storefront."""
