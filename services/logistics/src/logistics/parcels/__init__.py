"""Parcels: created from shipment.tracking_assigned, moved by provider reports and rules."""
