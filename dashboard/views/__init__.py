"""One page per view; each reads the shared `dashboard.session.current()` state."""
