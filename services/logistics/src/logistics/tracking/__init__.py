"""Following parcels at their providers: registration, polling, pushes."""
