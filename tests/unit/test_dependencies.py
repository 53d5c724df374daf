"""Issue 17, D14: capped dependencies, a hashed lock that installs them, and an audit that says when it
could not check (before: `pip-audit` could not reach its database, so "no known vulnerabilities" proved
nothing)."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
LOCK = (ROOT / "requirements.lock").read_text(encoding="utf-8")
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)


def locked() -> dict[str, tuple[str, int]]:
    return {canonicalize_name(m[1]): (m[2], m[3].count("--hash=")) for m in PIN.finditer(LOCK)}


def declared() -> list[Requirement]:
    extras = PROJECT["optional-dependencies"]
    return [Requirement(r) for r in [*PROJECT["dependencies"], *extras["test"], *extras["lab"]]]


@pytest.mark.parametrize("requirement", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["lab"])
def test_every_runtime_dependency_is_capped(requirement: str) -> None:
    specifiers = Requirement(requirement).specifier
    assert any(s.operator == "<" for s in specifiers), f"{requirement} has no upper bound"
    assert any(s.operator == ">=" for s in specifiers), f"{requirement} has no lower bound"


def test_the_lock_pins_every_declared_package_within_its_range_with_hashes() -> None:
    pins = locked()
    assert len(pins) == LOCK.count("==")  # every pin has hashes (the regex needs at least one)
    for requirement in declared():
        version, hashes = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
        assert hashes >= 1


def test_the_venv_installs_from_the_lock_with_hashes() -> None:
    script = (ROOT / "scripts" / "_venv.sh").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in script
    assert "--no-deps --no-build-isolation -e ." in script


def test_the_audit_says_plainly_when_its_database_is_unreachable(tmp_path: Path) -> None:
    # A proxy that refuses every connection: the audit must not claim anything.
    env = {
        **os.environ,
        "https_proxy": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "",
        "NO_PROXY": "",
    }
    run = subprocess.run(
        [str(ROOT / "scripts" / "audit")], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 3
    assert run.stderr.startswith(
        "NOT CHECKED: the vulnerability database (osv, https://api.osv.dev/v1/query) is unreachable from here: "
    )
    assert "No statement about known vulnerabilities" in run.stderr
    assert run.stdout == ""
