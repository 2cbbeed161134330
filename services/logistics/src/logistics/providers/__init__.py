"""Tracking providers (aggregators): one module each behind :class:`TrackingProvider`."""
