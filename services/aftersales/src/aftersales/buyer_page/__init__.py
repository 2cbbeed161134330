"""The buyer's self-service pages: ``/help`` (find the order), ``/help/{token}`` (report
a problem with photos), ``/cases/{token}`` (where the case is; more photos)."""
