"""What suppliers' systems send us: CJ's webhook messages, and the calls of suppliers on
our http protocol."""
