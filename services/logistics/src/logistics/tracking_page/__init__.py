"""The buyer's tracking page: ``GET /track/{token}``."""
