"""fix21q: `policy restrict --print-script --replace` printed the runbook without a word about --replace (the runbook
makes a policy and never removes one, so it stops on the existing policy of another access right): refused, exit 2,
nothing printed."""

from __future__ import annotations

from tests.conftest import APP, Invoke


def test_print_script_with_replace_is_refused_exit_2_with_nothing_printed(invoke: Invoke) -> None:
    args = ["policy", "restrict", "--print-script", "--app-id", APP, "--member", "diego@contoso.com"]
    run = invoke(*args, "--access-right", "DenyAccess", "--replace")
    assert run.code == 2, run.out + run.err
    assert run.out == ""
    assert run.err.startswith("Error: --replace does not apply to --print-script"), run.err
    assert invoke(*args, "--access-right", "DenyAccess").code == 0  # the same without --replace prints it
