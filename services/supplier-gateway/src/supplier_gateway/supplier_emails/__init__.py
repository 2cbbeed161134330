"""Each new portal supplier order e-mailed to the supplier's contact address."""
