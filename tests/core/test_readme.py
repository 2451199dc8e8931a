"""The README stands on its own and its theorem catalogue is the registry's."""

import re
from pathlib import Path

import pytest

from certify.catalogue import BEGIN, END, REGENERATE, block, markdown_catalogue, replace_block, update_file
from certify.cli import main
from certify.registry import default_registry
from constructive.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_catalogue_is_the_generated_one():
    text = README.read_text(encoding="utf-8")
    want = markdown_catalogue(default_registry())
    assert block(text, "README.md") == want, \
        f"the README's theorem catalogue differs from the registry; run `{REGENERATE}`"


def test_catalogue_lists_every_theorem_once():
    reg = default_registry()
    cat = markdown_catalogue(reg)
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", cat, flags=re.M)
    assert sorted(rows) == sorted([*reg.theorems, *reg.documentation])
    # a pipe in a title must not split its row into more cells
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 4 for line in cat.splitlines()
               if line.startswith("| `"))


def test_list_markdown_and_update(tmp_path, capsys):
    assert main(["list", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_catalogue(default_registry())
    doc = tmp_path / "doc.md"
    doc.write_text(f"# x\n\n{BEGIN}\nstale\n{END}\n\ntail\n")
    assert main(["list", "--update", str(doc)]) == 0
    text = doc.read_text()
    assert "stale" not in text and text.startswith("# x\n") and text.endswith("\ntail\n")
    assert block(text) == markdown_catalogue(default_registry())
    assert not update_file(str(doc), default_registry())  # idempotent


def test_update_without_markers_is_one_clear_error(tmp_path, capsys):
    doc = tmp_path / "doc.md"
    doc.write_text("# no markers\n")
    assert main(["list", "--update", str(doc)]) == 2
    err = capsys.readouterr().err
    assert "catalogue:begin" in err and "Traceback" not in err
    assert doc.read_text() == "# no markers\n"
    assert main(["list", "--update", str(tmp_path / "absent.md")]) == 2
    with pytest.raises(UserError, match="before"):
        replace_block(f"{END}\n{BEGIN}\n", "x")


def test_readme_names_no_file_outside_the_repository():
    text = README.read_text(encoding="utf-8")
    assert "../" not in text
    for name in ("DESIGN.md", "TRUST.md", "papers/", "shared/"):
        assert name not in text, name


def test_readme_paths_exist():
    """Every repository path the README names in backticks exists (no stale module paths)."""
    text = README.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:constructive|certify|proofs|gpu|tests|benchmarks|experiments)"
                           r"/[A-Za-z0-9_./]*)`", text))
    assert paths
    for path in paths:
        if "<" in path or "*" in path:
            continue
        assert (ROOT / path).exists(), path
