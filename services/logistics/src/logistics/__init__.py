"""dropship logistics service."""
