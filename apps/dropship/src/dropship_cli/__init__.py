"""The dropship command line."""
