"""certify fuzz (certify/fuzz.py): drawing inside the domains, shrinking, errata, budgets."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings

import certify.certificate
from certify import cli, fuzz
from certify.registry import default_registry
from constructive.errors import UserError
from constructive.targets import user_target

REG = default_registry()


def _fake_certificate(verdict: str, n: str) -> dict:
    return {"verdict": verdict, "witnesses": [{"x": [f"1/{n}"], "error": "1"}], "reasons": [],
            "error": {"lower": "1", "upper": "1", "bound": "0"}}


def test_erratum_entry_is_found_violated_with_its_witness():
    thm = REG.get("syz-partial-bitsum-printed")
    result = fuzz.fuzz_theorem(thm, examples=3, seed=1, budget=60)
    assert result.minimal is not None and result.minimal.verdict == "VIOLATED"
    assert result.minimal.witness and result.minimal.witness["x"]
    assert result.status == "erratum: witness found (expected)" and not result.failed
    lo = thm.parameters["n"].min
    assert int(result.minimal.params["n"]) == lo  # shrunk to the small end of the domain


@pytest.mark.parametrize("theorem", ["euaf-rounding-odd", "syz-cpwl-one-layer"])
def test_cheap_correct_theorems_hold(theorem):
    result = fuzz.fuzz_theorem(REG.get(theorem), examples=3, seed=0, budget=30)
    assert result.outcomes and not result.failed and result.minimal is None
    assert all(o.verdict in ("HOLDS", "CONDITIONAL", "INCONCLUSIVE") for o in result.outcomes)


def _in_domain(thm, inst):
    params, target, lipschitz = inst
    parsed = thm.parse_params(params)  # raises on anything outside the TOML domains
    assert set(params) == set(thm.parameters)
    if target is None:
        return
    assert thm.target, "a target is drawn only for theorems that take one"
    try:
        t = certify.certificate.make_target_for(thm, parsed, target, lipschitz)
    except UserError:
        return  # a composition whose modulus the compiler cannot bound: refused, skipped
    # a drawn CPwL target's declared constant is one the compiler verifies
    assert not str(t.certified).startswith("assumption"), (target, t.certified)


@settings(max_examples=15, deadline=None)
@given(fuzz.instances(REG.get("syz-intrinsic-lp")))
def test_drawn_instances_lie_in_the_domains_with_certified_targets(inst):
    _in_domain(REG.get("syz-intrinsic-lp"), inst)


@settings(max_examples=15, deadline=None)
@given(fuzz.instances(REG.get("zlz-cor4-cpwl-architecture")))
def test_drawn_instances_without_target(inst):
    _in_domain(REG.get("zlz-cor4-cpwl-architecture"), inst)
    assert inst[1] is None


def test_cpwl_lipschitz_constant_is_checked():
    t = user_target("1/2 + (1)*Abs((1/2)*x1 - (1/3)) + (-1/2)*Abs((1)*x1 - (4/7))", 1,
                    lipschitz="9/8")
    assert str(t.certified).startswith("checked")


def test_planted_violation_is_shrunk_to_its_smallest_instance(monkeypatch, capsys, tmp_path):
    """run_theorem broken on purpose for n >= 5 (the child process inherits the patch)."""
    monkeypatch.setattr(certify.certificate, "run_theorem", lambda tid, p, t=None, lip=None:
                        _fake_certificate("VIOLATED" if int(p["n"]) >= 5 else "HOLDS", p["n"]))
    thm = REG.get("syz-cpwl-one-layer")
    result = fuzz.fuzz_theorem(thm, examples=40, seed=0, budget=60)
    assert result.failed and result.status == "VIOLATED"
    assert result.minimal.params["n"] == "5" and result.minimal.witness == {"x": ["1/5"], "error": "1"}
    path = tmp_path / "fuzz.json"
    code = cli.main(["fuzz", thm.id, "--examples", "40", "--budget", "60", "--json", str(path)])
    assert code == 1 and "1 theorem(s) failed: syz-cpwl-one-layer" in capsys.readouterr().err
    data = json.loads(path.read_text())
    assert data[0]["failed"] and data[0]["minimal"]["params"]["n"] == "5"


def test_crash_is_a_failure_and_timeout_is_not(monkeypatch):
    thm = REG.get("syz-cpwl-one-layer")

    def crash(*a, **k):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(certify.certificate, "run_theorem", crash)
    result = fuzz.fuzz_theorem(thm, examples=2, seed=0, budget=20)
    assert result.failed and result.status == "ERROR" and "planted" in result.minimal.detail

    monkeypatch.setattr(certify.certificate, "run_theorem", lambda *a, **k: time.sleep(30))
    t0 = time.monotonic()
    result = fuzz.fuzz_theorem(thm, examples=2, seed=0, budget=2)
    assert time.monotonic() - t0 < 10
    assert [o.verdict for o in result.outcomes] == ["TIMEOUT"] and not result.failed


def test_erratum_without_witness_is_a_failure(monkeypatch):
    monkeypatch.setattr(certify.certificate, "run_theorem",
                        lambda tid, p, t=None, lip=None: _fake_certificate("HOLDS", p["n"]))
    result = fuzz.fuzz_theorem(REG.get("syz-partial-bitsum-printed"), examples=3, budget=20)
    assert result.failed and result.status == "erratum: NO witness found"


def test_cli_json_and_no_hypothesis_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "fuzz.json"
    assert cli.main(["fuzz", "syz-partial-bitsum-printed", "--examples", "2", "--budget", "30",
                     "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert data[0]["status"].startswith("erratum: witness found")
    assert data[0]["minimal"]["witness"]["x"]
    shown = capsys.readouterr()
    assert "syz-partial-bitsum-printed" in shown.out
    assert "→ erratum: witness found (expected)" in shown.err
    assert not (tmp_path / ".hypothesis").exists()


@pytest.mark.parametrize("argv, message", [
    (["fuzz"], "theorem id or --all"),
    (["fuzz", "syz-cpwl-one-layer", "--all"], "theorem id or --all"),
    (["fuzz", "syz-cpwl-one-layer", "--budget", "0"], "--budget"),
    (["fuzz", "syz-cpwl-one-layer", "--examples", "0"], "--examples"),
    (["fuzz", "no-such-theorem"], "unknown theorem id"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_fuzz_every_theorem_for_a_fixed_budget():
    """No VIOLATED or crash on a theorem correct as printed; every erratum's witness found."""
    results = [fuzz.fuzz_theorem(thm, examples=10, seed=0, budget=20)
               for thm in default_registry().theorems.values()]
    failed = {r.theorem: (r.status, r.minimal.instance() if r.minimal else "") for r in results
              if r.failed}
    assert not failed, failed
