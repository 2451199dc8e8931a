"""Every key of a claims file is validated at load, and proofs/SCHEMA.md documents every key."""

import re
from pathlib import Path

import pytest

from certify import schema
from certify.registry import RegistryError, available_methods, load, proofs_directory

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_MD = ROOT / "proofs" / "SCHEMA.md"

ENTRY = """[[theorem]]
id = "x-a"
title = "t"
paper = "p"
citation = "c"
version = "v"
number = "1"
page = 1
kind = "lemma"
construction = "m:f"
method = "cells-lp"
[theorem.parameters.n]
kind = "int"
default = 2
min = 1
max = 9
[theorem.target]
dim = "1"
[theorem.claim]
norm = "Linf"
region = "[0,1]"
bound = "1/n"
[theorem.claim.architecture]
width = { le = "n" }
[theorem.analysis]
slope = "-1"
"""


def _load(tmp_path, text):
    (tmp_path / "intrinsic").mkdir(exist_ok=True)
    (tmp_path / "intrinsic" / "claims.toml").write_text(text)
    return load(tmp_path)


def _sections() -> dict[str, set]:
    """Heading line -> the backticked names in the first column of the tables under it."""
    out: dict[str, set] = {}
    heading = ""
    for line in SCHEMA_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line
            out.setdefault(heading, set())
        elif line.startswith("|") and not re.match(r"^\|\s*-", line):
            first = line.strip("|").split("|")[0]
            out[heading].update(re.findall(r"`([^`]+)`", first))
    return out


def _section(marker: str) -> set:
    found = [names for heading, names in _sections().items() if marker in heading]
    assert len(found) == 1, f"proofs/SCHEMA.md needs one heading with {marker}"
    return found[0]


def all_measured_names() -> set:
    out: set = set()
    for d in proofs_directory().iterdir():
        if d.is_dir() and (d / "claims.toml").is_file():
            for method in available_methods(d.name).values():
                out |= schema.measured_names(method.measure)
    return out


def test_the_catalogue_loads_under_the_schema():
    assert load().theorems


@pytest.mark.parametrize("marker,keys", sorted(schema.SECTIONS.items()))
def test_schema_md_documents_every_allowed_key(marker, keys):
    documented = _section(marker)
    missing = sorted(set(keys) - documented)
    assert not missing, f"proofs/SCHEMA.md, table under {marker}: add {missing}"
    stale = sorted(documented - set(keys))
    assert not stale, f"proofs/SCHEMA.md, table under {marker}: {stale} are refused at load"


def test_schema_md_documents_every_architecture_claim_name():
    documented = _section("Architecture claim names")
    wanted = all_measured_names() | {schema.INTRINSIC} | \
        {f"{schema.GADGET_PREFIX}NAME.{f}" for f in schema.GADGET_FIELDS}
    missing = sorted(wanted - documented)
    assert not missing, f"proofs/SCHEMA.md, Architecture claim names: add {missing}"
    stale = sorted(n for n in documented - wanted if not n.startswith(schema.GADGET_PREFIX))
    assert not stale, f"proofs/SCHEMA.md, Architecture claim names: no method measures {stale}"


def test_every_key_in_use_is_documented():
    """Walk the installed claims: each key that occurs is in the tables (and so allowed)."""
    import tomllib

    used: dict[str, set] = {m: set() for m in schema.SECTIONS}
    for path in proofs_directory().glob("*/claims.toml"):
        for raw in tomllib.loads(path.read_text(encoding="utf-8"))["theorem"]:
            used["`[[theorem]]`"] |= set(raw)
            for p in raw.get("parameters", {}).values():
                used["`parameters.NAME`"] |= set(p)
            used["`target`"] |= set(raw.get("target", {}))
            used["`claim`"] |= set(raw["claim"])
            for spec in raw["claim"].get("architecture", {}).values():
                used["`claim.architecture.NAME`"] |= set(spec)
            used["`analysis`"] |= set(raw.get("analysis", {}))
    for marker, keys in used.items():
        assert keys <= _section(marker), (marker, sorted(keys - _section(marker)))


