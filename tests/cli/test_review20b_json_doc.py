"""review20b: README's JSON section (tests/cli/test_readme_json.py reads it) documents the shapes of the commands
issue 20 added or changed: `sync resume` (new) and `sync purge` (new key "not_synced"); `sync diff`'s "conflicts"
entries (booking_id, behaviour, attempts, limit, outcome) are only named "with its attempts"."""

from __future__ import annotations

from tests.cli.test_readme_json import readme_shapes


def test_sync_purge_and_resume_json_shapes_are_documented() -> None:
    shapes = readme_shapes()
    assert {"sync purge", "sync resume"} <= set(shapes), sorted(shapes)
