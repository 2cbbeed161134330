"""Pure domain of order-intake: no I/O here."""
