"""The claims ship with the code: a wheel holds proofs/<paper>/claims.toml, and an empty registry is an error."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from certify.cli import main
from certify.registry import RegistryError, load

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_the_claims(tmp_path):
    pytest.importorskip("setuptools")
    src = tmp_path / "src"  # build from a copy: no build/ or egg-info in the working tree
    src.mkdir()
    keep = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("certify", "constructive", "gpu", "proofs"):
        shutil.copytree(ROOT / name, src / name, ignore=keep)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path / "dist"), str(src)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    wheel, = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    claims = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "proofs").glob("*/claims.toml"))
    assert len(claims) >= 8 and set(claims) <= names
    assert {"proofs/__init__.py", "proofs/SCHEMA.md", "certify/kernel/__init__.py"} <= names
    assert all(n.split("/")[0] != "tests" for n in names)


def test_empty_registry_directory_is_an_error(tmp_path):
    with pytest.raises(RegistryError, match="no theorem statements"):
        load(tmp_path)
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "claims.toml").write_text("# nothing here\n")
    with pytest.raises(RegistryError, match="no theorem"):
        load(tmp_path)
    with pytest.raises(RegistryError, match="cannot read"):
        load(tmp_path / "absent")


def test_broken_registry_is_one_line_from_the_cli(capsys, monkeypatch, tmp_path):
    import certify.registry as registry

    monkeypatch.setattr(registry, "default_registry", lambda: load(tmp_path))
    assert main(["list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("certify: error:") and "\n" not in err and "no theorem statements" in err
