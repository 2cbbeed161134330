"""The editable tables the rules read: silent routes, transit times, shop follow-ups."""
