"""The kernel re-derives the target's modulus |f(x) − f(y)| ≤ λ‖x − y‖^α on the cube from the
target's expression (:mod:`certify.kernel.modulus`), and never shows one smaller than the truth."""

from __future__ import annotations

import copy
import random

import pytest
from flint import arb, ctx, fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.certificate import content_hash
from certify.kernel import check_certificate_data, modulus
from certify.kernel.formula import Evaluator, ball
from certify.kernel.grid import TargetExpression
from constructive.targets.library import make_target
from tests.kernel_certs import cert

LIBRARY = [("abs", 1), ("abs", 3), ("affine", 1), ("affine", 3), ("affine:c=0,3/5,4/5", 2),
           ("sine", 1), ("sine:k=3", 1), ("sqrt", 1), ("square", 1), ("peak2d", 2), ("wave2d", 2),
           ("dist", 2), ("dist", 4), ("dist3d", 3), ("ridge3d", 3), ("const", 2)]
# the true Lipschitz constant where the library's λ has slack (wave2d: sup ‖∇f‖ = √(π²/16 + 1/4))
TRUE = {"wave2d": fmpq(93, 100)}


def _shown(expr: str, dim: int, lam, alpha=1) -> bool:
    return modulus.shown(TargetExpression(expr, dim).tree, dim, fmpq(lam), fmpq(alpha))


@pytest.mark.parametrize("spec,dim", LIBRARY)
def test_every_library_target_has_its_modulus_shown(spec, dim):
    t = make_target(spec, dim)
    assert _shown(str(t.expr), dim, t.lam, t.alpha)


@pytest.mark.parametrize("spec,dim", [c for c in LIBRARY if not c[0].startswith("const")])
def test_a_modulus_below_the_truth_is_never_shown(spec, dim):
    t = make_target(spec, dim)
    below = TRUE.get(spec, t.lam) * fmpq(99, 100)
    assert not _shown(str(t.expr), dim, below, t.alpha)


@pytest.mark.parametrize("expr,lam,alpha", [
    ("Max(x1, x2)", 1, 1), ("Min(x1, 1 - x2)", 1, 1), ("sqrt(Abs(x1 - 1/2))", 1, fmpq(1, 2)),
    ("x1*x2", 2, 1), ("exp(x1)", 3, 1), ("x1**3", 3, 1), ("tanh(3*x1)/3 + atan(x2)", fmpq(142, 100), 1),
    ("x1 + sqrt(x1)", 2, fmpq(1, 2))])
def test_rules_for_products_powers_extremes_and_roots(expr, lam, alpha):
    assert _shown(expr, 2 if "x2" in expr else 1, lam, alpha)


@pytest.mark.parametrize("expr", ["floor(x1)", "Piecewise((x1, x1 < 1/2), (1 - x1, True))",
                                  "sqrt(x1 - 1)", "1/x1", "log(x1 + 1)"])
def test_no_rule_shows_nothing(expr):
    assert not _shown(expr, 1, 10**6, 1)


# random expressions: whatever the rules show must hold at random pairs of points
LEAVES = st.sampled_from(["x1", "x2", "1/3", "2", "pi"])


def _expressions():
    return st.recursive(LEAVES, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["Abs", "sin", "cos", "tanh", "atan"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"Max({t[0]}, {t[1]})"),
        inner.map(lambda t: f"sqrt(Abs({t}))"), inner.map(lambda t: f"({t})**2")), max_leaves=6)


def _value(tree, x):
    return ball(Evaluator({"x1": fmpq(x[0]), "x2": fmpq(x[1])}).value(tree))


@settings(max_examples=150, deadline=None)
@given(_expressions(), st.integers(0, 2**16))
def test_a_shown_modulus_holds_at_random_pairs(expr, seed):
    """The largest ratio |f(x) − f(y)| / ‖x − y‖^α seen at random pairs bounds the modulus from
    below: a λ just under it (α = 1 or 1/2) is never shown."""
    with ctx.workprec(256):
        tree = TargetExpression(expr, 2).tree
        rng = random.Random(seed)
        for alpha in (fmpq(1), fmpq(1, 2)):
            worst = arb(0)
            for _ in range(40):
                x = [fmpq(rng.randrange(2**10), 2**10) for _ in range(2)]
                y = [v + fmpq(rng.randrange(-64, 65), 2**16) for v in x]
                y = [min(max(v, fmpq(0)), fmpq(1)) for v in y]
                dist_sq = sum((a - b) ** 2 for a, b in zip(x, y))
                if dist_sq == 0:
                    continue
                ratio = abs(_value(tree, x) - _value(tree, y)) / arb(dist_sq) ** (arb(alpha) / 2)
                worst = worst.max(arb(ratio.lower()))
            if worst > 0:
                assert not modulus.shown(tree, 2, _rational_below(worst), alpha), (expr, alpha, worst)


def _rational_below(x: arb) -> fmpq:
    m, e = arb(x.lower() * (1 - arb(2) ** -20)).mid().man_exp()
    return fmpq(int(m)) * fmpq(2) ** int(e)


@pytest.mark.parametrize("tid", ["syz-rate-linf", "nestnet-holder-rate"])
def test_a_certificate_stated_through_the_modulus_now_trusts_only_the_digest(tid):
    report = check_certificate_data(cert(tid))
    assert report.ok, report.problems
    assert any("modulus" in line for line in report.rederived)
    assert report.trusted == ["the network digest names the builder's network (check --rebuild "
                              "compares them)"]


def test_a_modulus_edited_below_the_truth_is_not_shown():
    """lam halved (the bound and its ratio recomputed to match): the kernel cannot show it and
    lists it as trusted; `certify check` re-derives the record and refuses it."""
    c = copy.deepcopy(cert("syz-rate-linf"))
    c["target"]["lam"] = "1/2"
    c["hash"] = content_hash(c)
    report = check_certificate_data(c)
    assert not any("modulus" in line for line in report.rederived)
    assert any("modulus" in line for line in report.trusted) or not report.ok
