"""One page per view; each reads the current inputs' results through `dashboard.state` (`state.page_results()`)."""
