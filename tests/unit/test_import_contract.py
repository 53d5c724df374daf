"""The import contract in pyproject.toml holds on this tree and catches what it is meant to catch.

Each case copies the package into a temporary folder, plants one bad import, and runs the same
`lint-imports` that scripts/test runs: it must fail there and pass on the real tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("lint-imports")),
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    shutil.copytree(ROOT / "roomsops", copy / "roomsops", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def plant(tree: Path, module: str, line: str) -> Path:
    """A copy of the package whose `module` gains `line` at the end."""
    copy = tree.parent / f"{tree.name}-{abs(hash((module, line)))}"
    if not copy.exists():
        shutil.copytree(tree, copy)
    path = copy / Path(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return copy


def test_the_contract_holds_on_this_tree(tree: Path) -> None:
    run = lint_imports(tree)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("roomsops.core.errors", "import roomsops.services.auth_test", "Layers"),
        ("roomsops.adapters.certs", "import roomsops.cli.lazy", "Layers"),
        ("roomsops.services.auth_test", "import click", "click only in the CLI"),
        ("roomsops.services.auth_test", "import roomsops.lab.faults", "never imports the lab"),
        ("roomsops.lab.faults", "import roomsops.core.errors", "lab imports nothing"),
        ("roomsops.core.errors", "import roomsops.core.timeutil", "No import cycles"),
    ],
)
def test_a_planted_violation_breaks_the_contract(tree: Path, module: str, line: str, broken: str) -> None:
    run = lint_imports(plant(tree, module, line))
    assert run.returncode == 1, run.stdout + run.stderr
    assert any(broken in row and "BROKEN" in row for row in run.stdout.splitlines()), run.stdout
