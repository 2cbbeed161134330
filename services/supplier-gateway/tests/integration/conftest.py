from .portal_browser import browser_for

__all__ = ["browser_for"]
