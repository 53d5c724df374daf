"""This process's run id: a random token that tells one roomsops process from every other (review27w).

A process id and a host name do not: in a container every replica is PID 1, and a Kubernetes Deployment's pods
share their names' first bytes (`DEPLOYMENT-REPLICASET_HASH-`), the part PostgreSQL's 63-byte application_name
keeps. A run writes the token in its summary file and in the name of the session that holds the run lock
(`adapters/store/runlock.holder_name`), so `sync status` judges a run "running" only while that very process
holds the lock. A forked child gets a token of its own."""

from __future__ import annotations

import os
import secrets

#: 8 characters of base64url (48 random bits): short enough that a long host name keeps its readable part in
#: the 63 bytes, long enough that two processes never draw the same.
_TOKEN_BYTES = 6
_token: list[str] = []


def run_id() -> str:
    """This process's token (drawn on first use): letters, digits, '-' and '_', never '|'."""
    if not _token:
        _token.append(secrets.token_urlsafe(_TOKEN_BYTES))
    return _token[0]


def _forget() -> None:
    _token.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
