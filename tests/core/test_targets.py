"""Tests for constructive.targets: enclosures, moduli, user targets, serialisation, errors."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import sympy as sp
from flint import arb, fmpq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constructive.errors import UserError
from constructive.numbers import precision
from constructive.targets import (LIBRARY, Target, arb_to_fmpq_bounds, make_target, sqrt_upper, symbols_for,
                                  user_target)

DIMS = {"peak2d": 2, "wave2d": 2, "dist3d": 3, "ridge3d": 3, "affine": 3, "dist": 2, "abs": 2}
SPECS = [(name, DIMS.get(name, 1)) for name in LIBRARY] + [
    ("sine:k=3", 1), ("affine:c=1,3/5,4/5", 2), ("abs:c=0", 1), ("const:v=-7/3", 2),
]
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

unit = st.builds(lambda n, d: fmpq(min(n, d), d), st.integers(0, 97), st.integers(1, 97))


def _targets() -> list[Target]:
    ts = [make_target(s, d) for s, d in SPECS]
    ts.append(user_target("Piecewise((x1, x1 < 1/2), (1 - x1, True))", 1, lipschitz="1"))
    ts.append(user_target("exp(x1)*cos(3*x2) + abs(x1 - x2)", 2))
    return ts


TARGETS = _targets()


def _box_and_point(dim: int):
    """A box inside the cube and a point inside it, all exact rationals."""
    iv = st.tuples(unit, unit).map(lambda p: (min(p), max(p)))
    return st.tuples(st.lists(iv, min_size=dim, max_size=dim), st.lists(unit, min_size=dim, max_size=dim))


def _inside(box, ts):
    return [a + t * (b - a) for (a, b), t in zip(box, ts)]


# ---------------------------------------------------------------------------------------------
# Exact/ball conversions


def test_arb_to_fmpq_bounds_are_outward() -> None:
    with precision(64):
        x = arb(2).sqrt()
        lo, hi = arb_to_fmpq_bounds(x)
        assert lo * lo <= 2 <= hi * hi and lo < hi
        lo2, hi2 = arb_to_fmpq_bounds(x, bits=10)
        assert lo2 <= lo and hi <= hi2 and lo2.q <= 1024 and hi2.q <= 1024
        assert lo2 * lo2 <= 2 <= hi2 * hi2
        third = arb(1) / 3
        lo, hi = arb_to_fmpq_bounds(third)
        assert lo < fmpq(1, 3) < hi and hi - lo < fmpq(1, 2**60)
        lo, hi = arb_to_fmpq_bounds(-third, bits=8)
        assert lo <= fmpq(-1, 3) <= hi
    with pytest.raises(ValueError):
        arb_to_fmpq_bounds(arb.nan())


@given(st.fractions(min_value=0, max_value=50, max_denominator=10**6))
@FAST
def test_sqrt_upper(s: Fraction) -> None:
    q = fmpq(s.numerator, s.denominator)
    u = sqrt_upper(q)
    assert u >= 0 and u * u >= q
    assert (u - fmpq(1, 2**24)) ** 2 < q or u * u == q
    assert sqrt_upper(fmpq(9, 49)) == fmpq(3, 7)


# ---------------------------------------------------------------------------------------------
# Enclosures


@pytest.mark.parametrize("t", TARGETS, ids=lambda t: t.name)
def test_enclosure_contains_values(t: Target) -> None:
    @given(_box_and_point(t.dim))
    @FAST
    def check(bp) -> None:
        box, ts = bp
        lo, hi = t.enclose(box)
        assert lo <= hi
        p = _inside(box, ts)
        if t.rational_valued:
            assert lo <= t.exact(p) <= hi
        v = t.ball(p)
        vlo, vhi = arb_to_fmpq_bounds(v)
        # the ball contains f(p); [lo, hi] contains f(p): they must meet
        assert vlo <= hi and lo <= vhi
        # and the corners of the box too
        corner = [a for a, _ in box]
        clo, chi = arb_to_fmpq_bounds(t.ball(corner))
        assert clo <= hi and lo <= chi

    check()


@pytest.mark.parametrize("t", TARGETS, ids=lambda t: t.name)
def test_enclosure_shrinks_with_box(t: Target) -> None:
    centre = [fmpq(1, 3) + fmpq(i, 7) for i in range(t.dim)]
    widths = []
    for k in range(0, 24, 3):
        h = fmpq(1, 2 ** (k + 2))
        box = [(max(fmpq(0), c - h), min(fmpq(1), c + h)) for c in centre]
        lo, hi = t.enclose(box)
        widths.append(hi - lo)
        fc = arb_to_fmpq_bounds(t.ball(centre))
        assert lo <= fc[1] and fc[0] <= hi
    # nested boxes: enclosures (essentially) non-increasing, and tiny at the end
    for w0, w1 in zip(widths, widths[1:]):
        assert w1 <= w0 + fmpq(1, 2**100)
    bound = 4 * max(t.lam, fmpq(1)) * (fmpq(1, 2**23) * t.dim) ** 1  # ≥ width of Lipschitz enclosure
    if t.alpha == 1:
        assert widths[-1] <= bound
    else:
        assert widths[-1] <= fmpq(1, 2**9)


def test_enclosure_is_tight_for_rational_targets() -> None:
    t = make_target("peak2d", 2)
    lo, hi = t.enclose([(fmpq(0), fmpq(1, 2)), (fmpq(1, 2), fmpq(1))])
    # exact range on this box is [1/2, 1]
    assert lo <= fmpq(1, 2) and hi >= 1
    assert fmpq(1, 2) - lo < fmpq(1, 2**100) and hi - 1 < fmpq(1, 2**100)
    c = make_target("const:v=2/7", 3)
    assert c.enclose([(fmpq(0), fmpq(1))] * 3) == (fmpq(2, 7), fmpq(2, 7))


def test_sine_enclosure_reaches_extrema() -> None:
    t = make_target("sine", 1)
    lo, hi = t.enclose([(fmpq(0), fmpq(1))])
    with precision(128):
        m = arb_to_fmpq_bounds(1 / (2 * arb.pi()))
    assert lo <= -m[1] and hi >= m[1]  # contains ±1/(2π)
    assert hi - m[0] < fmpq(1, 2**20) and -m[0] - lo < fmpq(1, 2**20)


def test_enclose_rejects_bad_boxes() -> None:
    t = make_target("abs", 1)
    with pytest.raises(UserError):
        t.enclose([(fmpq(-1), fmpq(1))])
    with pytest.raises(UserError):
        t.enclose([(fmpq(1, 2), fmpq(1, 3))])
    with pytest.raises(UserError):
        t.enclose([(fmpq(0), fmpq(1))] * 2)
    with pytest.raises(UserError):
        t.enclose([(0.0, 1.0)])  # floats are not exact rationals


def test_assumed_modulus_is_not_used_by_enclose() -> None:
    x1 = symbols_for(1)[0]
    honest = Target("t", 1, x1, fmpq(1), fmpq(1), "checked: by hand", True)
    liar = Target("t", 1, x1, fmpq(0), fmpq(1), "assumption: declared", True)
    wrong_but_trusted = Target("t", 1, x1, fmpq(0), fmpq(1), "checked: wrong on purpose", True)
    box = [(fmpq(0), fmpq(1))]
    assert honest.enclose(box)[1] >= 1
    assert liar.enclose(box)[1] >= 1  # a wrong assumed λ = 0 does not shrink the enclosure
    # whereas a (wrongly) certified λ = 0 is trusted: proves the modulus part is really used
    assert wrong_but_trusted.enclose(box) [1] < 1


# ---------------------------------------------------------------------------------------------
# Moduli


def _violation(t: Target, x, y) -> bool:
    """True when |f(x) − f(y)| > λ‖x − y‖^α provably (ball arithmetic)."""
    with precision(128):
        diff = (t.ball(x) - t.ball(y)).abs_lower()
        r = sum(((a - b) ** 2 for a, b in zip(x, y)), fmpq(0))
        w = t.omega_ball(arb(r).sqrt())
        return bool(diff > w)


def _steep_pairs(dim: int):
    """Close pairs along a few directions at a few base points (where moduli are tight)."""
    h = fmpq(1, 1000)
    bases = [[fmpq(0)] * dim, [fmpq(1, 2)] * dim, [fmpq(1, 4) + fmpq(i, 9) for i in range(dim)],
             [fmpq(1)] * dim]
    dirs = [[fmpq(1) if i == j else fmpq(0) for i in range(dim)] for j in range(dim)]
    dirs += [[fmpq(1)] * dim, [fmpq((-1) ** i) for i in range(dim)]]
    for b in bases:
        for d in dirs:
            for s in (1, -1):
                y = [v + s * h * e for v, e in zip(b, d)]
                if all(0 <= v <= 1 for v in y):
                    yield b, y


@pytest.mark.parametrize("t", TARGETS, ids=lambda t: t.name)
def test_modulus_not_violated(t: Target) -> None:
    for x, y in _steep_pairs(t.dim):
        assert not _violation(t, x, y), (x, y)

    pt = st.lists(unit, min_size=t.dim, max_size=t.dim)

    @given(pt, pt)
    @FAST
    def check(x, y) -> None:
        assert not _violation(t, x, y)

    check()


@pytest.mark.parametrize("spec,dim", [("sine", 1), ("peak2d", 2), ("ridge3d", 3), ("affine", 2),
                                      ("square", 1), ("abs", 1), ("wave2d", 2)])
def test_modulus_check_would_catch_a_smaller_lambda(spec: str, dim: int) -> None:
    """The violation test above has teeth: 9/10 of the certified λ is caught (λ nearly sharp),
    except wave2d whose λ = 1 is generous: there 3/4 of sup ‖∇f‖ ≈ 0.93 is caught."""
    t = make_target(spec, dim)
    factor = fmpq(9, 10) if spec != "wave2d" else fmpq(3, 4) * fmpq(93, 100)
    smaller = Target(t.name, t.dim, t.expr, t.lam * factor, t.alpha, t.certified, t.rational_valued)
    assert any(_violation(smaller, x, y) for x, y in _steep_pairs(dim))


def test_sqrt_holder_modulus_is_sharp_and_not_violated() -> None:
    t = make_target("sqrt", 1)
    assert not _violation(t, [fmpq(0)], [fmpq(1, 10**6)])
    smaller = Target("s", 1, t.expr, fmpq(99, 100), t.alpha, t.certified, False)
    assert _violation(smaller, [fmpq(0)], [fmpq(1, 10**6)])
    assert t.omega(fmpq(1, 4)) == sp.Rational(1, 2)
    r = sp.Symbol("r", positive=True)
    assert t.omega(r) == sp.sqrt(r) and t.omega("1/9") == sp.Rational(1, 3)


def test_omega() -> None:
    t = make_target("ridge3d", 3)
    assert t.omega(fmpq(2)) == 3
    r = sp.Symbol("r", positive=True)
    assert t.omega(r) == sp.Rational(3, 2) * r
    assert make_target("const", 1).omega(r) == 0
    with precision(64):
        assert make_target("const", 1).omega_ball(arb(5)).is_zero()
        w = make_target("sqrt", 1).omega_ball(arb(0, fmpq(1, 4)))  # ball [−1/4, 1/4]
        assert w.is_finite() and w.contains(arb(fmpq(1, 2))) and w.contains(0)
        assert not w.contains(arb(fmpq(6, 10)))


# ---------------------------------------------------------------------------------------------
# User targets


def test_user_target_correct_constant_is_checked() -> None:
    t = user_target("x1*x2 + sin(x1)/2", 2, lipschitz="2")
    assert t.certified.startswith("checked:") and t.lam == 2
    t = user_target("abs(x1 - 1/3) + max(x1, x2)/2", 2, lipschitz="2")
    assert t.certified.startswith("checked:") and t.rational_valued
    assert t.exact([fmpq(0), fmpq(1)]) == fmpq(1, 3) + fmpq(1, 2)
    t = user_target("x1^(3/2)", 1, lipschitz="8/5")  # sup = 3/2 at x1 = 1
    assert t.certified.startswith("checked:")
    # the exact sup itself cannot be confirmed by ball arithmetic here: honest "assumption"
    t = user_target("x1^(3/2)", 1, lipschitz="3/2", max_boxes=200)
    assert t.certified.startswith("assumption:")
    t = user_target("x1/2 - x2/3", 2, lipschitz="1")
    assert t.certified.startswith("checked:")


def test_user_target_wrong_constant_raises() -> None:
    with pytest.raises(UserError, match="is wrong"):
        user_target("sin(3*x1)", 1, lipschitz="2")
    with pytest.raises(UserError, match="is wrong"):
        user_target("x1^2 + x2^2", 2, lipschitz="5/2")  # sup = 2√2 ≈ 2.83


def test_user_target_computed_constant_is_an_upper_bound() -> None:
    t = user_target("x1*x2", 2)
    assert t.certified.startswith("checked:")
    assert t.lam * t.lam >= 2 and t.lam <= fmpq(3, 2)
    t = user_target("x1^2 + x2^2", 2)
    assert t.lam * t.lam >= 8 and t.lam <= 3
    assert user_target("5/7", 3).lam == 0


def test_user_target_unverifiable_is_assumption() -> None:
    t = user_target("Piecewise((x1, x1 < 1/2), (1 - x1, True))", 1, lipschitz="1")
    assert t.certified.startswith("assumption:")
    t = user_target("sqrt(x1)", 1, holder=("1", "1/2"))
    assert t.certified.startswith("assumption:")
    with pytest.raises(UserError, match="lipschitz"):
        user_target("sqrt(x1)", 1)


def test_user_target_holder_from_gradient() -> None:
    t = user_target("x1/2", 1, holder=("1/2", "1/2"))  # 1/2 · 1^(1/4) ≤ 1/2
    assert t.certified.startswith("checked:") and t.alpha == fmpq(1, 2)
    t = user_target("x1/2 + x2/2", 2, holder=("1/2", "1/2"))  # 0.707 · 2^(1/4) > 1/2
    assert t.certified.startswith("assumption:")
    with pytest.raises(UserError):
        user_target("x1", 1, holder=("1", "3/2"))


@pytest.mark.parametrize("text", ["sin(x1", "x1 +* 2", "x1.real", "__import__('os')", "",
                                  "lambda: 1", "x1 < 1/2", "x1 = 2", "'x1'", "9^9^9^9", "2x1",
                                  "x1[0]", "I*x1", "oo"])
def test_user_target_unparsable(text: str) -> None:
    with pytest.raises(UserError):
        user_target(text, 1, lipschitz="1")


def test_user_target_parse_messages() -> None:
    with pytest.raises(UserError, match="does not parse"):
        user_target("sin(x1", 1)
    with pytest.raises(UserError, match="unknown name 'y'"):
        user_target("y + x1", 1)
    with pytest.raises(UserError, match="x3"):
        user_target("x3", 2)
    with pytest.raises(UserError, match="not real-valued"):
        user_target("log(x1 - 2)", 1, lipschitz="1")
    with pytest.raises(UserError, match="exact rational"):
        user_target("x1", 1, lipschitz="abc")
    with pytest.raises(UserError):
        user_target("x1", 1, lipschitz="1", holder=("1", "1"))


def test_decimals_become_exact_rationals() -> None:
    t = user_target("0.1*x1^2", 1)
    assert t.expr == sp.Rational(1, 10) * symbols_for(1)[0] ** 2
    assert t.exact([fmpq(1)]) == fmpq(1, 10)


# ---------------------------------------------------------------------------------------------
# Exact values and balls


def test_exact_and_ball() -> None:
    a = make_target("affine:c=1/2,1/4,-1/8", 2)
    assert a.exact([fmpq(1), fmpq(1)]) == fmpq(5, 8)
    assert a.exact(["1/2", 0]) == fmpq(5, 8)
    s = make_target("sine", 1)
    with pytest.raises(ValueError):
        s.exact([fmpq(1, 4)])
    with precision(128):
        ref = 1 / (2 * arb.pi())
    b = s.ball([fmpq(1, 4)])
    assert b.overlaps(ref) and b.rad() < arb(fmpq(1, 2**100))
    with pytest.raises(UserError):
        s.ball([0.25])
    with pytest.raises(UserError):
        s.ball([fmpq(1), fmpq(1)])


def test_unsupported_expressions_are_refused() -> None:
    x1 = symbols_for(1)[0]
    with pytest.raises(UserError, match="unsupported"):
        Target("g", 1, sp.gamma(x1 + 1), fmpq(1), fmpq(1), "assumption: -", False)
    with pytest.raises(UserError, match="unsupported"):
        Target("f", 1, sp.Float("0.5") * x1, fmpq(1), fmpq(1), "assumption: -", False)
    with pytest.raises(UserError):
        Target("r", 1, sp.sin(x1), fmpq(1), fmpq(1), "assumption: -", True)  # not rational
    with pytest.raises(UserError):
        Target("a", 1, x1, fmpq(1), fmpq(3, 2), "assumption: -", True)


# ---------------------------------------------------------------------------------------------
# Serialisation and make_target


@pytest.mark.parametrize("t", TARGETS, ids=lambda t: t.name)
def test_round_trip(t: Target) -> None:
    d = json.loads(json.dumps(t.to_dict()))
    u = Target.from_dict(d)
    assert u == t and u.expr == t.expr and u.lam == t.lam and u.alpha == t.alpha
    assert u.to_dict() == t.to_dict()


def test_from_dict_rejects_malformed() -> None:
    d = make_target("abs", 1).to_dict()
    with pytest.raises(UserError):
        Target.from_dict({**d, "expr": "__import__('os').getcwd()"})
    with pytest.raises(UserError):
        Target.from_dict({**d, "lam": "one"})
    with pytest.raises(UserError):
        Target.from_dict({k: v for k, v in d.items() if k != "alpha"})
    with pytest.raises(UserError):
        Target.from_dict({**d, "dim": 0})


def test_make_target_errors() -> None:
    with pytest.raises(UserError, match="known targets: .*affine"):
        make_target("nope", 1)
    with pytest.raises(UserError, match="1-dimensional"):
        make_target("sine", 2)
    with pytest.raises(UserError, match="2-dimensional"):
        make_target("peak2d", 3)
    with pytest.raises(UserError, match="no parameter"):
        make_target("sine:q=2", 1)
    with pytest.raises(UserError, match="k >= 1"):
        make_target("sine:k=0", 1)
    with pytest.raises(UserError, match="coefficients"):
        make_target("affine:c=1,2", 2)
    with pytest.raises(UserError):
        make_target("abs:c=pi", 1)
    with pytest.raises(UserError):
        make_target("abs", 0)
    with pytest.raises(UserError):
        make_target("abs:c=1,c=2", 1)


def test_make_target_params() -> None:
    t = make_target("affine:c=0,3/5,4/5", 2)
    assert t.lam == 1 and t.exact([fmpq(1), fmpq(1)]) == fmpq(7, 5)
    t = make_target("affine:c=1/2;1;1", 2)
    assert t.lam * t.lam >= 2 and t.lam - fmpq(1, 2**24) < fmpq(1415, 1000)
    assert make_target("abs:c=1/5", 3).exact([fmpq(0), fmpq(1), fmpq(1)]) == fmpq(1, 5)
    assert make_target("sine:k=2", 1).expr.has(sp.pi)
    assert make_target("const:v=3", 1).lam == 0


def test_ball_evaluator_on_kinks_and_branches() -> None:
    """Ball evaluation over boxes where sign/Heaviside/Abs/Min/Max/Piecewise switch."""
    x1, x2 = symbols_for(2)
    third = sp.Rational(1, 3)
    box = [(fmpq(0), fmpq(1)), (fmpq(0), fmpq(1))]
    cases = {
        sp.sign(x1 - third): (-1, 1),
        sp.Heaviside(x1 - x2): (0, 1),
        sp.Abs(x1 - third) * sp.sin(x2): (0, None),
        sp.Min(x1, x2) + sp.cos(x1 * 0 + 1) * 0: (0, 1),
        sp.Max(x1 - 1, -x2) + sp.exp(0 * x1): (0, 1),
        sp.Piecewise((sp.sin(x1), x1 < sp.Rational(1, 2)), (x1 + 1, True)): (0, 2),
        (x1 - sp.Rational(1, 2)) ** 2 + sp.sqrt(x2): (0, sp.Rational(5, 4)),
    }
    for expr, (lo_true, hi_true) in cases.items():
        t = Target("k", 2, expr, fmpq(1), fmpq(1), "assumption: test", False)
        lo, hi = t.enclose(box)
        assert lo <= lo_true, expr
        if hi_true is not None:
            assert hi >= hi_true, expr
        # values at exact points lie inside
        for p in ([fmpq(0), fmpq(1)], [fmpq(1, 3), fmpq(1, 3)], [fmpq(1), fmpq(0)],
                  [fmpq(1, 2), fmpq(1, 5)]):
            v = t.ball(p)
            if v.is_finite():
                vlo, vhi = arb_to_fmpq_bounds(v)
                assert lo <= vhi and vlo <= hi, (expr, p)


# ---------------------------------------------------------------------------------------------
# One compiler, three number contexts


def _cross_context_exprs() -> list[sp.Expr]:
    x1, x2 = symbols_for(2)
    h, t = sp.Rational(1, 2), sp.Rational(1, 3)
    return [
        x1 * (1 - x2) + sp.Rational(-7, 5) * x2**3,
        sp.Abs(x1 - t) - sp.Abs(x2 - h) / 3,
        sp.Min(x1, 1 - x2) + sp.Max(x1**2, x2 - t),
        (1 + x1 * x2) ** -2 - x1 / (2 + x2),
        sp.Piecewise((x1**2, sp.And(x1 < h, x2 >= t)), (1 - x2, sp.Or(x1 > x2, sp.Not(x2 <= h))),
                     (x1 - x2, True)),
    ]


@pytest.mark.parametrize("expr", _cross_context_exprs(), ids=str)
def test_one_compiler_agrees_across_contexts(expr: sp.Expr) -> None:
    """The exact value lies in the arb ball at the point and in the interval (and ball) enclosures
    of a box around it; a degenerate box gives the exact value as its interval."""
    from constructive.targets.compile import compile_expr, is_rational_expr
    from constructive.targets.contexts import EXACT, INTERVAL, ArbContext, Flags

    assert is_rational_expr(expr)
    exact = compile_expr(expr, 2, EXACT)
    interval = compile_expr(expr, 2, INTERVAL)
    ball = compile_expr(expr, 2, ArbContext(strict=True, flags=Flags()))

    @given(_box_and_point(2))
    @FAST
    def check(bp) -> None:
        box, ts = bp
        p = _inside(box, ts)
        v = exact(p)
        assert isinstance(v, fmpq)
        assert interval([(c, c) for c in p]) == (v, v)
        lo, hi = interval(box)
        assert lo <= v <= hi
        with precision(96):
            blo, bhi = arb_to_fmpq_bounds(ball([arb(c) for c in p]))
            assert blo <= v <= bhi and blo <= hi and lo <= bhi
            env = [arb((a + b) / 2, (b - a) / 2) for a, b in box]
            elo, ehi = arb_to_fmpq_bounds(ball(env))
            assert elo <= v <= ehi

    check()


def test_contexts_refuse_what_their_number_system_lacks() -> None:
    """The arb context takes every function of the language; the exact ones refuse the
    irrational nodes when compiling, with their own exception."""
    from constructive.targets.compile import compile_expr
    from constructive.targets.contexts import EXACT, INTERVAL, ArbContext, Flags, Unsupported

    x1, x2 = symbols_for(2)
    for expr in (sp.sin(x1), sp.pi * x1, sp.sqrt(x1), x1**x2, sp.Heaviside(x1 - x2)):
        compile_expr(expr, 2, ArbContext(strict=False, flags=Flags()))
        for ctx in (EXACT, INTERVAL):
            with pytest.raises(ValueError, match="not a rational expression"):
                compile_expr(expr, 2, ctx)
    eq = sp.Piecewise((x1, sp.Eq(x1, x2)), (x2, True))
    assert compile_expr(eq, 2, EXACT)([fmpq(1, 3), fmpq(1, 3)]) == fmpq(1, 3)
    with pytest.raises(ValueError, match="not a rational condition"):
        compile_expr(eq, 2, INTERVAL)
    with pytest.raises(Unsupported, match="condition"):
        compile_expr(eq, 2, ArbContext(strict=False, flags=Flags()))
    with pytest.raises(Unsupported, match="floating-point"):
        compile_expr(x1 + sp.Float(0.5), 2, ArbContext(strict=False, flags=Flags()))
    # division by zero: an error in the exact contexts, nan and a flag for balls
    inv = 1 / x1
    with pytest.raises(ValueError, match="division by zero"):
        compile_expr(inv, 2, EXACT)([fmpq(0), fmpq(1)])
    with pytest.raises(ZeroDivisionError):
        compile_expr(inv, 2, INTERVAL)([(fmpq(0), fmpq(1)), (fmpq(0), fmpq(1))])
    flags = Flags()
    assert not compile_expr(inv, 2, ArbContext(strict=False, flags=flags))([arb(0), arb(1)]).is_finite()
    assert flags.outside
