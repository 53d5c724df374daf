"""The wheel carries the templates: build it, install it offline into a fresh venv, run config init."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_templates_and_config_init_works(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(dist),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("roomsops-*.whl")
    assert "roomsops/templates/RoomsAppSettings.config.j2" in zipfile.ZipFile(wheel).namelist()

    target = tmp_path / "venv"
    # No pip in the new venv (ensurepip took most of this test's time): this environment's pip installs into it.
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(target)
    python = target / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        cwd=tmp_path,
    )
    # The dependencies live in the test's own environment; expose its site-packages, not its .pth
    # files (the editable install's path to the source checkout must not leak in).
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOMSOPS_", "PYTHON"))}
    where = subprocess.run(
        [str(python), "-c", "import roomsops.core.templates as t; print(t.templates_dir())"],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    ).stdout.strip()
    assert where.startswith(purelib), where
    done = subprocess.run(
        [
            str(target / "bin" / "roomsops"),
            "--app-settings",
            "RoomsAppSettings.config",
            "config",
            "init",
            "--tenant-id",
            "0b6c2c33-7c28-4ab0-9f1d-5d2b0f6b9a11",
            "--app-id",
            "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f",
            "--cert-thumbprint",
            "3A7F5C19D26B8E440F1A2B3C4D5E6F708192A3B4",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert b'key="ExchangeCertThumbprint"' in (work / "RoomsAppSettings.config").read_bytes()
