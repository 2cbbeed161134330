"""The buyers' photos: checked by content, cleaned, kept in one storage interface."""
