"""Shared foundation of the dropship services."""
