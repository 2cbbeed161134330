"""What logistics says of each parcel (``shipment.*``): the order, the storefront, the buyer."""
