"""review21t: `policy restrict --engine rbac --sp-object-id X` with X not a GUID answers "copy the service principal
object id from the app registration's Overview page in the Entra admin center". That is the one object id it must
not be: the option's own error (and README, FIDELITY.md "Wrong service principal object id") says the Object ID of
the *enterprise application* (Enterprise applications → the app → Overview), "not the app registration's object
id" — a pointer made with that one grants nothing while Test-ServicePrincipalAuthorization shows InScope. Issue 21,
Deliver 6: every remedy sentence points at a command (here: a value) that works for that situation."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke


def test_a_malformed_sp_object_id_points_at_the_enterprise_application(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    settings = tmp_path / "roomsops.toml"
    settings.write_text("", encoding="utf-8")
    env = {"ROOMSOPS_APP_SETTINGS": str(app_settings), "ROOMSOPS_SETTINGS": str(settings)}
    run = invoke(
        "policy", "restrict", "--engine", "rbac", "--member", "DiegoS@contoso.example",
        "--sp-object-id", "not-a-guid", env=env,
    )  # fmt: skip
    assert run.code == 2, run.out + run.err
    assert "not-a-guid" in run.err, run.err
    assert "app registration's Overview page" not in run.err, run.err
    assert "Enterprise applications" in run.err, run.err
