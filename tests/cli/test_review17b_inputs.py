"""Review of issue 17 (second part): group names that look like another group's, and bytes that are not UTF-8.

A zero-width space, a direction override or a soft hyphen made `policy restrict` create (and scope the policy
to) a group that prints exactly like `SyncIsAllowed`; only characters below U+0020 were refused.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import APP, Invoke

HIDDEN = {
    "zero-width space": "\u200b",
    "right-to-left override": "\u202e",
    "soft hyphen": "\u00ad",
    "byte-order mark": "\ufeff",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "next line (C1)": "\u0085",
    "delete": "\u007f",
    "private use": "\ue000",
}


@pytest.mark.parametrize("where", ["--group", "--scope", "remove --group"])
@pytest.mark.parametrize("char", list(HIDDEN.values()), ids=list(HIDDEN))
def test_review17b_a_group_name_with_an_invisible_character_is_exit_2(
    invoke: Invoke, char: str, where: str
) -> None:
    name = f"SyncIs{char}Allowed"
    if where == "remove --group":
        args = ["policy", "remove", "--group", name, "--app-id", APP, "--yes"]
    else:
        args = ["policy", "restrict", "--print-script", "--app-id", APP, "--member", "diego@contoso.com"]
        args += ["--engine", "rbac", "--sp-object-id", APP] if where == "--scope" else []
        args += [where, name]
    run = invoke(*args)
    # before: exit 0, a runbook (or a change) for a group that prints as SyncIsAllowed
    assert run.code == 2, run.out
    assert run.out == ""
    assert run.err == (
        f"Error: group name {name!r} contains the invisible or control character U+{ord(char):04X} — type the "
        "name without it (a zero-width or direction character makes a group that looks like another one)\n"
    )


def test_review17b_visible_non_ascii_group_names_are_still_taken(invoke: Invoke) -> None:
    for name in ("Zürich Räume", "Sync’s ‘team’ – 東京", "Équipe 😀"):
        run = invoke(
            "policy",
            "restrict",
            "--print-script",
            "--app-id",
            APP,
            "--member",
            "diego@contoso.com",
            "--group",
            name,
        )
        assert run.code == 0, run.err
        assert run.out.isascii()


@pytest.mark.parametrize("json_mode", [False, True])
def test_review17b_an_argument_that_is_not_utf8_is_exit_2_not_an_internal_error(
    invoke: Invoke, json_mode: bool
) -> None:
    bad = os.fsdecode(b"Sync\xffAllowed")
    args = ["policy", "restrict", "--print-script", "--app-id", APP, "--member", "diego@contoso.com"]
    run = invoke(*(["--json"] if json_mode else []), *args, "--group", bad)
    # before: "Error: unexpected UnicodeEncodeError: 'utf-16-be' codec can't encode …", exit 1
    assert run.code == 2
    if json_mode:
        assert '"code": "usage"' in run.out and "is not UTF-8 text" in run.out
    else:
        assert run.out == ""
        assert run.err == (
            "Error: the argument 'Sync\\udcffAllowed' is not UTF-8 text — give it as UTF-8 (check the encoding of "
            "the script or terminal); nothing was changed\n"
        )
