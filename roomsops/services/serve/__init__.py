"""`roomsops serve`: the sync as one long-running process (a scheduler of passes per mailbox) with a local status
listener (/healthz, /metrics, the status page)."""
