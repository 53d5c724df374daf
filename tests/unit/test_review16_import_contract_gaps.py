"""Review of issue 16: imports `lint-imports` cannot see, checked here instead.

grimp (under import-linter) reads import statements, including those inside functions and `if TYPE_CHECKING:`
blocks, so those are covered by the contract. It does not read module names in strings, and it does not
treat the root package `roomsops` as "of roomsops" in the lab's contract (its forbidden modules are the four
layers). So:
- a module loaded by name (`lazy("...")`, `importlib.import_module`, `__import__`) happens only in the CLI,
  through `cli/lazy.py`, and names a module the CLI may import: a layer below, never the lab;
- the lab's imports of roomsops are of `roomsops.lab` only (`from roomsops import __version__` would pass
  `lint-imports`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "roomsops"
PRODUCT = sorted(p for p in PACKAGE.rglob("*.py") if PACKAGE / "lab" not in p.parents)
LAB = sorted((PACKAGE / "lab").rglob("*.py"))
DYNAMIC = {"import_module", "__import__", "lazy", "find_spec", "run_module"}
#: What a module loaded by name from the CLI may be (the CLI's own layer and those below it).
CLI_MAY_LOAD = ("roomsops.services.", "roomsops.adapters.", "roomsops.core.")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def calls_by_name(source: str) -> list[tuple[str, str | None]]:
    """(function, first argument if a literal string) of every call of a dynamic-import function."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in DYNAMIC:
            first = node.args[0] if node.args else None
            literal = (
                first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            )
            found.append((name, literal))
    return found


@pytest.mark.parametrize("path", PRODUCT, ids=module_name)
def test_modules_are_loaded_by_name_only_in_the_cli_and_never_upward_or_into_the_lab(path: Path) -> None:
    module = module_name(path)
    calls = calls_by_name(path.read_text(encoding="utf-8"))
    if module == "roomsops.cli.lazy":
        return  # the one place that calls importlib.import_module, with the name it is given
    if not module.startswith("roomsops.cli"):
        assert calls == [], f"{module} loads a module by name, which lint-imports cannot see: {calls}"
        return
    for function, name in calls:
        assert function == "lazy", (
            f"{module}: {function}() hides an import from lint-imports; use cli/lazy.py"
        )
        assert name is not None, f"{module}: lazy() with a computed name"
        assert name.startswith(CLI_MAY_LOAD), f"{module}: lazy({name!r}) is not a layer below the CLI"


def roomsops_imports(source: str, package: list[str]) -> list[str]:
    """Every roomsops module `source` (in `package`) imports, relative imports resolved."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            if node.module:
                found.append(".".join(part for part in (base, node.module) if part))
            else:  # `from .. import name`: name is a module (or a name) of that package
                found.extend(f"{base}.{alias.name}" for alias in node.names)
    return [name for name in found if name == "roomsops" or name.startswith("roomsops.")]


def lab_imports(path: Path) -> list[str]:
    package = module_name(path).split(".")
    return roomsops_imports(
        path.read_text(encoding="utf-8"), package if path.name == "__init__.py" else package[:-1]
    )


@pytest.mark.parametrize("path", LAB, ids=module_name)
def test_the_lab_imports_of_roomsops_only_the_lab(path: Path) -> None:
    outside = [name for name in lab_imports(path) if not (name + ".").startswith("roomsops.lab.")]
    assert outside == [], f"{module_name(path)} imports {outside}: the lab imports nothing of roomsops"


def test_the_checks_see_what_they_look_for() -> None:
    """The readers find what lint-imports misses (so an empty answer means something)."""
    planted = "from roomsops import __version__\nfrom ... import cli\nfrom . import faults\nimport roomsops.lab.web\n"
    assert roomsops_imports(planted, ["roomsops", "lab", "ews"]) == [
        "roomsops",
        "roomsops.cli",
        "roomsops.lab.ews.faults",
        "roomsops.lab.web",
    ]
    calls = 'import importlib\nimportlib.import_module("roomsops.cli.context")\nlazy("roomsops.lab.x")\n'
    assert calls_by_name(calls) == [("import_module", "roomsops.cli.context"), ("lazy", "roomsops.lab.x")]
    assert len(PRODUCT) > 50 and len(LAB) > 20
