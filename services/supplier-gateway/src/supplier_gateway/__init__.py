"""dropship supplier-gateway service."""
