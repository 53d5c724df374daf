"""The policy service's shared vocabulary: one outcome set for every engine's report, and the one rule that the
Exchange admin connection never uses the sync app (`policy`, `ews` and `doctor` ask the same function)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomsops.core.settings import load_settings
from roomsops.services.apps import admin_app_problem
from roomsops.services.policy.model import Outcome, Step, changed, unchanged_line

SYNC_APP = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"
ADMIN_APP = "0d3c9a43-3b5f-4f0e-9d6f-1c1d2b6f6a11"


def test_changes_are_the_same_words_in_every_engine() -> None:
    assert {o for o in Outcome if o.is_change} == {"created", "added", "removed", "replaced"}
    assert {o for o in Outcome if o.failed} == {"not_found", "failed", "mismatch", "conflict"}
    assert not (Outcome.KEPT.is_change or Outcome.KEPT.failed)


def test_a_plan_says_what_would_change_and_a_run_what_did() -> None:
    added = Step("member", "DiegoS@contoso.com", Outcome.ADDED)
    kept = Step("old", "policy-1", Outcome.KEPT, "conflict")
    assert added.line(dry_run=True, width=7) == "  member  DiegoS@contoso.com: would be added"
    assert added.line(dry_run=False, width=7) == "  member  DiegoS@contoso.com: added"
    assert kept.line(dry_run=True, width=9) == "  old       policy-1: kept (conflict)"
    assert changed([kept, added]) and not changed([kept])


def test_unchanged_only_after_a_run_that_changed_nothing() -> None:
    exists = [Step("group", "SyncIsAllowed", Outcome.EXISTS)]
    assert unchanged_line(exists, dry_run=False, ok=True) == ["unchanged: everything was already in place"]
    assert unchanged_line(exists, dry_run=True, ok=True) == []
    assert unchanged_line(exists, dry_run=False, ok=False) == []
    assert unchanged_line([], dry_run=False, ok=True) == []  # nothing to do is not "already in place"
    assert unchanged_line([Step("group", "G", Outcome.CREATED)], dry_run=False, ok=True) == []


@pytest.mark.parametrize(
    ("auth", "admin_app", "sync_app", "refused"),
    [
        ("app-token", SYNC_APP, SYNC_APP, True),
        ("app-certificate", SYNC_APP.upper(), SYNC_APP, True),
        ("app-token", ADMIN_APP, SYNC_APP, False),
        ("device-code", SYNC_APP, SYNC_APP, False),  # an administrator signs in; no app credential is used
        ("app-token", SYNC_APP, None, False),  # no sync app known (policy list without --app-id)
        ("app-token", "", SYNC_APP, False),
    ],
)
def test_the_admin_app_is_never_the_sync_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    auth: str,
    admin_app: str,
    sync_app: str | None,
    refused: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={}, overrides={"exo.auth": auth, "exo.app_id": admin_app})
    problem = admin_app_problem(settings, sync_app)
    assert (problem is not None) == refused
    if problem is not None:
        assert problem.message.startswith("exo.app_id is the sync app's id")
        assert "must not be able to lift its own restriction" in str(problem.remedy)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("MemberOfGroup -eq 'CN=SyncIsAllowed,OU=contoso,DC=x'", True),  # as roomsops writes it
        ('MemberOfGroup -eq "CN=SyncIsAllowed,OU=contoso,DC=x"', True),  # as an administrator may
        ("{ (MemberOfGroup -eq 'cn=syncisallowed, OU=contoso,DC=x') }", True),
        ("-not (MemberOfGroup -eq 'CN=SyncIsAllowed,OU=contoso,DC=x')", True),
        ("MemberOfGroup -eq 'CN=SyncIsAllowed2,OU=contoso,DC=x'", False),
        ("MemberOfGroup -eq 'CN=Other,CN=SyncIsAllowed,OU=contoso,DC=x'", False),
    ],
)
def test_a_scope_filters_on_the_group_however_its_dn_is_quoted(text: str, found: bool) -> None:
    """review21c #2: `policy remove --with-group` keeps a group a management scope filters on; a hand-written
    filter with double quotes or other spacing names the group too."""
    from roomsops.services.policy.rbac import filter_values, filters_on_group, member_of_filter

    assert filters_on_group(text, "CN=SyncIsAllowed,OU=contoso,DC=x") is found
    odd = "CN=Sync’ -or Alias -ne ’x,OU=contoso"
    assert filter_values(member_of_filter(odd)) == [odd]
