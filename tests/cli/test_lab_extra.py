"""`roomsops lab serve` without the `lab` extra: one line naming the extra, exit 2, no folder made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# A stand-in interpreter where psrpcore (or tomli-w) cannot be imported, as after `pip install roomsops`.
_WITHOUT = """
import sys
sys.modules[{module!r}] = None  # import of this name raises ImportError
from roomsops.cli import main
sys.argv = ["roomsops", "lab", "serve", "--dir", {folder!r}]
main()
"""


@pytest.mark.parametrize("module", ["psrpcore", "tomli_w"])
def test_lab_serve_without_the_lab_extra_says_how_to_install_it(tmp_path: Path, module: str) -> None:
    folder = tmp_path / "lab"
    run = subprocess.run(
        [sys.executable, "-c", _WITHOUT.format(module=module, folder=str(folder))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    assert run.stderr.startswith(
        f"Error: the lab needs the package {module}, which roomsops' 'lab' extra installs"
    )
    assert "pip install 'roomsops[lab]'" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not folder.exists()
