"""review21w: fix21u added the error code `no_database` (README "Error codes": settings that lead to no database,
nothing created) for `persons list`, `rooms list`, `bookings list` and `sync diff`; the same situation in the
commands that refused it before has other codes: `rooms check` gives `bad_input` and `db upgrade` gives
`database_missing`, which README documents for a database gone while the installation's id is remembered
(not so on a fresh folder). A monitor or script that keys on `--json`'s
`error.code` (README "JSON output") needs one code per situation (issue 21, Deliver 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize("args", [("rooms", "check"), ("db", "upgrade")], ids=["rooms check", "db upgrade"])
def test_no_database_has_one_code(
    invoke: Invoke, tmp_path: Path, app_settings: Path, args: tuple[str, ...]
) -> None:
    reference = invoke("--json", "persons", "list")
    assert json.loads(reference.out)["error"]["code"] == "no_database", reference.out
    run = invoke("--json", *args)
    assert run.code == 2, run.out + run.err
    assert json.loads(run.out)["error"]["code"] == "no_database", run.out
