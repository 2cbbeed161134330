"""Pure domain of supplier-gateway: no I/O here."""
