"""The shape of the code base, enforced: no import circle, small modules, every registry entry
resolvable and certified at its default instance (the layer contracts themselves are
import-linter's, run by .ci/run)."""

from pathlib import Path

import grimp
import networkx as nx
import pytest

from certify.certificate import run_theorem
from certify.registry import available_methods, default_registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("certify", "constructive", "gpu", "proofs")
MAX_LINES = 700


def test_no_import_circle_among_the_projects_modules():
    """Imports inside functions count: grimp sees every import statement."""
    graph = grimp.build_graph(*PACKAGES)
    edges = nx.DiGraph((m, i) for m in graph.modules for i in graph.find_modules_directly_imported_by(m))
    circles = [sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1]
    assert circles == []


def test_no_module_over_the_size_limit():
    long = {str(p.relative_to(ROOT)): n for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these modules (over {MAX_LINES} lines): {long}"


def test_every_entry_resolves_its_builder_and_a_method_of_its_own_package_or_the_core():
    for thm in default_registry().theorems.values():
        assert callable(thm.builder()), thm.id
        assert thm.method in available_methods(thm.package), thm.id
        assert thm.certification().name == thm.method


@pytest.mark.parametrize("theorem_id", sorted(default_registry().theorems))
def test_every_theorem_holds_at_its_default_instance(theorem_id):
    """...and every entry as printed of a known erratum is VIOLATED, with an exact witness."""
    cert = run_theorem(theorem_id, {})
    if default_registry().get(theorem_id).erratum:
        assert cert["verdict"] == "VIOLATED" and cert["witnesses"], cert["reasons"]
    else:
        assert cert["verdict"] == "HOLDS", cert["reasons"]
