"""Fulfilment write-back: parcels reported by suppliers become fulfilments at the
storefront (one plugin per storefront platform), sent after commit and retried."""
