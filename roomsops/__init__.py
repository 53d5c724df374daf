"""roomsops: operations toolkit for ROOMS' Exchange Online calendar sync."""

__version__ = "0.1.0.dev0"
