"""review21e: fix21d made an unknown person exit 2 in `sync resume|purge`; `sync diff --person` still answers."""

from __future__ import annotations

from tests.conftest import Invoke


def test_sync_diff_of_an_unknown_person_is_bad_input(invoke: Invoke) -> None:
    """Steps: `persons add diego@contoso.com` (offline), then `sync diff --person dieog@contoso.com` (a typo).
    Expected (fix21d: "`sync resume|purge --person` with an address that is no person ...: exit 2"; `sync --person`,
    `sync migrate --person`, `bookings list --organizer` refuse an unknown person with exit 2 too; README exit code 2
    = invalid input): exit 2 naming the address, as every other command taking a person does.
    Actual: "no open differences", exit 0 — an administrator checking one person's differences after a conflict is
    told all is well, for an address that is no person at all."""
    assert invoke("persons", "add", "diego@contoso.com").code == 0
    run = invoke("sync", "diff", "--person", "dieog@contoso.com")
    assert run.code == 2, (run.code, run.out, run.err)
    assert "dieog@contoso.com" in run.err, run.err
    assert "(closest: diego@contoso.com)" in run.err, run.err
    # A person, in any case, still gets its differences.
    for known in ("diego@contoso.com", "Diego@Contoso.com"):
        shown = invoke("sync", "diff", "--person", known)
        assert (shown.code, shown.out) == (0, "no open differences\n"), (shown.code, shown.out, shown.err)
