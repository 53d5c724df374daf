"""review21w: fix21u refuses empty option values (`GivenText`: "`--group "$GROUP"` with the variable unset is a
mistake, not a request for the default"), and `--settings ""` is refused too — but the global `--app-settings ""`
is taken as no option: `roomsops --app-settings "$ROOMS_CFG" config set ExchangeUseImpersonation false` with the
variable unset edits the default RoomsAppSettings.config (on the ROOMS server: ROOMS' production file under
Program Files), exit 0, "Restart the ROOMS service". Expected as for --settings: exit 2 "--app-settings is empty",
nothing changed (issue 21, Deliver 5 and 7: configuration errors are exit 2, nothing changed)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke


def test_an_empty_app_settings_is_refused(invoke: Invoke, app_settings: Path) -> None:
    before = app_settings.read_bytes()
    refused = invoke("--settings", "", "config", "show")
    assert refused.code == 2, refused.out + refused.err  # --settings "" is refused (holds already)
    run = invoke("--app-settings", "", "config", "set", "ExchangeUseImpersonation", "false")
    assert app_settings.read_bytes() == before, run.out + run.err
    assert run.code == 2, run.out + run.err
