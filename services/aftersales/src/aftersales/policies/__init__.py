"""Per-shop policies: versioned data, edited by API, dry-run over past cases."""
