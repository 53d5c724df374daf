"""Issue 21 (Deliver 6 and 7): README's "Error codes" section lists every error code a command can print, with its
exit code. The codes are read from the code base (not from a list kept beside it): every `code=` given to an error
(or a mailbox report), every `code` class attribute of an error class, every `"code": ...` of an error document
and every code held by a lock kind. A code built with an f-string (`ews_{reason}`) is listed as `ews_<reason>`."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from pathlib import Path

from roomsops.adapters.ews.errors import REMEDIES as EWS_REMEDIES
from roomsops.adapters.graph.errors import REMEDIES as GRAPH_REMEDIES
from roomsops.core.errors import RoomsopsError

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Codes raised as an error only to be rendered: their exit code is not the error class's (Ctrl-C: 130 or 143).
RENDERED_ONLY = {"interrupted"}


def section() -> str:
    return README.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]


def documented() -> dict[str, str]:
    """{code: the row's exit column} of the section's table (a row may list several codes)."""
    rows: dict[str, str] = {}
    for line in section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for code in re.findall(r"`([^`]+)`", cells[0]):
            rows[code] = cells[1]
    return rows


def _text(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(v.value) if isinstance(v, ast.Constant) else f"<{ast.unparse(v.value)}>"  # type: ignore[attr-defined]
            for v in node.values
        )
    return None


def _resolve(module: object, dotted: str) -> object:
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
    return obj


def emitted() -> dict[str, set[int]]:
    """{code: the exit codes of the error classes that carry it (empty when not an error class)} over the product
    (the lab is not part of it)."""
    found: dict[str, set[int]] = {}
    for path in sorted((ROOT / "roomsops").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if (
            relative.parts[1] == "lab" or path.name == "__main__.py"
        ):  # the lab is no product; __main__ runs it
            continue
        name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }

        def add(code: str | None, cls: object = None) -> None:
            assert code, f"{relative}: a code that is not a string"  # noqa: B023
            exits = found.setdefault(code, set())
            if isinstance(cls, type) and issubclass(cls, RoomsopsError) and code not in RENDERED_ONLY:
                exits.add(int(cls.exit_code))

        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in ("code", "error_code"):
                        code = _text(keyword.value, constants)
                        if code is not None:  # else passed on from another error (`exc.code`): listed there
                            add(code, _resolve(module, ast.unparse(node.func)))
            elif isinstance(node, ast.ClassDef):
                cls = getattr(module, node.name, None)
                for statement in node.body:
                    target = getattr(statement, "target", None) or next(
                        iter(getattr(statement, "targets", [])), None
                    )
                    if isinstance(target, ast.Name) and target.id == "code" and isinstance(cls, type):
                        value = getattr(cls, "code", None)
                        if isinstance(value, str):
                            add(value, cls)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code":
                        text = _text(value, constants)
                        if text is not None:
                            add(text)
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple):
                if isinstance(node.value, ast.Tuple):
                    for target, value in zip(node.targets[0].elts, node.value.elts, strict=False):
                        text = _text(value, constants)
                        if isinstance(target, ast.Name) and target.id == "code" and text is not None:
                            add(text)
        for value in vars(module).values():  # instances that carry a code (the lock kinds)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                code = getattr(value, "code", None)
                if isinstance(code, str):
                    add(code)
    return found


def test_the_scan_sees_the_codes_of_every_kind() -> None:
    """The test's own premise: each way of giving a code is found (a keyword, a class, a document, a lock kind, an
    f-string), so a new code of any of these kinds cannot slip past."""
    codes = emitted()
    for code in ("mailbox_not_found", "bad_input", "exited", "policy_locked", "ews_<reason>", "terminated"):
        assert code in codes, code
    assert codes["group_empty"] == {1, 2}


def test_every_code_the_code_base_can_emit_is_in_the_readme() -> None:
    missing = sorted(set(emitted()) - set(documented()))
    assert not missing, f"README's 'Error codes' section lacks {missing}"


def test_each_row_gives_the_exit_codes_of_its_errors() -> None:
    rows = documented()
    wrong = {
        code: (sorted(exits), rows[code])
        for code, exits in emitted().items()
        if code in rows and not exits <= {int(n) for n in re.findall(r"\d+", rows[code])}
    }
    assert not wrong, wrong


def test_the_backend_reasons_are_named() -> None:
    """`ews_<reason>` and `graph_<reason>`: the reasons that have a remedy are named in their row."""
    row = next(line for line in section().splitlines() if "`ews_<reason>`" in line)
    missing = sorted(r for r in {*EWS_REMEDIES, *GRAPH_REMEDIES} if f"`{r}`" not in row)
    assert not missing, missing


def test_the_rows_name_no_code_that_does_not_exist() -> None:
    """A row for a code the code base no longer emits would send an administrator looking for it. (The token
    service's own OAuth errors are passed on as they come: named as examples.)"""
    oauth = {"invalid_client", "invalid_request", "unauthorized_client"}
    stale = sorted(set(documented()) - set(emitted()) - oauth)
    assert not stale, stale
