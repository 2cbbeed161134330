"""dropship order-intake service."""
