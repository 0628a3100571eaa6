"""Local web pages: the subscriber pages and the issue preview."""
