"""Every module path the CLI loads late exists, with every name the CLI takes from it.

The CLI loads services on first use (`lazy("roomsops.services...")`, imports inside functions) so that
`roomsops --help` stays fast. A wrong path there fails only when a user runs that command; mypy reads the
TYPE_CHECKING imports, not the strings. So this test reads the CLI's source and imports what it names.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

import roomsops.cli

CLI_DIR = Path(roomsops.cli.__file__).parent
CLI_FILES = sorted(p for p in CLI_DIR.glob("*.py") if p.name != "lazy.py")


@dataclass(frozen=True)
class LazyUse:
    file: str
    variable: str
    module: str
    attributes: frozenset[str]


def lazy_uses(path: Path) -> list[LazyUse]:
    """`NAME = lazy("module")` anywhere in the file, with every `NAME.attribute` the file reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "lazy"
        ):
            (argument,) = node.value.args
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), ast.dump(node)
            modules[node.targets[0].id] = argument.value
    used: dict[str, set[str]] = {name: set() for name in modules}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            used[node.value.id].add(node.attr)
    return [LazyUse(path.name, name, modules[name], frozenset(used[name])) for name in modules]


def deferred_imports(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(file, module, names) of every import inside a function: loaded on first call, not at start-up."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path.name, node.module, tuple(a.name for a in node.names)))
            elif isinstance(node, ast.Import):
                found.extend((path.name, a.name, ()) for a in node.names)
    return found


def type_checking_imports(path: Path) -> dict[str, str]:
    """The `if TYPE_CHECKING:` block's `from package import module as NAME`: NAME → package.module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        names[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
    return names


LAZY = [use for path in CLI_FILES for use in lazy_uses(path)]
DEFERRED = sorted({entry for path in CLI_FILES for entry in deferred_imports(path)})


def test_the_cli_has_lazy_modules_to_check() -> None:
    # If this fails, the parsing above no longer recognises how the CLI defers its imports.
    assert len(LAZY) >= 10 and {use.file for use in LAZY} >= {"policy.py", "sync.py", "bookings.py"}
    assert all(use.attributes for use in LAZY), [u for u in LAZY if not u.attributes]


@pytest.mark.parametrize("use", LAZY, ids=lambda u: f"{u.file}:{u.variable}")
def test_each_lazy_module_imports_and_has_what_the_cli_uses(use: LazyUse) -> None:
    module = importlib.import_module(use.module)
    missing = sorted(a for a in use.attributes if not hasattr(module, a))
    assert not missing, f"{use.file} uses {use.variable}.{{{', '.join(missing)}}} but {use.module} has none"


@pytest.mark.parametrize("use", LAZY, ids=lambda u: f"{u.file}:{u.variable}")
def test_each_lazy_module_is_the_one_the_type_checker_sees(use: LazyUse) -> None:
    checked = type_checking_imports(CLI_DIR / use.file).get(use.variable)
    if checked is not None:
        assert checked == use.module, f"{use.file}: mypy checks {checked}, the program loads {use.module}"


@pytest.mark.parametrize("entry", DEFERRED, ids=lambda e: f"{e[0]}:{e[1]}")
def test_each_import_inside_a_cli_function_resolves(entry: tuple[str, str, tuple[str, ...]]) -> None:
    _file, name, names = entry
    module = importlib.import_module(name)
    missing = [n for n in names if not hasattr(module, n)]
    for n in missing:  # `from package import submodule`
        importlib.import_module(f"{name}.{n}")
