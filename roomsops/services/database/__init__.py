"""The `db` service: what the database itself needs from an administrator."""
