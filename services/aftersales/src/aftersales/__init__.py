"""dropship aftersales service."""
