"""Supplier orders: one per (order, supplier)."""
