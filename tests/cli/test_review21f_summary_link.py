"""review21f: the sync summary file as a symbolic link (fix21f: "the document is written at the target ... created
if missing"; README: it "may be a symbolic link (e.g. into a backed-up folder): roomsops writes their targets")."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke


def test_a_summary_link_into_a_missing_folder_gets_a_remedy_that_works(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    """Steps: roomsops-last-sync.json (the default summary beside the database) is a symbolic link to
    monitoring/roomsops-last-sync.json, whose folder does not exist (yet, or any more); `roomsops sync` (no persons:
    no connection needed).
    Expected (issue 21.6: "Every remedy sentence points at a command that works for that situation"; a plain
    `sync.summary_file` in a missing folder has its folder created, and fix21f creates a missing target): the summary
    is written (its folder made as for a plain path), or exit 2 naming the link and what to do about it.
    Actual: exit 2, "cannot write in .../monitoring: No such file or directory — run roomsops as a user who may write
    .../monitoring (on Windows: from an elevated prompt)": the link is not named, and neither another account nor an
    elevated prompt can write into a folder that does not exist."""
    assert (
        invoke(
            "--app-settings", str(app_settings), "persons", "add", "diego@contoso.com", "--sync-mode", "None"
        ).code
        == 0
    )  # a database (a person roomsops does not sync: no connection)
    link = tmp_path / "roomsops-last-sync.json"
    target = tmp_path / "monitoring" / "roomsops-last-sync.json"
    link.symlink_to(target)
    run = invoke("--app-settings", str(app_settings), "sync")
    if run.code == 0:
        assert target.is_file() and link.is_symlink(), run.out
        return
    assert run.code == 2, (run.code, run.err)
    assert str(link) in run.err and "elevated" not in run.err and "may write" not in run.err, run.err
