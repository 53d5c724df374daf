"""review21c: remedies that point at a command that works for the situation (issue 21.6)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke, ok, one_line_error


def test_from_persons_without_synced_persons_does_not_suggest_from_persons(
    invoke: Invoke, app_settings: Path
) -> None:
    """`policy restrict --from-persons` where the database holds no person roomsops syncs (only a person in sync
    mode None) answers "no members given — pass --member EMAIL (repeatable), --members-file FILE or
    --from-persons": the option just given. The remedy must say why --from-persons found nobody (no O365/O365Pull
    person) and how to add one."""
    env = {"ROOMSOPS_APP_SETTINGS": str(app_settings)}
    ok(invoke("persons", "add", "adele@contoso.com", "--sync-mode", "None", env=env))
    run = invoke("policy", "restrict", "--from-persons", env=env)
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "--from-persons" not in line.split(" — ", 1)[1], line
