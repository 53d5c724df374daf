"""review21ad: README's "JSON output" section lists every command's `--json` shape ("tests read this list and compare
it with real output"; issue 21, Deliver 8: every command's --json shape documented and pinned by a test) — except
`serve`. `roomsops --json serve --max-ticks N` prints `{"ticks", "passes", "failed", "claimed", "lease_lost",
"failed_rounds", "ok"}`, and fix21ac just added `failed_rounds` to it with no shape to pin it (the README names the
key only in prose). A monitoring wrapper that runs `serve --max-ticks` (README: it "stops after N rounds (exit
0)") has no documented document to read, and nothing catches the next key added or renamed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.test_readme_json import assert_documented, document, readme_shapes
from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_the_serve_document_is_documented(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    ok(invoke("persons", "add", addr("Nobody"), "--no-check", env=env))  # a pass that fails: "failed": 1
    run = invoke(
        "--json", "serve", "--max-ticks", "1", env=env | {"ROOMSOPS_SERVE_STATUS_LISTEN": "127.0.0.1:0"}
    )
    served = document(run)
    assert served["failed"] == 1 and "failed_rounds" in served, served
    assert "serve" in readme_shapes(), sorted(readme_shapes())
    assert_documented("serve", served)
