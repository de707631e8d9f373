"""broadcaster: publish incident updates to a status page, feeds and chat channels at once."""

__version__ = "0.1.0"
