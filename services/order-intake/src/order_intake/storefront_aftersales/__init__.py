"""Aftersales signals from the storefront: returns asked for, refunds made in its admin."""
