"""End-to-end certification of the intrinsic-parameter theorems and their gadgets."""

import json

import pytest
from flint import arb, fmpq

from certify.analysis.witnesses import falsify
from certify.certificate import run_theorem, write_certificate
from certify.checker import check_certificate
from certify.cli import main
from certify.registry import RegistryError, load

CASES = [
    ("syz-cpwl-one-layer", {"n": "17"}),
    ("syz-bit-extraction", {"J": "20", "seed": "3"}),
    ("syz-mid-gadget", {}),
    ("syz-intrinsic-aux-offtrifling", {"n": "3"}),
    ("syz-intrinsic-lp", {"n": "4", "p": "2"}),
    ("syz-intrinsic-lp", {"n": "2", "d": "2"}),
    ("syz-trifling-mid-repair", {"n": "2"}),
    ("syz-intrinsic-linf", {"n": "3"}),
]


@pytest.mark.parametrize("tid,params", CASES)
def test_theorem_holds(tid, params):
    cert = run_theorem(tid, params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    assert all(c["ok"] for c in cert["architecture"]["claims"])


def test_intrinsic_parameters_are_measured_not_trusted():
    cert = run_theorem("syz-intrinsic-lp", {"n": "3"})
    intrinsic = cert["architecture"]["intrinsic"]
    assert intrinsic["differing"] == 3 + 2 and intrinsic["tags_agree"]
    cert = run_theorem("syz-intrinsic-linf", {"n": "2"})
    assert cert["architecture"]["intrinsic"]["differing"] == 3 * 2 + 2


def test_lp_error_bound_halves_with_n():
    uppers = [arb(run_theorem("syz-intrinsic-lp", {"n": str(n)})["error"]["upper"]) for n in (3, 5)]
    assert uppers[1] < uppers[0] / 3


def test_certificate_round_trip_and_tamper(tmp_path):
    cert = run_theorem("syz-intrinsic-aux-offtrifling", {"n": "2"})
    path = tmp_path / "c.json"
    write_certificate(cert, str(path))
    assert check_certificate(str(path), rebuild=True).ok
    data = json.loads(path.read_text())
    data["error"]["upper"] = "0"
    data["error"]["bound"] = "1/1000"
    path.write_text(json.dumps(data))
    res = check_certificate(str(path))
    assert not res.ok and any("bound" in p for p in res.problems)


def test_falsifier_never_beats_the_certified_upper_bound():
    from certify.certificate import make_target_for
    from certify.registry import default_registry
    from proofs.intrinsic.build import build_linf

    thm = default_registry().get("syz-intrinsic-linf")
    cert = run_theorem(thm.id, {"n": "3"})
    target = make_target_for(thm, {"d": 1, "n": 3}, None)
    net = build_linf({"d": 1, "n": 3}, target)
    _, err = falsify(net, target, 1, budget=200, seed=7)
    p, _, q = cert["error"]["upper"].partition("/")
    # never *shown* above: the falsifier may find the maximum itself (x = 1 here, error 1/3,
    # the upper bound up to 10^-30), where the two balls overlap at 53 bits
    assert not err > arb(fmpq(int(p), int(q or 1)))


@pytest.mark.parametrize("argv,needle", [
    (["run", "syz-intrinsc-lp"], "did you mean"),
    (["run", "syz-intrinsic-lp", "-p", "n=0"], "domain"),
    (["run", "syz-intrinsic-lp", "-p", "d=0"], "domain"),
    (["run", "syz-intrinsic-lp", "-p", "p=1/2"], "domain"),
    (["run", "syz-intrinsic-lp", "-p", "n=2.5"], "integer"),
    (["run", "syz-intrinsic-lp", "-p", "q=2"], "unknown parameter"),
    (["run", "syz-intrinsic-lp", "--target", "x1**("], "does not parse"),
    (["run", "syz-intrinsic-lp", "--target", "x1**2", "--lipschitz", "1/2"], "is wrong"),
    (["run", "syz-intrinsic-lp", "--target", "nosuchtarget"], "unknown"),
    (["run", "syz-intrinsic-aux-offtrifling", "--target", "sine:k=1"], "[0, 1]"),
    (["check", "/nonexistent/cert.json"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_cli_run_writes_a_checkable_certificate(tmp_path, capsys):
    path = tmp_path / "bits.json"
    assert main(["run", "syz-bit-extraction", "-p", "J=6", "--json", str(path)]) == 0
    assert main(["check", str(path)]) == 0
    assert "HOLDS" in capsys.readouterr().out


def test_malformed_registry_fails_loudly(tmp_path):
    (tmp_path / "intrinsic").mkdir()
    bad = tmp_path / "intrinsic" / "claims.toml"
    bad.write_text('[[theorem]]\nid = "x-y"\ntitle = "t"\n')
    with pytest.raises(RegistryError, match="missing field"):
        load(tmp_path)
    bad.write_text(
        '[[theorem]]\nid="a"\ntitle="t"\npaper="p"\ncitation="c"\nversion="v"\nnumber="1"\n'
        'page=1\nkind="lemma"\nconstruction="m:f"\nmethod="cells-lp"\n'
        '[theorem.claim]\nbound="omega(zz)"\n')
    with pytest.raises(RegistryError, match="unknown symbols"):
        load(tmp_path)
    # a method name that no package declares, or one of another paper's package, is refused
    for name in ("exact-finite", "nestnet-lp"):
        bad.write_text(bad.read_text().replace('method="cells-lp"', f'method="{name}"')
                       .replace('method="exact-finite"', f'method="{name}"'))
        with pytest.raises(RegistryError, match=f"method '{name}' unknown"):
            load(tmp_path)


@pytest.mark.parametrize("target", ["sine:k=1", "sqrt", "abs"])
def test_ball_branch_and_bound_certifies_interpolation(target):
    cert = run_theorem("syz-cpwl-interpolation", {"n": "9"}, target)
    assert cert["verdict"] == "HOLDS", cert["reasons"]


def test_three_verdicts_from_rigorous_bounds():
    import sympy

    from certify.method import compare

    assert compare(fmpq(1, 10), fmpq(1, 20), sympy.Rational(1, 8)) == "HOLDS"
    assert compare(fmpq(1, 4), fmpq(1, 5), sympy.Rational(1, 8)) == "VIOLATED"
    assert compare(fmpq(1, 4), fmpq(1, 10), sympy.Rational(1, 8)) == "INCONCLUSIVE"
    assert compare(arb("0.1"), arb(0), sympy.sqrt(2) / 10) == "HOLDS"


def test_a_claim_below_the_achieved_error_is_violated_with_a_witness(monkeypatch):
    from certify.registry import default_registry

    thm = default_registry().get("syz-cpwl-interpolation")
    tight = dict(thm.claim, bound="omega(1/(n - 1))/1000")
    monkeypatch.setattr(type(thm), "claim", property(lambda self: tight if self.id == thm.id
                                                     else self.__dict__["claim"]), raising=False)
    cert = run_theorem("syz-cpwl-interpolation", {"n": "9"})
    assert cert["verdict"] == "VIOLATED"
    assert cert["witnesses"] and cert["witnesses"][0]["x"]


def test_an_instance_outside_the_hypothesis_is_not_a_violation():
    cert = run_theorem("syz-fixed-sigma-1d-half", {"K": "4"})
    assert cert["verdict"] == "INCONCLUSIVE"
    assert any("hypothesis" in r for r in cert["reasons"])
    from certify.analysis.trifling import oscillation_hypothesis
    from constructive.targets import make_target

    assert oscillation_hypothesis(make_target("abs", 1), fmpq(1, 64), fmpq(1, 10))[0] is True
    assert oscillation_hypothesis(make_target("sine:k=1", 1), fmpq(1, 2), fmpq(1, 100))[0] is False
