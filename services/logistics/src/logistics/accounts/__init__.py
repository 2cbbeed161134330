"""Tracking provider accounts: configured by API/CLI, credentials write-only."""
