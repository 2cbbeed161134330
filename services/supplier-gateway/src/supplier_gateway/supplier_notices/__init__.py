"""How aftersales cases were settled, told to each supplier through its channel."""