@pytest.mark.parametrize("old,new,needle", [
    ('page = 1\n', 'page = 1\nmetod = "x"\n', r"unknown key 'metod' in \[\[theorem\]\]; allowed: .*analysis"),
    ('max = 9\n', 'max = 9\nstep = 2\n', r"unknown key 'step' in \[parameters.n\]"),
    ('max = 9\n', 'max = 9\nchoices = ["1"]\n', r"unknown key 'choices' in \[parameters.n\] \(kind 'int'\)"),
    ('dim = "1"\n', 'dim = "1"\nlipschitz = "1"\n', r"unknown key 'lipschitz' in \[target\]; allowed: default, dim, range"),
    ('bound = "1/n"\n', 'bound = "1/n"\nbuond = "1"\n', r"unknown key 'buond' in \[claim\]"),
    ('width = { le = "n" }', 'widht = { le = "n" }', r"unknown architecture claim 'widht'.*allowed: .*width"),
    ('width = { le = "n" }', 'g_width = { le = "n" }', r"'g_width': method 'cells-lp' measures none"),
    ('width = { le = "n" }', 'width = { lt = "n" }', r"unknown key 'lt' in architecture claim 'width'; allowed: eq, le"),
    ('width = { le = "n" }', 'width = { le = "n", eq = "n" }', r"exactly one of eq, le"),
    ('width = { le = "n" }', '"gadget:phi.prams" = { le = "n" }', r"gadget:NAME.FIELD"),
    ('width = { le = "n" }', '"gadget:a.params+width" = { le = "n" }', r"gadget terms only"),
    ('slope = "-1"\n', 'slope = "-1"\nK = "n"\n', r"unknown key 'K' in \[analysis\]; allowed: axes, cells, columns, slope"),
    ('slope = "-1"\n', 'slope = "-1"\naxes = "log"\n', r"analysis.axes = 'log'; allowed: loglog, semilog"),
    ('[theorem.target]', '[theorem.derived]\nn = "2"\n[theorem.target]', r"derived name 'n' is also a parameter"),
    ('[theorem.parameters.n]', '[theorem.parameters.sqrt]\nkind = "int"\ndefault = 1\nmin = 1\nmax = 2\n'
     '[theorem.parameters.n]', r"parameter name 'sqrt' is reserved"),
    ('page = 1\n', 'page = "one"\n', r"page must be an integer"),
    ('bound = "1/n"\n', 'bound = "1/n"\nstrict = "yes"\n', r"claim.strict must be true or false"),
])
def test_unknown_keys_are_refused_with_file_id_key_and_allowed(tmp_path, old, new, needle):
    assert _load(tmp_path, ENTRY).get("x-a")
    assert old in ENTRY
    with pytest.raises(RegistryError, match=needle) as info:
        _load(tmp_path, ENTRY.replace(old, new, 1))
    assert str(info.value).startswith("intrinsic/claims.toml: x-a: ")


def test_gadget_sums_and_intrinsic_are_allowed(tmp_path):
    text = ENTRY.replace('width = { le = "n" }', 'width = { le = "n" }\nintrinsic = { eq = "n" }\n'
                         '"gadget:phi1.params+gadget:mid" = { le = "9" }\n"gadget:mid.count" = { eq = "1" }')
    thm = _load(tmp_path, text).get("x-a")
    assert set(thm.claim["architecture"]) == {"width", "intrinsic", "gadget:phi1.params+gadget:mid",
                                              "gadget:mid.count"}


def test_unknown_file_level_key_is_refused(tmp_path):
    with pytest.raises(RegistryError, match=r"intrinsic/claims.toml: unknown key 'theorems' in the file"):
        _load(tmp_path, ENTRY.replace("[[theorem]]", "[[theorems]]"))


def test_cli_reports_a_bad_key_in_one_line(tmp_path, monkeypatch, capsys):
    import certify.registry as registry
    from certify.cli import main

    (tmp_path / "intrinsic").mkdir()
    (tmp_path / "intrinsic" / "claims.toml").write_text(ENTRY.replace('bound = "1/n"\n', 'bound = "1/n"\nbuond = "1"\n'))
    monkeypatch.setattr(registry, "PROOFS", tmp_path)
    registry.default_registry.cache_clear()
    try:
        assert main(["list"]) == 2
    finally:
        registry.default_registry.cache_clear()
    err = capsys.readouterr().err
    assert "buond" in err and "x-a" in err and "Traceback" not in err


def test_a_strict_claim_is_allowed_and_loaded(tmp_path):
    """claim.strict = true: the statement is "error < bound" (certify.method.compare)."""
    thm = _load(tmp_path, ENTRY.replace('bound = "1/n"\n', 'bound = "1/n"\nstrict = true\n')).get("x-a")
    assert thm.claim["strict"] is True


DOC = """[[documentation]]
id = "x-doc"
title = "t"
paper = "p"
citation = "c"
version = "v"
number = "2"
page = 3
kind = "theorem"
notes = "n"
no_verdict = "existential: nothing to build"
"""


def test_a_documentation_entry_is_loaded_apart_and_has_no_verdict(tmp_path):
    from certify.catalogue import markdown_catalogue
    from constructive.errors import UserError

    reg = _load(tmp_path, ENTRY + DOC)
    assert "x-doc" not in reg.theorems and "x-doc" in reg.documentation
    with pytest.raises(UserError, match="documentation only.*existential"):
        reg.get("x-doc")
    assert "documentation only, no verdict" in markdown_catalogue(reg)


@pytest.mark.parametrize("old,new,needle", [
    ('no_verdict = "existential: nothing to build"\n', "", "missing field no_verdict"),
    ('notes = "n"', 'notes = "n"\nmethod = "cells-lp"', "method"),
    ('id = "x-doc"', 'id = "x-a"', "duplicate"),
])
def test_a_bad_documentation_entry_is_refused(tmp_path, old, new, needle):
    with pytest.raises(RegistryError, match=needle):
        _load(tmp_path, ENTRY + DOC.replace(old, new))
