"""CJ's webhook messages after they are stored: applied to our supplier orders by a
worker, retried while their order is not known yet, and shown to operators."""
