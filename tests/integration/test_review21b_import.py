"""review21b: `persons import` looks every address up in Exchange (issue 21.2): mixed rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_import_with_mixed_rows_names_every_bad_row_and_imports_nothing(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    fresh_lab.admin("POST", "mailboxes", json={"email": addr("room-genf"), "kind": "room"})
    csv = tmp_path / "persons.csv"
    rows = [addr("DiegoS"), addr("nobody-here"), addr("AdeleV"), addr("room-genf")]
    csv.write_text(
        "email,name,sync_mode,sync_url,conflict_behaviour\n" + "".join(f"{r},,,,\n" for r in rows),
        encoding="utf-8",
    )
    checked = {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    run = invoke("persons", "import", str(csv), env=checked)
    assert run.code == 2, run.out + run.err
    assert "nobody-here" in run.err and "line 3" in run.err, run.err
    assert "room-genf" in run.err and "line 5" in run.err, run.err  # a room is no person
    listed = invoke("persons", "list", env=env)  # nothing imported, not even the database made (fix21u)
    assert listed.code == 2 and "no ROOMS database" in listed.err, (listed.out, listed.err)
    offline = invoke("persons", "import", str(csv), "--no-check", env=checked)
    assert offline.code == 0, offline.out + offline.err  # offline: the syntax only
